"""Capped capture of a sandbox's output while it streams, and Docker's stream framing.

A hostile program may print without end; the driver keeps the head of each stream (up to a cap)
and counts the rest, yet never loses the runner's result line, which it picks out by its nonce
as the bytes go by.
"""

from __future__ import annotations

import re
import struct
from typing import Protocol


class ByteSink(Protocol):
    def feed(self, data: bytes) -> None: ...

# The runner's result line may carry artifacts; anything longer is not a result we accept.
MAX_RESULT_LINE = 16 * 1024 * 1024


class CappedCapture:
    """Keeps the first `cap` bytes, counts the rest, and keeps the last line starting `marker`."""

    def __init__(self, cap: int, marker: bytes | None = None) -> None:
        self.cap = cap
        self.marker = marker
        self.head = bytearray()
        self.dropped = 0
        self.result_line: bytes | None = None
        self._line = bytearray()  # current line: its first len(marker) bytes, or all if marked
        self._marked = False
        self._skip = False  # current line can no longer be a result line

    def feed(self, data: bytes) -> None:
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
        self.dropped += max(0, len(data) - max(room, 0))
        if self.marker is not None:
            self._scan(data)

    def _scan(self, data: bytes) -> None:
        assert self.marker is not None
        start = 0
        while start <= len(data):
            nl = data.find(b"\n", start)
            piece = data[start:] if nl < 0 else data[start:nl]
            self._extend(piece)
            if nl < 0:
                return
            self._end_line()
            start = nl + 1

    def _extend(self, piece: bytes) -> None:
        assert self.marker is not None
        if self._skip or not piece:
            return
        if self._marked:
            if len(self._line) + len(piece) > MAX_RESULT_LINE:
                self._skip = True
                self._line.clear()
            else:
                self._line += piece
            return
        need = len(self.marker) - len(self._line)
        self._line += piece[:need]
        if not self.marker.startswith(bytes(self._line)):
            self._skip = True
            self._line.clear()
        elif len(self._line) == len(self.marker):
            self._marked = True
            self._line += piece[need:]

    def _end_line(self) -> None:
        if self._marked and not self._skip:
            self.result_line = bytes(self._line)
        self._line.clear()
        self._marked = self._skip = False

    def finish(self) -> None:
        """End of stream: a result line without its newline still counts."""
        if self.marker is not None:
            self._end_line()

    def text(self) -> str:
        out = self.head.decode(errors="replace")
        if self.dropped:
            out += f"\n[... {self.dropped} more bytes not kept]"
        return out


class DockerFrames:
    """Splits Docker's multiplexed attach/exec stream (no TTY) into stdout and stderr bytes.

    Each frame is an 8-byte header (stream id, 3 zero bytes, big-endian payload size) followed by
    the payload; 1 = stdout, 2 = stderr.
    """

    def __init__(self, stdout: ByteSink, stderr: ByteSink) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self._buf = bytearray()
        self._want = 0  # payload bytes still owed to the current frame
        self._target: ByteSink | None = None

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._want:
                take = view[: self._want]
                if self._target is not None:
                    self._target.feed(bytes(take))
                self._want -= len(take)
                view = view[len(take) :]
                continue
            need = 8 - len(self._buf)
            self._buf += view[:need]
            view = view[need:]
            if len(self._buf) == 8:
                kind, size = struct.unpack(">BxxxL", self._buf)
                self._buf.clear()
                self._want = size
                self._target = self.stderr if kind == 2 else self.stdout


class TailCapture:
    """A runner's stderr across jobs: keeps the first and last `cap` bytes since `mark()`."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def mark(self) -> None:
        self.head.clear()
        self.tail.clear()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            del self.tail[: max(0, len(self.tail) - self.cap)]

    def since_mark(self) -> str:
        text = self.head.decode("utf-8", "replace")
        cut = self.total - len(self.head) - len(self.tail)
        if cut > 0:
            text += f"\n[... {cut} bytes not kept ...]\n"
        return text + self.tail.decode("utf-8", "replace")

    def text(self) -> str:
        return self.since_mark()


# C0 controls but tab and newline, DEL, and the C1 block (ESC's 8-bit twins such as CSI).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    r"""`text` with control characters written out (``\x1b``, ``\x00``...), so a candidate's
    output shown by `git show`, `cat` or the TUI cannot drive the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
