"""ScriptedLLMClient: an in-process LLMClient test double that answers from a list."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable

from codeevo.llm.base import LLMCallError, LLMReply, Message

Script = str | LLMReply | Exception


class ScriptedLLMClient:
    """Answers each request with the next scripted item: a string (a reply), an LLMReply, or
    an exception (raised). When the script runs out, `responder(messages)` answers, if set.
    Every request's messages are kept in `requests`."""

    def __init__(
        self,
        script: Iterable[Script] = (),
        model: str = "fake/model",
        responder: Callable[[list[Message]], Script] | None = None,
        tokens: tuple[int, int] = (10, 5),
        cost: float = 0.001,
    ) -> None:
        self.script: deque[Script] = deque(script)
        self.model = model
        self.responder = responder
        self.tokens = tokens
        self.cost = cost
        self.requests: list[list[Message]] = []

    async def complete(
        self, messages: list[Message], rng: random.Random, model: str | None = None
    ) -> LLMReply:
        rng.random()  # one draw per request, like the real client's model choice
        self.requests.append([Message(role=m["role"], content=m["content"]) for m in messages])
        if self.script:
            item = self.script.popleft()
        elif self.responder is not None:
            item = self.responder(messages)
        else:
            raise LLMCallError("script exhausted", self.model)
        if isinstance(item, Exception):
            raise item
        if isinstance(item, LLMReply):
            return item
        return LLMReply(item, self.model, self.tokens[0], self.tokens[1], self.cost, 0.01)
