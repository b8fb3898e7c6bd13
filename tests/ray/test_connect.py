"""connect(): a Ray Client server whose per-client server process dies at birth
(ray-project/ray#63202) is retried with a new connection; other failures are not.
(ray.init is replaced here; tests/ray/cluster/check_cli.py connects to a real ray:// server.)"""

from __future__ import annotations

from typing import Any

import pytest
import ray

from codeevo.distributed import cluster
from codeevo.distributed.demand import ClusterError

BIRTH = ConnectionAbortedError("Initialization failure from server:\nTraceback ...\n"
                               "RuntimeError: Starting Ray client server failed.")


def _init(monkeypatch: pytest.MonkeyPatch, failures: list[BaseException]) -> list[str | None]:
    calls: list[str | None] = []

    def fake_init(address: str | None = None, **_: Any) -> None:
        calls.append(address)
        if failures:
            raise failures.pop(0)

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    return calls


def test_a_client_server_that_died_at_birth_is_tried_again(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _init(monkeypatch, [BIRTH, BIRTH])
    assert cluster.connect("ray://head:10001") is True
    assert calls == ["ray://head:10001"] * 3


def test_retries_are_bounded_and_the_error_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _init(monkeypatch, [BIRTH] * 10)
    with pytest.raises(ClusterError, match=r"at ray://head:10001: ConnectionAbortedError: "
                       r"Initialization failure from server: \(3 attempts; see "
                       r"ray_client_server\*\.err"):
        cluster.connect("ray://head:10001")
    assert len(calls) == cluster.CLIENT_ATTEMPTS == 3


@pytest.mark.parametrize("address, exc", [
    ("auto", ConnectionError("Could not find any running Ray instance.")),
    ("ray://head:10001", ConnectionError("ray client connection timeout")),
    ("10.0.0.7:6379", BIRTH),  # not a Ray Client address: nothing forked per client there
])
def test_other_failures_are_not_retried(
    monkeypatch: pytest.MonkeyPatch, address: str, exc: BaseException
) -> None:
    calls = _init(monkeypatch, [exc, exc])
    with pytest.raises(ClusterError) as err:
        cluster.connect(address)
    assert len(calls) == 1 and "attempts" not in str(err.value)
    assert ("ray start --head" in str(err.value)) == (address == "auto")
