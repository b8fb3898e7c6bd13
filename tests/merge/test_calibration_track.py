"""The data-assisted track: config checks, where calibration inputs come from, what a candidate
receives, and its API end to end through the real LocalSandbox (small zoos keep it quick)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import PROBLEM, ROOT

from codeevo.candidate import EvalResult
from codeevo.config import RunConfig, deep_merge
from codeevo.problem import load_problem

CALIB_PROBLEM = ROOT / "problems" / "merge_calib"
# A small digits zoo (2 tasks, narrow, short recipes) and a small transformer zoo.
SMALL_DIGITS = {"zoo": {"width": 32, "pretrain": {"steps": 150}, "finetune": {"steps": 60}},
                "search": {"seeds": [7], "k": 2}, "heldout": {"seeds": [8], "k": 2}}
SMALL_BERT = {"preset": "transformer",
              "zoo": {"hidden": 16, "heads": 2, "intermediate": 32,
                      "pretrain": {"steps": 40}, "finetune": {"steps": 20}},
              "search": {"seeds": [7], "k": 2}}


@pytest.mark.parametrize("bad,words", [
    ({"per_task": 0}, "calibration.per_task: an integer from 1 to 64"),
    ({"per_task": 65}, "calibration.per_task: an integer from 1 to 64"),
    ({"per_task": "8"}, "calibration.per_task"),
    ({"per_task": True}, "calibration.per_task"),
    ({"per_task": 8, "split": "val"}, "calibration: unknown keys ['split']"),
    ([8], "calibration: expected a mapping"),
])
def test_calibration_config_is_checked(bad: Any, words: str) -> None:
    from presets import check_config  # type: ignore[import-not-found]

    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        check_config({"calibration": bad})
    check_config({"calibration": {"per_task": 64}})


def _assets(cache_dir: Path, config: dict[str, Any]) -> Path:
    import prepare  # type: ignore[import-not-found]

    return Path(prepare.prepare(config, cache_dir))


@pytest.mark.parametrize("family", ["mlp", "bert"])
def test_calibration_inputs_come_only_from_the_training_split(
    cache_dir: Path, family: str
) -> None:
    from presets import zoo_specs  # type: ignore[import-not-found]

    config = {**(SMALL_DIGITS if family == "mlp" else SMALL_BERT),
              "calibration": {"per_task": 12}}
    assets = _assets(cache_dir, config)
    manifest = json.loads((assets / "manifest.json").read_text())
    assert manifest["calibration"] == 12
    spec = zoo_specs(config)[0]
    if family == "mlp":
        from zoo import load_digits_split  # type: ignore[import-not-found]

        split = load_digits_split(spec.seed)
        ids = {s: set(split[s][2].tolist()) for s in ("train", "val", "test")}
    else:
        from seq_tasks import split_data  # type: ignore[import-not-found]
        from transformer_zoo import SIZES  # type: ignore[import-not-found]

        split = split_data(spec.seed, SIZES)
        ids = {s: set(split[s][2].tolist()) for s in ("train", "val", "test")}
    with np.load(assets / "calib_0.npz") as c, np.load(assets / "eval_0.npz") as e:
        calib = {k: c[k] for k in c.files}
        private = {k: e[k] for k in e.files}
    k_tasks = len(manifest["zoos"][0]["tasks"])
    # Only unlabeled inputs and the frozen heads: no labels, no val/test arrays.
    assert sorted(calib) == sorted([f"x{k}" for k in range(k_tasks)]
                                   + [f"head{k}/{p}" for k in range(k_tasks) for p in "Wb"])
    for k in range(k_tasks):
        picked = manifest["zoos"][0]["calibration_ids"][k]
        assert len(picked) == len(set(picked)) == 12
        assert set(picked) <= ids["train"]
        assert not set(picked) & (ids["val"] | ids["test"])
        # Each input is exactly the training input of its id (as the expert was trained on).
        x_train, id_train = spec.train_inputs(k)
        row = {int(i): j for j, i in enumerate(id_train)}
        np.testing.assert_array_equal(calib[f"x{k}"], x_train[[row[i] for i in picked]])
        # And no calibration input equals any validation or test input of that task.
        held = np.concatenate([private[f"val{k}/x"], private[f"test{k}/x"]])
        flat = held.reshape(len(held), -1)
        for x in calib[f"x{k}"].reshape(12, -1):
            assert not (flat == x).all(1).any()
        np.testing.assert_array_equal(calib[f"head{k}/W"], private[f"head{k}/W"])


def evaluate(program: str, config: dict[str, Any], problem_dir: Path = CALIB_PROBLEM) -> EvalResult:
    from codeevo.evaluate import evaluate_program

    problem = load_problem(problem_dir)
    cfg = RunConfig.model_validate({"sandbox": {"kind": "local"}})
    ev = deep_merge(problem.config.evaluator.config, config)
    return asyncio.run(evaluate_program(problem, program, cfg, evaluator_config=ev))


# A candidate that reports what it received: the calib object's inputs, and every file it can
# see in its own folder.
PROBE = '''
import hashlib, json, os
import torch
# EVOLVE-BLOCK-START
def merge_model(base, experts, calib):
    rows = [[hashlib.sha1(r.numpy().tobytes()).hexdigest() for r in x] for x in calib.inputs]
    params = {n: t.clone().requires_grad_(True) for n, t in experts[0].items()}
    logits = calib.logits(params, 0)
    grads = torch.autograd.grad(logits.sum(), [params[list(base)[-1]]])
    layers = calib.layer_inputs(base, calib.inputs[1])
    print("PROBE " + json.dumps({"rows": rows, "files": sorted(os.listdir(".")),
                                 "per_task": calib.per_task, "logits": list(logits.shape),
                                 "grad": float(grads[0].abs().sum()),
                                 "layers": {n: list(x.shape) for n, x in layers.items()}}))
    return {n: sum(e[n] for e in experts) / len(experts) for n in base}
# EVOLVE-BLOCK-END
'''


@pytest.mark.parametrize("family", ["mlp", "bert"])
def test_candidate_receives_training_inputs_heads_and_forward_passes(
    cache_dir: Path, family: str
) -> None:
    config = {**(SMALL_DIGITS if family == "mlp" else SMALL_BERT),
              "calibration": {"per_task": 12}}
    r = evaluate(PROBE, config)
    assert r.status.value == "ok", (r.reason, r.artifacts)
    assert r.metrics["data_assisted"] == 1.0
    line = next(x for x in r.artifacts["stdout"].splitlines() if x.startswith("PROBE "))
    seen = json.loads(line[6:])
    # Its folder holds the weights, the calibration set and the forward-pass module, no more.
    visible = [f for f in seen["files"] if not f.startswith(".")]
    assert visible == ["calib_0.npz", "calib_model.py", "initial.py", "zoo0.npz"], visible
    assert seen["per_task"] == 12 and seen["grad"] > 0
    # The rows it saw are exactly the training inputs picked for it.
    assets = _assets(cache_dir, config)
    with np.load(assets / "calib_0.npz") as c:
        import hashlib

        want = [[hashlib.sha1(r.tobytes()).hexdigest() for r in c[f"x{k}"]] for k in range(2)]
    assert seen["rows"] == want
    if family == "bert":
        assert seen["layers"]["encoder.layer.0.attention.self.query.weight"] == [12 * 17, 16]
        assert seen["layers"]["pooler.dense.weight"] == [12, 16]
    else:
        assert seen["layers"]["layers.0.weight"] == [12, 64]


def test_data_free_program_on_the_calibration_track_is_ranked_data_free(cache_dir: Path) -> None:
    ta = (PROBLEM / "baselines" / "task_arithmetic.py").read_text()
    r = evaluate(ta, {**SMALL_DIGITS, "calibration": {"per_task": 4}})
    assert r.status.value == "ok", r.reason
    assert r.metrics["data_assisted"] == 0.0


def test_data_assisted_program_without_calibration_fails_with_the_reason(
    cache_dir: Path,
) -> None:
    regmean = (PROBLEM / "baselines" / "regmean.py").read_text()
    r = evaluate(regmean, SMALL_DIGITS, problem_dir=PROBLEM)
    assert r.score == 0.0
    assert "needs calibration data" in (r.reason or "")
    assert "evaluator.config.calibration" in (r.reason or "")
