"""Apply a merge method (an evolved program) to real safetensors checkpoints.

The program is hostile: it never runs in this process. A child ``python -I`` process with
rlimits, a scrubbed environment and a private working folder imports it; the parent streams
tensors to it one at a time over a pipe (float32 bytes) and writes each merged tensor straight
to the output, so memory stays around one tensor times the number of models. A program that
only defines ``merge_model`` receives the whole model (memory is then not bounded).

The merged tensor is ``base + scale * (method(base, experts) - base)``, cast back to the base
checkpoint's dtype.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from codeevo.errors import ConfigError
from codeevo.merging.checkpoints import (
    CheckpointError,
    StreamingWriter,
    TensorInfo,
    check_compatible,
)
from codeevo.merging.program import check_params, requires_calibration

# Runs in the child. fd 1 carries the protocol; the candidate's own prints go to stderr.
CHILD = r"""
import ast, json, os, sys, traceback
proto_out = os.fdopen(os.dup(1), "wb"); os.dup2(2, 1)
proto_in = sys.stdin.buffer
import importlib.util, torch
torch.set_num_threads(int(os.environ.get("CODEEVO_THREADS", "1")))
def send(obj, data=b""):
    proto_out.write(json.dumps(obj).encode() + b"\n"); proto_out.write(data); proto_out.flush()
def recv():
    head = json.loads(proto_in.readline())
    n = head.get("nbytes", 0)
    blobs = [proto_in.read(n) for _ in range(head.get("count", 0))]
    return head, blobs
try:
    spec = importlib.util.spec_from_file_location("candidate", sys.argv[1])
    mod = importlib.util.module_from_spec(spec); sys.modules["candidate"] = mod
    spec.loader.exec_module(mod)
    for k, v in json.loads(sys.argv[2]).items():
        setattr(mod, k, ast.literal_eval(v))
    api = "tensor" if callable(getattr(mod, "merge_tensor", None)) else (
        "model" if callable(getattr(mod, "merge_model", None)) else None)
    if api is None:
        raise TypeError("the program defines neither merge_tensor nor merge_model")
    send({"ok": True, "api": api})
except BaseException as exc:
    send({"ok": False, "error": "%s: %s" % (type(exc).__name__, exc),
          "traceback": traceback.format_exc()})
    sys.exit(1)
def tensor(blob, shape):
    return torch.frombuffer(bytearray(blob), dtype=torch.float32).reshape(shape)
def reply(name, out, shape):
    if not isinstance(out, torch.Tensor):
        raise TypeError("merged %r is %s, not a tensor" % (name, type(out).__name__))
    if tuple(out.shape) != tuple(shape):
        raise ValueError("merged %r has shape %s, expected %s"
                         % (name, list(out.shape), list(shape)))
    data = out.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    send({"ok": True, "name": name, "nbytes": len(data)}, data)
try:
    with torch.no_grad():
        if api == "tensor":
            while True:
                head, blobs = recv()
                if head.get("done"):
                    break
                shape = head["shape"]
                ts = [tensor(b, shape) for b in blobs]
                reply(head["name"], mod.merge_tensor(ts[0], ts[1:], head["name"]), shape)
        else:
            base, experts, shapes = {}, None, {}
            while True:
                head, blobs = recv()
                if head.get("done"):
                    break
                shapes[head["name"]] = head["shape"]
                ts = [tensor(b, head["shape"]) for b in blobs]
                base[head["name"]] = ts[0]
                experts = experts or [{} for _ in ts[1:]]
                for e, t in zip(experts, ts[1:]):
                    e[head["name"]] = t
            merged = mod.merge_model(base, experts)
            for name in base:
                reply(name, merged.get(name) if isinstance(merged, dict) else None, shapes[name])
except BaseException as exc:
    send({"ok": False, "error": "%s: %s" % (type(exc).__name__, exc),
          "traceback": traceback.format_exc()})
    sys.exit(1)
"""


class MergeError(CheckpointError):
    """The merge program failed on a tensor (the message names it)."""


@dataclass
class ExportReport:
    out: Path
    tensors: int
    scale: float
    api: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _limits(memory_mb: int, cpu_s: int) -> Any:
    def apply() -> None:
        mem = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _read_reply(out: IO[bytes], stderr_path: Path) -> tuple[dict[str, Any], bytes]:
    line = out.readline()
    if not line:
        tail = stderr_path.read_text(errors="replace")[-1500:]
        raise MergeError(f"merge process died without answering; its stderr ends:\n{tail}")
    head = json.loads(line)
    data = out.read(int(head.get("nbytes", 0))) if head.get("ok") else b""
    return head, data


def check_output(out: Path, inputs: list[Path]) -> None:
    """CheckpointError unless `out` can be written without touching an input checkpoint."""
    if out.is_dir():
        raise CheckpointError(f"--out {out}: is a folder; give the merged file's name")
    folder = out.parent
    if not folder.is_dir():
        raise CheckpointError(f"--out {out}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CheckpointError(f"--out {out}: folder {folder} is not writable")
    target = out.resolve()
    for p in inputs:
        if p.exists() and p.resolve() == target:
            raise CheckpointError(f"--out {out}: is one of the input checkpoints")


def _open_all(paths: list[Path]) -> list[Any]:
    from safetensors import safe_open

    handles = []
    for p in paths:
        try:
            handles.append(safe_open(str(p), framework="pt"))
        # safetensors raises its own (Rust) error type, which differs between versions.
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"{p}: not a readable safetensors file ({exc})") from exc
    return handles


def merge_checkpoints(
    program: Path,
    base: Path,
    experts: list[Path],
    out: Path,
    *,
    scale: float = 1.0,
    params: dict[str, str] | None = None,
    method: str | None = None,
    memory_mb: int = 16384,
    cpu_s: int = 3600,
) -> ExportReport:
    """Merge `experts` onto `base` with `program` into `out` (a safetensors file).

    `method` names the program in errors and in the output's metadata (default: its path).
    Bad input (a checkpoint, `out`, a param) raises before any output exists; a failure later
    removes the partial file, so `out` is either complete or untouched.
    """
    import torch

    label = method or str(program)
    try:
        source = program.read_text()
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read the program: {exc.strerror or exc}") from exc
    check_params(source, params or {}, label)
    if requires_calibration(source):
        raise ConfigError(
            f"{label}: merge_model(base, experts, calib) is a data-assisted method; codeevo "
            "merge applies data-free methods only (it has no calibration inputs or forward "
            "pass for arbitrary checkpoints)")
    if not experts:
        raise CheckpointError("no expert checkpoints given (--experts)")
    check_output(out, [base, *experts])
    infos = check_compatible(base, experts)
    handles = _open_all([base, *experts])
    from codeevo.merging.layers import layer_warnings

    warnings = layer_warnings(program, [i.name for i in infos.values()], params)
    float_dtypes = {"F64", "F32", "F16", "BF16"}
    order: list[TensorInfo] = list(infos.values())
    with tempfile.TemporaryDirectory(prefix="codeevo-merge-") as tmp:
        work = Path(tmp)
        stderr_path = work / "stderr.txt"
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        with stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", CHILD, str(program.resolve()),
                 json.dumps(params or {})],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, cwd=tmp, env=env,
                preexec_fn=_limits(memory_mb, cpu_s), start_new_session=True,
            )
            assert proc.stdin is not None and proc.stdout is not None
            writer: StreamingWriter | None = None
            try:
                head, _ = _read_reply(proc.stdout, stderr_path)
                if not head.get("ok"):
                    raise MergeError(_named(f"{label}: {head.get('error')}\n"
                                            f"{head.get('traceback', '')}", program, label))
                api = str(head["api"])
                notes = [] if api == "tensor" else [
                    "program defines only merge_model: the whole model was held in memory"]
                meta = {"merged_by": "codeevo", "method": label, "scale": repr(scale)}
                if params:
                    meta["params"] = json.dumps(params, sort_keys=True)
                try:
                    writer = StreamingWriter(out, order, meta)
                except OSError as exc:
                    raise CheckpointError(f"--out {out}: cannot write: "
                                          f"{exc.strerror or exc}") from exc
                out_writer, replies = writer, proc.stdout

                def finish(info: TensorInfo, base_t: Any) -> None:
                    _finish(out_writer, info, base_t, replies, stderr_path, scale, program, label)

                pending: list[TensorInfo] = []
                for info in order:
                    if info.dtype not in float_dtypes:
                        if api == "tensor":
                            writer.write(info.name, _raw(_get(handles[0], info.name)))
                        else:
                            pending.append(info)
                        continue
                    ts = [_get(h, info.name).to(torch.float32).contiguous() for h in handles]
                    blobs = b"".join(t.numpy().tobytes() for t in ts)
                    proc.stdin.write(json.dumps({"name": info.name, "shape": list(info.shape),
                                                 "nbytes": ts[0].numel() * 4,
                                                 "count": len(ts)}).encode() + b"\n" + blobs)
                    proc.stdin.flush()
                    if api == "tensor":
                        finish(info, ts[0])
                    else:
                        pending.append(info)
                proc.stdin.write(b'{"done": true}\n')
                proc.stdin.flush()
                for info in pending:
                    if info.dtype not in float_dtypes:
                        writer.write(info.name, _raw(_get(handles[0], info.name)))
                    else:
                        b0 = _get(handles[0], info.name).to(torch.float32)
                        finish(info, b0)
                writer.close()
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            finally:
                proc.kill()
                proc.wait()
    return ExportReport(out, len(order), scale, api, notes, warnings)


def _raw(t: Any) -> bytes:
    import torch

    return bytes(t.contiguous().view(torch.uint8).numpy().tobytes())


def _named(text: str, program: Path, label: str) -> str:
    """`text` with the program's file path (a temporary copy, maybe) shown as `label`."""
    return text.replace(str(program.resolve()), label)


def _finish(writer: StreamingWriter, info: TensorInfo, base: Any, stdout: IO[bytes],
            stderr_path: Path, scale: float, program: Path, label: str) -> None:
    import torch

    head, data = _read_reply(stdout, stderr_path)
    if not head.get("ok"):
        raise MergeError(_named(f"{label}: failed on tensor {info.name!r}: {head.get('error')}\n"
                                f"{head.get('traceback', '')}", program, label))
    merged = torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(info.shape)
    if not bool(torch.isfinite(merged).all()):
        raise MergeError(f"{label}: merged tensor {info.name!r} holds NaN or infinite values")
    result = base + scale * (merged - base)
    dtype = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
             "BF16": torch.bfloat16}[info.dtype]
    writer.write(info.name, _raw(result.to(dtype)))



def _get(handle: Any, name: str) -> Any:
    """One tensor from a ``safe_open`` handle (safetensors ships no type hints)."""
    return handle.get_tensor(name)
