from tests.llm.conftest import llm_server  # noqa: F401  (the loopback server fixture)
