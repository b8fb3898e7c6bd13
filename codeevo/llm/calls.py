"""One request through litellm, reduced to a plain dict (the same in-process and in the
LLM worker process): {"ok": True, "text", "tokens_in", "tokens_out", "price_cost"} or
{"ok": False, "fatal": bool, "reason": str, "retry_after": float | None}.

litellm is imported here on the first call only; `LITELLM_LOCAL_MODEL_COST_MAP=True` is set
before the import (no network fetch of the price map).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import importlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

# Statuses that another attempt cannot fix (bad request, auth, unknown model, too long).
FATAL_STATUS = frozenset({400, 401, 403, 404, 413, 422})
SLACK_S = 5.0  # beyond litellm's own timeout, for a hang litellm does not notice


def load_litellm() -> Any:
    """Import litellm quietly (local price map, no telemetry, no debug prints)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    litellm: Any = importlib.import_module("litellm")
    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    litellm.turn_off_message_logging = True
    if hasattr(litellm, "telemetry"):
        litellm.telemetry = False
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return litellm


async def call_litellm(kwargs: dict[str, Any], timeout: float,
                       waited: Callable[[], float] = lambda: 0.0) -> dict[str, Any]:
    """Send one chat request (`kwargs` for litellm.acompletion); never raises for a provider
    fault: the outcome is the returned dict. `waited()` is the time the request has spent
    waiting for a slot so far, which does not count against `timeout`."""
    litellm = load_litellm()
    try:
        response = await _within(litellm.acompletion(**kwargs), timeout + SLACK_S, waited)
    except TimeoutError:
        return retryable(f"timed out after {timeout:g}s")
    except Exception as exc:  # litellm maps provider errors onto many classes
        return classify(exc)
    try:
        text = response.choices[0].message.content
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        return retryable(f"garbage reply: {exc}")
    if not isinstance(text, str) or not text.strip():
        return retryable("empty reply")
    return {"ok": True, "text": text, "tokens_in": tokens_in, "tokens_out": tokens_out,
            "price_cost": price_map_cost(litellm, str(kwargs["model"]), tokens_in, tokens_out)}


async def _within(coro: Awaitable[Any], seconds: float, waited: Callable[[], float]) -> Any:
    """Await `coro`, raising TimeoutError once it has run `seconds` plus `waited()`."""
    task = asyncio.ensure_future(coro)
    start = time.monotonic()
    try:
        while True:
            left = start + seconds + waited() - time.monotonic()
            if left <= 0:
                break
            done, _ = await asyncio.wait({task}, timeout=left)
            if done:
                return task.result()
    except asyncio.CancelledError:
        task.cancel()
        raise
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    raise TimeoutError


def retryable(reason: str, retry_after: float | None = None) -> dict[str, Any]:
    return {"ok": False, "fatal": False, "reason": reason, "retry_after": retry_after}


def classify(exc: BaseException) -> dict[str, Any]:
    """A provider error as a plain outcome. litellm's exceptions subclass the `openai` SDK's
    typed errors (for every provider), so the type says what happened; the status code is the
    fallback for anything else."""
    import openai

    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    message = str(exc).splitlines()[0][:300] if str(exc) else name
    if isinstance(exc, openai.APITimeoutError):
        return retryable(f"timed out ({name}): {message}")
    if isinstance(exc, openai.APIConnectionError) or _connection_failed(message):
        # litellm reports a refused or reset connection as HTTP 500: say what it is.
        return retryable(f"cannot connect to the endpoint ({name}): {message}")
    if isinstance(exc, openai.RateLimitError) or status == 429:
        return retryable(f"rate limited (HTTP 429): {message}", retry_after_seconds(exc))
    fatal = (openai.AuthenticationError, openai.PermissionDeniedError, openai.BadRequestError,
             openai.NotFoundError, openai.UnprocessableEntityError)
    if isinstance(exc, fatal) or (isinstance(status, int) and status in FATAL_STATUS):
        return {"ok": False, "fatal": True, "reason": f"HTTP {status} ({name}): {message}",
                "retry_after": None}
    if isinstance(status, int):
        return retryable(f"HTTP {status} ({name}): {message}")
    return retryable(f"{name}: {message}")


_CONNECT_FAILURES = ("Connection error", "Cannot connect to host", "Connection refused",
                     "Connect call failed", "Server disconnected")


def _connection_failed(message: str) -> bool:
    return any(s in message for s in _CONNECT_FAILURES)


def check_model(name: str, api_base: str | None) -> dict[str, Any]:
    """What litellm knows of a model string, before any request: its provider (or why it has
    none), whether litellm's price map prices it, and which credential variables are missing
    from the environment (only where no `api_base` says where to go)."""
    litellm = load_litellm()
    try:
        _, provider, _, _ = litellm.get_llm_provider(model=name, api_base=api_base)
    except Exception as exc:  # litellm raises BadRequestError for an unknown provider
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"ok": False, "reason": message.removeprefix("litellm.BadRequestError: ")[:300]}
    prices: list[float] | None
    try:  # dollars per token, input and output
        cin, _ = litellm.cost_per_token(model=name, prompt_tokens=1_000_000, completion_tokens=0)
        _, cout = litellm.cost_per_token(model=name, prompt_tokens=0, completion_tokens=1_000_000)
        prices = [float(cin) / 1e6, float(cout) / 1e6]
    except Exception:  # not in the price map
        prices = None
    missing: list[str] = []
    if not api_base:
        try:
            found = litellm.validate_environment(model=name)
            missing = [str(k) for k in found.get("missing_keys") or [] if str(k).endswith("_KEY")]
        except Exception:
            missing = []
    return {"ok": True, "provider": str(provider), "priced": prices is not None,
            "prices": prices, "missing_keys": missing}


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), if the error has one."""
    headers: Any = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    if not headers:
        headers = getattr(exc, "litellm_response_headers", None) or getattr(exc, "headers", None)
    if not headers:
        return None
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def price_map_cost(litellm: Any, model: str, tokens_in: int, tokens_out: int) -> float:
    """Dollars from litellm's price map; 0.0 for a model it does not know (a local one)."""
    try:
        cin, cout = litellm.cost_per_token(
            model=model, prompt_tokens=tokens_in, completion_tokens=tokens_out)
    except Exception:  # unmapped model: litellm raises several kinds
        return 0.0
    return float(cin) + float(cout)
