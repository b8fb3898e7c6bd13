"""The LLM worker process: `python -m codeevo.llm.worker`, started by `codeevo.llm.gateway`.

It runs litellm on its own event loop and core, so the driver's loop (selection, prompts,
diffs, lineage writes) and litellm's per-request CPU (request building, response parsing,
its logging) no longer queue behind each other. Protocol: JSON lines.

    stdin   {"op": "call", "id": 7, "group": "...", "limit": 16, "timeout": 120, "kwargs": {...}}
            {"op": "cancel", "id": 7}
            {"op": "check", "id": 8, "models": [{"name": ..., "api_base": ...}, ...]}
    stdout  {"id": 7, "ok": true, "text": ..., "tokens_in": ..., ...}   (see codeevo.llm.calls)
            {"id": 8, "models": [{"ok": true, "provider": ..., "priced": ...}, ...]}

`limit` caps the HTTP requests of one `group` (one client) in flight at once (see
`codeevo.llm.slots`): a request waits here for a slot, so a finished request's slot goes to the
next one without a round trip to the driver. The worker exits when its stdin closes (the
driver exited or closed it). It gets keys only inside request kwargs and never logs a request.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from codeevo.llm.calls import check_model, load_litellm, retryable
from codeevo.llm.slots import Slots


class _Worker:
    def __init__(self, out: int) -> None:
        self.out = out
        self.slots = Slots()
        self.tasks: dict[int, asyncio.Task[None]] = {}

    def reply(self, message: dict[str, Any]) -> None:
        data = memoryview(json.dumps(message).encode() + b"\n")
        while data:
            data = data[os.write(self.out, data):]

    async def call(self, req: dict[str, Any]) -> None:
        rid = int(req["id"])
        try:
            out = await self.slots.call(str(req["group"]), int(req["limit"]),
                                        float(req["timeout"]), dict(req["kwargs"]))
        except asyncio.CancelledError:
            return  # the driver gave up on it: no reply
        except Exception as exc:  # never leave the driver waiting
            out = retryable(f"LLM worker error: {type(exc).__name__}: {exc}")
        finally:
            self.tasks.pop(rid, None)
        self.reply({"id": rid, **out})

    def handle(self, line: bytes) -> None:
        req = json.loads(line)
        if req.get("op") == "cancel":
            task = self.tasks.get(int(req["id"]))
            if task is not None:
                task.cancel()
        elif req.get("op") == "call":
            self.tasks[int(req["id"])] = asyncio.create_task(self.call(req))
        elif req.get("op") == "check":
            models = [check_model(str(m["name"]), m.get("api_base")) for m in req["models"]]
            self.reply({"id": int(req["id"]), "models": models})


async def _serve(proto_in: int, proto_out: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                 os.fdopen(proto_in, "rb", buffering=0))
    worker = _Worker(proto_out)
    while True:
        line = await reader.readline()
        if not line:
            break
        worker.handle(line)
    for task in list(worker.tasks.values()):
        task.cancel()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    await worker.slots.close()


def main() -> None:
    # The protocol owns the original stdin/stdout; anything printed (by litellm or a
    # provider SDK) goes to stderr instead, where it cannot corrupt a reply.
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sys.stdout = sys.stderr
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's; we stop on EOF
    load_litellm()  # import before the first request arrives
    asyncio.run(_serve(proto_in, proto_out))


if __name__ == "__main__":
    main()
