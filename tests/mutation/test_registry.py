"""Which operators a run gets: the offline mix (AST edits + the tuner) unless the config says
otherwise."""

from __future__ import annotations

import pytest

from codeevo.config import RunConfig
from codeevo.errors import ConfigError
from codeevo.mutation.registry import OFFLINE_MIX, make_operators
from codeevo.mutation.tune import TuneOperator


def test_offline_runs_mix_ast_and_tune_by_default() -> None:
    ops, mix, notice = make_operators(RunConfig(), None)
    assert mix == OFFLINE_MIX and set(mix) == {"ast", "tune"}
    assert isinstance(ops["tune"], TuneOperator)
    assert notice is not None and "tuner" in notice


def test_an_offline_mix_in_the_config_wins() -> None:
    cfg = RunConfig.model_validate({"operators": {"mix": {"ast": 1.0}}})
    assert make_operators(cfg, None)[1] == {"ast": 1.0}
    cfg = RunConfig.model_validate({"operators": {"mix": {"ast": 0.2, "tune": 0.8}}})
    assert make_operators(cfg, None)[1] == {"ast": 0.2, "tune": 0.8}


def test_tune_settings_are_validated() -> None:
    from codeevo.config import load_run_config

    with pytest.raises(ConfigError, match="tune_sigma"):
        load_run_config([("test", {"operators": {"tune_sigma": 0}}, None)])
    with pytest.raises(ConfigError, match="unknown operator"):
        load_run_config([("test", {"operators": {"mix": {"tuner": 1.0}}}, None)])
