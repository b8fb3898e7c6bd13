"""`codeevo merge`: real safetensors files, a real child process, bounded streaming writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import PROBLEM
from safetensors.torch import load_file, save_file

from codeevo.cli import main
from codeevo.merging.checkpoints import CheckpointError, check_compatible
from codeevo.merging.export import MergeError, merge_checkpoints


def _ckpts(tmp: Path, n: int = 2, dtype: torch.dtype = torch.float32) -> tuple[Path, list[Path]]:
    g = torch.Generator().manual_seed(0)
    base = {"a.weight": torch.randn(4, 3, generator=g).to(dtype),
            "a.bias": torch.randn(4, generator=g).to(dtype),
            "steps": torch.tensor([7], dtype=torch.int64)}
    save_file(base, str(tmp / "base.safetensors"))
    experts = []
    for k in range(n):
        e = {name: (t + (k + 1) * 0.1 if t.is_floating_point() else t) for name, t in base.items()}
        path = tmp / f"e{k}.safetensors"
        save_file(e, str(path))
        experts.append(path)
    return tmp / "base.safetensors", experts


def test_task_arithmetic_export_matches_formula(tmp_path: Path) -> None:
    base, experts = _ckpts(tmp_path)
    out = tmp_path / "merged.safetensors"
    rep = merge_checkpoints(PROBLEM / "baselines" / "task_arithmetic.py", base, experts, out,
                            scale=2.0)
    assert rep.tensors == 3 and rep.api == "tensor"
    merged, b = load_file(str(out)), load_file(str(base))
    # θ0 + 2 · 0.3 · (0.1 + 0.2)
    torch.testing.assert_close(merged["a.weight"], b["a.weight"] + 0.18, atol=1e-5, rtol=0)
    assert torch.equal(merged["steps"], b["steps"])  # non-float tensors copied from base


def test_bf16_dtype_is_kept(tmp_path: Path) -> None:
    base, experts = _ckpts(tmp_path, dtype=torch.bfloat16)
    out = tmp_path / "m.safetensors"
    merge_checkpoints(PROBLEM / "baselines" / "tsv_m.py", base, experts, out)
    assert load_file(str(out))["a.weight"].dtype == torch.bfloat16


def test_shape_mismatch_names_tensor_and_file(tmp_path: Path) -> None:
    base, experts = _ckpts(tmp_path)
    save_file({"a.weight": torch.zeros(4, 4), "a.bias": torch.zeros(4),
               "steps": torch.tensor([7])}, str(experts[1]))
    with pytest.raises(CheckpointError, match=r"e1.safetensors: tensor 'a.weight' has shape"):
        check_compatible(base, experts)


def test_hostile_program_fails_cleanly_outside_cli_process(tmp_path: Path) -> None:
    base, experts = _ckpts(tmp_path)
    prog = tmp_path / "bad.py"
    prog.write_text("import os\nMARK = os.getpid()\n"
                    "def merge_tensor(base, experts, name):\n"
                    "    if name == 'a.bias':\n        return base * float('nan')\n"
                    "    return base\n")
    with pytest.raises(MergeError, match="a.bias"):
        merge_checkpoints(prog, base, experts, tmp_path / "o.safetensors")
    assert not (tmp_path / "o.safetensors").exists()
    assert "candidate" not in __import__("sys").modules


def test_cli_merge_with_param_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, experts = _ckpts(tmp_path)
    out = tmp_path / "m.safetensors"
    code = main(["merge", "--method", str(PROBLEM / "baselines" / "task_arithmetic.py"),
                 "--base", str(base), "--experts", *map(str, experts), "--out", str(out),
                 "--param", "SCALE=1.0", "--scale", "1"])
    assert code == 0, capsys.readouterr()
    torch.testing.assert_close(load_file(str(out))["a.bias"],
                               load_file(str(base))["a.bias"] + 0.3, atol=1e-5, rtol=0)
    code = main(["merge", "--method", str(PROBLEM / "initial.py"), "--base", str(base),
                 "--experts", str(tmp_path / "missing.safetensors"), "--out", str(out)])
    assert code == 2
    assert "missing.safetensors: checkpoint not found" in capsys.readouterr().err
