"""A scripted OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1, for tests and benchmarks.

Routes: ``POST /v1/chat/completions`` (OpenAI), ``POST /v1/messages`` (Anthropic) and
``POST /v1/embeddings`` (OpenAI embeddings: `embedder` maps each input text to a vector; the
default hashes character trigrams), also without the ``/v1`` prefix. Each request takes the
next scripted `Reply` (from the queue of its model if one was scripted, else the shared
queue); when the queues are empty, `responder` (if set) makes the reply from the request.
Faults: 429 with Retry-After, 5xx, hangs, malformed JSON, empty bodies, empty message content.
Every request is logged (path, headers, JSON body, time).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer. kind: ok | error (status + body) | hang | malformed | empty_body
    | respond (let the responder answer)."""

    text: str = ""
    kind: str = "ok"
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    tokens_in: int = 100
    tokens_out: int = 50


def ok(text: str, **kw: Any) -> Reply:
    return Reply(text=text, **kw)


def rate_limited(retry_after: float = 0.05) -> Reply:
    return Reply(kind="error", status=429, retry_after=retry_after)


def server_error(status: int = 500) -> Reply:
    return Reply(kind="error", status=status)


def hang(seconds: float = 30.0) -> Reply:
    return Reply(kind="hang", delay=seconds)


def malformed() -> Reply:
    return Reply(kind="malformed")


def empty_body() -> Reply:
    return Reply(kind="empty_body")


def respond() -> Reply:
    """A placeholder in a script: answer this request with the responder."""
    return Reply(kind="respond")


@dataclass
class LoggedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    t: float

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    def prompt_text(self) -> str:
        """All message text of the request, joined."""
        parts: list[str] = []
        system = self.body.get("system")
        if isinstance(system, str):
            parts.append(system)
        elif isinstance(system, list):
            parts.extend(str(b.get("text", "")) for b in system if isinstance(b, dict))
        for m in self.body.get("messages", []):
            content = m.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(str(b.get("text", "")) for b in content if isinstance(b, dict))
        return "\n".join(parts)


Responder = Callable[[LoggedRequest], Reply]


@dataclass
class ScriptedLLMServer:
    """Start with `start()` (or as a context manager); `base_url` is http://127.0.0.1:PORT."""

    latency: float = 0.0
    responder: Responder | None = None
    embedder: Callable[[str], list[float]] | None = None
    requests: list[LoggedRequest] = field(default_factory=list)
    _queue: deque[Reply] = field(default_factory=deque)
    _by_model: dict[str, deque[Reply]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0  # requests being answered now
    max_in_flight: int = 0  # the most answered at once

    # -- scripting
    def script(self, *replies: Reply, model: str | None = None) -> None:
        """Queue replies (for one model, matched against the request's model, or for all)."""
        with self._lock:
            if model is None:
                self._queue.extend(replies)
            else:
                self._by_model.setdefault(model, deque()).extend(replies)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + sum(len(q) for q in self._by_model.values())

    def _next(self, req: LoggedRequest) -> Reply:
        with self._lock:
            for name, q in self._by_model.items():
                if q and (req.model == name or req.model.endswith("/" + name)):
                    return q.popleft()
            reply = self._queue.popleft() if self._queue else None
        if reply is not None and reply.kind != "respond":
            return reply
        if self.responder is not None:
            return self.responder(req)
        return Reply(kind="error", status=500, text="script exhausted")

    # -- lifecycle
    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> ScriptedLLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one segment per reply, sent at once: else Nagle + delayed ACK add 40 ms a call
            disable_nagle_algorithm = True
            wbufsize = 1 << 16

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                arrived = time.monotonic()  # the latency counts from here, not after our work
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                req = LoggedRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                    body, time.time())
                with server._lock:
                    server.requests.append(req)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server._answer(self, req, arrived)
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answering
    def _answer(self, h: BaseHTTPRequestHandler, req: LoggedRequest, arrived: float) -> None:
        if h.path.rstrip("/").endswith("embeddings"):
            return self._embeddings(h, req)
        reply = self._next(req)
        wait = self.latency + (reply.delay if reply.kind != "hang" else 0.0)
        if wait:  # reply `wait` seconds after the request arrived (our own work included)
            time.sleep(max(0.0, arrived + wait - time.monotonic()))
        if reply.kind == "hang":
            self._stopping.wait(reply.delay)
            return _send(h, 504, b'{"error": "hung"}', {})
        if reply.kind == "error":
            headers = {}
            if reply.retry_after is not None:
                headers["Retry-After"] = f"{reply.retry_after:g}"
            err = {"error": {"message": reply.text or f"scripted {reply.status}",
                             "type": "rate_limit_error" if reply.status == 429 else "api_error"}}
            if "messages" in req.path and "chat" not in req.path:
                err = {"type": "error", "error": err["error"]}
            return _send(h, reply.status, json.dumps(err).encode(), headers)
        if reply.kind == "malformed":
            return _send(h, 200, b'{"id": "x", "choices": [ {"mess', {})
        if reply.kind == "empty_body":
            return _send(h, 200, b"", {})
        if h.path.rstrip("/").endswith("chat/completions"):
            payload = _openai_body(req, reply)
        elif h.path.rstrip("/").endswith("messages"):
            payload = _anthropic_body(req, reply)
        else:
            return _send(h, 404, b'{"error": "no such route"}', {})
        _send(h, 200, json.dumps(payload).encode(), {})


    def _embeddings(self, h: BaseHTTPRequestHandler, req: LoggedRequest) -> None:
        with self._lock:
            queue = self._by_model.get(req.model) or self._by_model.get(
                req.model.split("/")[-1])
            reply = queue.popleft() if queue else None
        if reply is not None and reply.kind == "error":
            body = {"error": {"message": reply.text or f"scripted {reply.status}",
                              "type": "api_error"}}
            return _send(h, reply.status, json.dumps(body).encode(), {})
        texts = req.body.get("input", [])
        texts = [texts] if isinstance(texts, str) else list(texts)
        embed = self.embedder or _trigram_vector
        data = [{"object": "embedding", "index": i, "embedding": embed(str(t))}
                for i, t in enumerate(texts)]
        tokens = sum(len(str(t).split()) for t in texts)
        payload = {"object": "list", "data": data, "model": req.model,
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        _send(h, 200, json.dumps(payload).encode(), {})


def _trigram_vector(text: str, dim: int = 64) -> list[float]:
    vec = [0.0] * dim
    for i in range(len(text) - 2):
        vec[hash_text(text[i:i + 3]) % dim] += 1.0
    return vec


def hash_text(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8", "replace"))


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client hung up (a timeout test, or a worker shutting down)
        super().handle_error(request, client_address)


def _send(h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]) -> None:
    try:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (a timeout test); nothing to tell it


def _openai_body(req: LoggedRequest, reply: Reply) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{len(req.body)}-{int(req.t * 1000)}",
        "object": "chat.completion",
        "created": int(req.t),
        "model": req.model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": reply.text}}],
        "usage": {"prompt_tokens": reply.tokens_in, "completion_tokens": reply.tokens_out,
                  "total_tokens": reply.tokens_in + reply.tokens_out},
    }


def _anthropic_body(req: LoggedRequest, reply: Reply) -> dict[str, Any]:
    return {
        "id": f"msg_{int(req.t * 1000)}",
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.tokens_in, "output_tokens": reply.tokens_out},
    }


def _serve_main() -> None:
    """`python -m tests.llm.server --latency 0.2`: serve the toy model (from tests.llm.toy)
    in this process, print the base URL, run until killed. The benchmark uses it so the
    server does not share the driver's interpreter (and GIL)."""
    import argparse
    import sys

    from tests.llm.toy import ToyModel

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    server = ScriptedLLMServer(latency=args.latency, responder=ToyModel()).start()
    print(server.base_url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or kills us)
    finally:
        server.stop()


if __name__ == "__main__":
    _serve_main()
