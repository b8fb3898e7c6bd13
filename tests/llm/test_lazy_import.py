"""litellm (and the SDKs under it) load only when a request goes to the network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    return out.stdout.strip()


def test_importing_the_llm_seam_and_operators_loads_no_sdk() -> None:
    code = (
        "import sys\n"
        "import codeevo.llm, codeevo.mutation.llm_ops, codeevo.mutation.prompts\n"
        "import codeevo.mutation.diff, codeevo.cli.replay_cmd\n"
        "print(','.join(m for m in ('litellm', 'openai', 'anthropic', 'httpx') "
        "if m in sys.modules))\n"
    )
    assert _run(code) == ""


def test_a_replay_never_imports_litellm(tmp_path: Path) -> None:
    code = f"""
import asyncio, random, sys
from pathlib import Path
from codeevo.config import LLMConfig, ModelConfig
from codeevo.llm import ExchangeStore, LiteLLMClient, Message
store = ExchangeStore(Path({str(tmp_path)!r}))
m = ModelConfig(name="openai/gpt-4.1-mini")
msgs = [Message(role="user", content="hi")]
from codeevo.llm.client import request_params
key = ExchangeStore(store.directory).next_key(m.name, msgs, request_params(m))
store.put(key, {{"ok": True, "text": "stored", "tokens_in": 1, "tokens_out": 1}})
client = LiteLLMClient(LLMConfig(models=[m], cache="replay"), store)
reply = asyncio.run(client.complete(msgs, random.Random(0)))
print(reply.text, "litellm" in sys.modules)
"""
    assert _run(code) == "stored False"
