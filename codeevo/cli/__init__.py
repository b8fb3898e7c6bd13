"""`codeevo` command line: parse arguments, call into the package, map errors to exit codes.

Each group of subcommands lives in its own module exposing ``register(subparsers)``; modules
import heavy dependencies (litellm, docker, textual, torch) only inside their handlers.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from codeevo import __version__
from codeevo.errors import CodeevoError

# Modules whose register() adds subcommands, in help order.
COMMAND_MODULES = (
    "codeevo.cli.run_cmds",  # run, resume, best, eval, problems, config
    "codeevo.cli.lineage_cmd",  # lineage
    "codeevo.cli.replay_cmd",  # replay
    "codeevo.cli.insights_cmd",  # insights
    "codeevo.cli.sandbox_cmds",  # sandbox build, doctor
    "codeevo.cli.merge_cmds",  # merge, report
    "codeevo.cli.tui_cmd",  # tui
)


# Modules that come with an extra: a command that needs one says which extra, not a traceback.
EXTRA_OF_MODULE = {"torch": "merge", "safetensors": "merge", "sklearn": "merge"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codeevo", description="LLM-driven code evolution (see README.md)"
    )
    parser.add_argument("--version", action="version", version=f"codeevo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.handler(args)
    except CodeevoError as exc:
        print(f"codeevo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        extra = EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"codeevo: error: this needs {exc.name}, not installed here: "
              f"pip install 'codeevo[{extra}]'", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codeevo: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
