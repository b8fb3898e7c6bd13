"""The driver's reading of the result channel (one wording for both sandboxes): exactly one
well-formed result line per job; anything else is tampering. And terminal-safe artifacts."""

from __future__ import annotations

import json

import pytest

from codeevo.candidate import Status
from codeevo.sandbox.base import Outcome, ResultStream, outcome_result
from codeevo.sandbox.stream import terminal_safe

NONCE = "ab" * 16
GOOD = json.dumps({"status": "ok", "score": 1.0, "timings": {"score": 0.1}, "recycle": False})


def stream(*lines: bytes, nonce: str = NONCE) -> ResultStream:
    s = ResultStream()
    s.feed(b'ready {"protocol": 2}\n')
    s.expect(nonce)
    for line in lines:
        s.feed(line)
    return s


def result(s: ResultStream, **kw: object) -> tuple[object, bool]:
    return outcome_result(Outcome(s, **kw))  # type: ignore[arg-type]


def test_one_result_line_is_the_result() -> None:
    s = stream(f'{NONCE} stage "main"\n'.encode(), f"{NONCE} {GOOD}\n".encode())
    res, reusable = outcome_result(Outcome(s))
    assert res.status == Status.OK and res.score == 1.0 and reusable
    assert res.timings == {"score": 0.1}


@pytest.mark.parametrize("extra,why", [
    (f"{NONCE} {GOOD}\n", "second line"),
    ("0" * 32 + " " + GOOD + "\n", "not the runner's"),
    ("hello\n", "not the runner's"),
], ids=["second-result", "forged-nonce", "stray-line"])
def test_anything_else_on_the_channel_is_tampering(extra: str, why: str) -> None:
    s = stream(f"{NONCE} {GOOD}\n".encode(), extra.encode())
    res, reusable = outcome_result(Outcome(s))
    assert res.status == Status.TAMPERED and res.score is None and not reusable
    assert why in (res.reason or "")


def test_a_forged_line_before_the_result_is_tampering_too() -> None:
    s = stream(("f" * 32 + ' {"status": "ok", "score": 1e9}\n').encode(),
               f"{NONCE} {GOOD}\n".encode())
    res, _ = outcome_result(Outcome(s))
    assert res.status == Status.TAMPERED and res.score is None


def test_malformed_result_line_is_tampering() -> None:
    s = stream(f'{NONCE} {{"status": "ok", "score": \n'.encode())
    res, _ = outcome_result(Outcome(s))
    assert res.status == Status.TAMPERED and "malformed" in (res.reason or "")
    s = stream(f'{NONCE} {{"status": "ok", "score": 1e9, "sneaky": 1}}\n'.encode())
    assert outcome_result(Outcome(s))[0].status == Status.TAMPERED


def test_unterminated_line_at_the_end_is_tampering() -> None:
    s = stream(f"{NONCE} {GOOD}".encode())
    s.finish()
    assert outcome_result(Outcome(s))[0].status == Status.TAMPERED


def test_runner_end_and_deadline_name_the_stage_and_keep_output() -> None:
    s = stream(f'{NONCE} stage "fitness"\n'.encode())
    res, _ = outcome_result(Outcome(s, ended=True, exit_code=-9, stderr="partial output"))
    assert res.status == Status.CRASHED and res.stage == "fitness"
    assert res.reason == "the sandbox runner was killed by SIGKILL without a result"
    assert res.artifacts == {"sandbox_stderr": "partial output"}
    res, _ = outcome_result(Outcome(s, timed_out=True, deadline=12, stderr="so far"))
    assert res.status == Status.TIMEOUT and res.stage == "fitness"
    assert "12 s deadline" in (res.reason or "") and res.artifacts["sandbox_stderr"] == "so far"
    res, _ = outcome_result(Outcome(s, ended=True, exit_code=137, oom=True, memory_mb=256))
    assert res.status == Status.OOM and "256 MB" in (res.reason or "")


def test_terminal_control_bytes_are_written_out() -> None:
    raw = "ok\x1b[2J\x1b]0;pwned\x07\x00\r\x9bmore\n\tend"
    safe = terminal_safe(raw)
    assert safe == "ok\\x1b[2J\\x1b]0;pwned\\x07\\x00\\x0d\\x9bmore\n\tend"
    assert not any(ord(c) < 32 and c not in "\n\t" for c in safe)
