"""Capped capture of streamed output and Docker's stream framing."""

from __future__ import annotations

import struct

from codeevo.sandbox.stream import MAX_RESULT_LINE, CappedCapture, DockerFrames


def frame(kind: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(data)) + data


def test_head_kept_rest_counted() -> None:
    cap = CappedCapture(10)
    cap.feed(b"0123456")
    cap.feed(b"789abcdef")
    assert bytes(cap.head) == b"0123456789"
    assert cap.dropped == 6
    assert "6 more bytes" in cap.text()


def test_result_line_found_after_flood_in_any_chunking() -> None:
    marker = b"n0nce "
    stream = b"x" * 100_000 + b"\nn0n\nn0nce-not\n" + marker + b'{"status": "ok"}\nafter'
    for size in (1, 3, 7, 4096, len(stream)):
        cap = CappedCapture(100, marker)
        for i in range(0, len(stream), size):
            cap.feed(stream[i : i + size])
        cap.finish()
        assert cap.result_line == marker + b'{"status": "ok"}', size
        assert len(cap.head) == 100


def test_last_result_line_wins_and_unterminated_counts() -> None:
    cap = CappedCapture(10, b"N ")
    cap.feed(b"N 1\nN 2")
    cap.finish()
    assert cap.result_line == b"N 2"


def test_oversized_result_line_is_dropped() -> None:
    cap = CappedCapture(10, b"N ")
    cap.feed(b"N ")
    chunk = b"y" * (1024 * 1024)
    for _ in range(MAX_RESULT_LINE // len(chunk) + 1):
        cap.feed(chunk)
    cap.feed(b"\n")
    assert cap.result_line is None


def test_frames_split_between_streams_across_chunks() -> None:
    out, err = CappedCapture(1000), CappedCapture(1000)
    frames = DockerFrames(out, err)
    data = frame(1, b"hello ") + frame(2, b"oops") + frame(1, b"world") + frame(1, b"")
    for i in range(len(data)):
        frames.feed(data[i : i + 1])
    assert bytes(out.head) == b"hello world"
    assert bytes(err.head) == b"oops"
