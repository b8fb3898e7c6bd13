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


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "merged" in p.name or p.suffix == ".partial")


def _cli(capsys: pytest.CaptureFixture[str], method: Path, base: Path, experts: list[Path],
         out: Path, *extra: str) -> tuple[int, str]:
    code = main(["merge", "--method", str(method), "--base", str(base),
                 "--experts", *map(str, experts), "--out", str(out), *extra])
    return code, capsys.readouterr().err


def test_truncated_checkpoint_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, experts = _ckpts(tmp_path)
    raw = experts[1].read_bytes()
    experts[1].write_bytes(raw[:-10])
    code, err = _cli(capsys, PROBLEM / "baselines" / "ties.py", base, experts,
                     tmp_path / "merged.safetensors")
    assert code == 2
    assert f"{experts[1]}: truncated" in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("header", [b"[1, 2, 3]", b'"text"', b"7"])
def test_header_json_but_not_object_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: bytes
) -> None:
    import struct

    base, experts = _ckpts(tmp_path)
    experts[0].write_bytes(struct.pack("<Q", len(header)) + header)
    code, err = _cli(capsys, PROBLEM / "baselines" / "ties.py", base, experts,
                     tmp_path / "merged.safetensors")
    assert code == 2
    assert f"{experts[0]}: safetensors header is JSON but not an object" in err
    assert "Traceback" not in err and _leftovers(tmp_path) == []


def test_header_offsets_must_match_shapes_and_cover_the_data(tmp_path: Path) -> None:
    import json
    import struct

    from codeevo.merging.checkpoints import read_header

    def write(name: str, header: dict[str, object], data: bytes) -> Path:
        raw = json.dumps(header).encode()
        path = tmp_path / name
        path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
        return path

    ok = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    assert read_header(write("ok.safetensors", ok, b"\0" * 8))["w"].shape == (2,)
    bad_span = {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}
    with pytest.raises(CheckpointError, match=r"span 8 bytes, but F32 \[3\] needs 12"):
        read_header(write("span.safetensors", bad_span, b"\0" * 8))
    with pytest.raises(CheckpointError, match="4 bytes after the last tensor"):
        read_header(write("extra.safetensors", ok, b"\0" * 12))
    with pytest.raises(CheckpointError, match="header entry is not an object"):
        read_header(write("entry.safetensors", {"w": [1]}, b""))
    with pytest.raises(CheckpointError, match="shorter than the 8-byte header length"):
        (tmp_path / "tiny.safetensors").write_bytes(b"\1\2")
        read_header(tmp_path / "tiny.safetensors")


def test_out_in_missing_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, experts = _ckpts(tmp_path)
    out = tmp_path / "no" / "such" / "merged.safetensors"
    code, err = _cli(capsys, PROBLEM / "baselines" / "ties.py", base, experts, out)
    assert code == 2
    assert f"--out {out}: folder {out.parent} does not exist" in err
    assert not (tmp_path / "no").exists()
    code, err = _cli(capsys, PROBLEM / "baselines" / "ties.py", base, experts, base)
    assert code == 2 and "is one of the input checkpoints" in err


def test_errors_and_metadata_name_the_method_the_user_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import struct

    base, experts = _ckpts(tmp_path)
    mine = tmp_path / "my_method.py"
    mine.write_text("K = 2\ndef merge_tensor(base, experts, name):\n"
                    "    if name == 'a.bias':\n        raise ValueError('boom')\n"
                    "    return base\n")
    code, err = _cli(capsys, mine, base, experts, tmp_path / "merged.safetensors")
    assert code == 2
    assert err.startswith(f"codeevo: error: {mine}: failed on tensor 'a.bias'"), err
    assert "program.py" not in err and f'File "{mine}"' in err
    assert _leftovers(tmp_path) == []
    ta = PROBLEM / "baselines" / "task_arithmetic.py"
    out = tmp_path / "merged.safetensors"
    code, err = _cli(capsys, ta, base, experts, out, "--param", "SCALE=0.5")
    assert code == 0, err
    raw = out.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(raw[8 : 8 + size])["__metadata__"]
    assert meta["method"] == str(ta) and json.loads(meta["params"]) == {"SCALE": "0.5"}


def test_unknown_param_lists_the_programs_knobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, experts = _ckpts(tmp_path)
    ties = PROBLEM / "baselines" / "ties.py"
    code, err = _cli(capsys, ties, base, experts, tmp_path / "merged.safetensors",
                     "--param", "DENSTY=0.5")
    assert code == 2
    assert "--param DENSTY" in err and "its knobs: DENSITY=0.2, SCALE=1.0" in err
    code, err = _cli(capsys, ties, base, experts, tmp_path / "merged.safetensors",
                     "--param", "DENSITY='dense'")
    assert code == 2 and "DENSITY is a number" in err
    assert _leftovers(tmp_path) == []


def test_data_assisted_programs_are_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, experts = _ckpts(tmp_path)
    code, err = _cli(capsys, PROBLEM / "baselines" / "regmean.py", base, experts,
                     tmp_path / "merged.safetensors")
    assert code == 2 and "data-assisted method" in err
