"""Read safetensors checkpoints tensor by tensor and write one with bounded memory.

The writer streams: the header (names, dtypes, shapes, offsets) is known up front from the
base checkpoint, so each merged tensor is written as soon as it is computed.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from codeevo.errors import CodeevoError

# safetensors dtype names -> bytes per element
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}


class CheckpointError(CodeevoError):
    """Checkpoints that cannot be merged (missing tensors, shape/dtype mismatch, bad file)."""

    exit_code = 2


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        n = DTYPE_SIZES[self.dtype]
        for d in self.shape:
            n *= d
        return n


def read_header(path: Path) -> dict[str, TensorInfo]:
    """The tensors of a safetensors file (name -> dtype, shape), without reading the data.

    Everything the format promises is checked against the file itself (an object header, each
    tensor's offsets matching its dtype and shape, the data covering exactly what the header
    lists), so a truncated or malformed file is a CheckpointError naming it, never a traceback
    from deep inside a reader.
    """
    try:
        total = path.stat().st_size
        with path.open("rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise CheckpointError(f"{path}: not a safetensors file ({total} bytes, shorter "
                                      "than the 8-byte header length)")
            (size,) = struct.unpack("<Q", raw)
            if size > 100 * 2**20:
                raise CheckpointError(f"{path}: safetensors header of {size} bytes is implausible")
            if 8 + size > total:
                raise CheckpointError(f"{path}: truncated: its header claims {size} bytes but the "
                                      f"file holds {total} bytes in all")
            header = json.loads(f.read(size))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: checkpoint not found") from exc
    except IsADirectoryError as exc:
        raise CheckpointError(f"{path}: is a folder, not a safetensors file") from exc
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: safetensors header is JSON but not an object "
                              f"(a {type(header).__name__})")
    out = {}
    data_bytes, end_max = total - 8 - size, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        t, (start, end) = _tensor_entry(path, name, info)
        if end > data_bytes:
            raise CheckpointError(f"{path}: truncated: tensor {name!r} ends at data byte {end}, "
                                  f"but the file holds {data_bytes} data bytes")
        out[name], end_max = t, max(end_max, end)
    if end_max != data_bytes:
        raise CheckpointError(f"{path}: {data_bytes - end_max} bytes after the last tensor that "
                              "the header does not describe (corrupt or not safetensors)")
    return out


def _tensor_entry(path: Path, name: str, info: Any) -> tuple[TensorInfo, tuple[int, int]]:
    """One header entry, checked: dtype known, shape and offsets well-formed and consistent."""
    where = f"{path}: tensor {name!r}"
    if not isinstance(info, dict):
        raise CheckpointError(f"{where}: header entry is not an object")
    if info.get("dtype") not in DTYPE_SIZES:
        raise CheckpointError(f"{where} has unsupported dtype {info.get('dtype')}")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or not all(_count(d) for d in shape):
        raise CheckpointError(f"{where}: shape {shape!r} is not a list of sizes")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_count, offsets))
            or offsets[0] > offsets[1]):
        raise CheckpointError(f"{where}: data_offsets {offsets!r} is not [start, end]")
    t = TensorInfo(name, info["dtype"], tuple(shape))
    if offsets[1] - offsets[0] != t.nbytes:
        raise CheckpointError(f"{where}: data_offsets span {offsets[1] - offsets[0]} bytes, but "
                              f"{t.dtype} {list(t.shape)} needs {t.nbytes}")
    return t, (offsets[0], offsets[1])


def _count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def check_compatible(base: Path, experts: list[Path]) -> dict[str, TensorInfo]:
    """Base's tensors, after checking every expert has the same names, shapes and dtypes."""
    ref = read_header(base)
    for path in experts:
        other = read_header(path)
        missing = sorted(set(ref) - set(other))
        extra = sorted(set(other) - set(ref))
        if missing:
            raise CheckpointError(f"{path}: lacks tensor {missing[0]!r} present in {base}"
                                  + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        if extra:
            raise CheckpointError(f"{path}: has tensor {extra[0]!r} absent from {base}")
        for name, info in ref.items():
            o = other[name]
            if o.shape != info.shape:
                raise CheckpointError(f"{path}: tensor {name!r} has shape {list(o.shape)}, "
                                      f"but {base} has {list(info.shape)}")
            if o.dtype != info.dtype:
                raise CheckpointError(f"{path}: tensor {name!r} has dtype {o.dtype}, "
                                      f"but {base} has {info.dtype}")
    return ref


class StreamingWriter:
    """Writes a safetensors file tensor by tensor, in the order of `tensors`."""

    def __init__(self, path: Path, tensors: list[TensorInfo], metadata: dict[str, str]) -> None:
        header: dict[str, Any] = {"__metadata__": metadata}
        offset = 0
        for t in tensors:
            header[t.name] = {"dtype": t.dtype, "shape": list(t.shape),
                              "data_offsets": [offset, offset + t.nbytes]}
            offset += t.nbytes
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned
        self._order = [t.name for t in tensors]
        self._sizes = {t.name: t.nbytes for t in tensors}
        self._next = 0
        self.path = path
        self._tmp = path.with_name(path.name + ".partial")
        self._f: BinaryIO = self._tmp.open("wb")
        self._f.write(struct.pack("<Q", len(raw)) + raw)

    def write(self, name: str, data: bytes) -> None:
        expected = self._order[self._next]
        if name != expected or len(data) != self._sizes[name]:
            raise CheckpointError(f"internal: writing {name!r} out of order or with wrong size")
        self._f.write(data)
        self._next += 1

    def close(self) -> None:
        self._f.close()
        if self._next != len(self._order):
            self._tmp.unlink(missing_ok=True)
            raise CheckpointError(f"{self.path}: incomplete ({self._next}/{len(self._order)})")
        self._tmp.replace(self.path)

    def abort(self) -> None:
        self._f.close()
        self._tmp.unlink(missing_ok=True)
