from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from codeevo.cli.options import add_run_options, build_config
from codeevo.config import RunConfig, load_config_file, load_run_config
from codeevo.errors import ConfigError


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_run_options(p)
    return p.parse_args(list(argv))


def test_defaults_are_valid() -> None:
    cfg = RunConfig()
    assert cfg.population.num_islands >= 1
    assert cfg.llm.models == []


def test_unknown_key_names_file_line_and_path(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("seed: 3\npopulation:\n  num_islands: 2\n  num_ilsands: 4\n")
    data, lines = load_config_file(f)
    with pytest.raises(ConfigError) as exc:
        load_run_config([(str(f), data, lines)])
    msg = str(exc.value)
    assert f"{f}:4" in msg and "population.num_ilsands" in msg and "unknown key" in msg


def test_bad_type_names_field(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("budget:\n  max_evaluations: lots\n")
    with pytest.raises(ConfigError, match=r"c.yaml:2: budget.max_evaluations"):
        build_config(None, _args("--config", str(f)))


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("seed: 1\npopulation: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config_file(f)


def test_flags_override_files(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("seed: 3\nbudget: {max_evaluations: 10}\npopulation: {num_islands: 2}\n")
    cfg = build_config(None, _args("--config", str(f), "--evals", "20",
                                   "--set", "population.migration_interval=7"))
    assert cfg.seed == 3
    assert cfg.budget.max_evaluations == 20
    assert cfg.population.num_islands == 2
    assert cfg.population.migration_interval == 7


def test_flag_errors_name_command_line() -> None:
    with pytest.raises(ConfigError, match="command line: population.num_islands"):
        build_config(None, _args("--islands", "0"))


def test_model_flag_builds_ensemble_and_rejects_keys(tmp_path: Path) -> None:
    cfg = build_config(None, _args("--model", "openai/a", "--model", "openai/b",
                                   "--api-base", "http://127.0.0.1:9/v1"))
    assert [m.name for m in cfg.llm.models] == ["openai/a", "openai/b"]
    assert cfg.llm.models[0].api_base == "http://127.0.0.1:9/v1"
    f = tmp_path / "k.yaml"
    f.write_text("llm:\n  models:\n    - name: openai/x\n      api_key: sk-123\n")
    with pytest.raises(ConfigError, match="API keys are not accepted"):
        build_config(None, _args("--config", str(f)))


def test_operator_mix_validation() -> None:
    with pytest.raises(ConfigError, match="unknown operator"):
        build_config(None, _args("--set", "operators.mix={bogus: 1}"))
