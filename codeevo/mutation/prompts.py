"""The messages an LLM operator sends: role, task, parent(s) with metrics and evaluator
feedback, top programs, diverse inspirations, and the operator's output format.

Every piece is a `string.Template` (``$name`` placeholders) that a problem may override with
``problems/<p>/templates/<name>.md``. Names: ``system``, ``user``, ``format_diff``,
``format_rewrite``, ``format_crossover``, ``repair``. Placeholders in ``user``: ``$task``,
``$parents``, ``$feedback``, ``$top_programs``, ``$inspirations``, ``$format``; in ``system``:
``$language``; in ``repair``: ``$error``, ``$format``; in the formats: ``$blocks`` (how many
EVOLVE-BLOCKs the program has). A placeholder a template does not use is simply left out.

Metrics named ``private.*`` and artifacts named ``private*`` are kept in the lineage but never
shown to the model (a ShinkaEvolve evaluator's private metrics, say).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from string import Template

from codeevo.llm.base import Message
from codeevo.mutation import blocks
from codeevo.mutation.base import ParentView, ProposalRequest

_EMPTY = "\x00"  # marks an empty section until _tidy removes it
ARTIFACT_CHARS = 3000  # per artifact: enough for a traceback, not a flood of stdout
PRIVATE = "private."  # metrics (and artifacts named private*) the model never sees

DEFAULT_TEMPLATES: dict[str, str] = {
    "system": (
        "You are an expert $language programmer improving a program by evolution. Each "
        "program is scored by an automatic evaluator; higher is better. Only the code "
        "between `# EVOLVE-BLOCK-START` and `# EVOLVE-BLOCK-END` may change; everything "
        "else is fixed and must stay as it is. Keep the program's interface: the evaluator "
        "calls it the same way. Think about why the current program scores what it does, "
        "then make a focused change likely to raise the score."
    ),
    "user": ("$task\n\n$insights\n\n$parents\n\n$feedback\n\n$top_programs\n\n$inspirations"
             "\n\n$format"),
    "format_diff": (
        "# Output format\n"
        "Answer with one or more SEARCH/REPLACE blocks, exactly like this:\n\n"
        "<<<<<<< SEARCH\n"
        "lines copied verbatim from the current program\n"
        "=======\n"
        "the lines to put in their place\n"
        ">>>>>>> REPLACE\n\n"
        "The SEARCH part must match the current program exactly (copy whole lines, keep "
        "their indentation) and lie inside an EVOLVE-BLOCK. Blocks are applied in order. "
        "Explain briefly, then give the blocks."
    ),
    "format_rewrite": (
        "# Output format\n"
        "Rewrite the code inside the program's EVOLVE-BLOCKs ($blocks in all). Answer with "
        "the new content of each EVOLVE-BLOCK, in order, each in its own ```python fenced "
        "code block, without the EVOLVE-BLOCK marker lines and without the fixed code "
        "around them."
    ),
    "format_crossover": (
        "# Output format\n"
        "Combine the best ideas of program A and program B into one better program. Answer "
        "with the new content of each of program A's EVOLVE-BLOCKs ($blocks in all), in "
        "order, each in its own ```python fenced code block, without the EVOLVE-BLOCK marker "
        "lines and without the fixed code around them."
    ),
    "repair": (
        "Your previous answer could not be used: $error\n\n"
        "Please answer again, following the output format exactly.\n\n$format"
    ),
}


def template(name: str, overrides: Mapping[str, str] | None = None) -> Template:
    """The problem's template `name` if it has one, else the default."""
    if overrides and name in overrides:
        return Template(overrides[name])
    return Template(DEFAULT_TEMPLATES[name])


def build_messages(request: ProposalRequest, operator: str) -> list[Message]:
    """System and user messages for `operator` ("diff", "rewrite" or "crossover")."""
    over = request.problem.templates
    parent = request.parent
    fmt = output_format(operator, parent.program, over)
    if operator == "crossover" and request.second_parent is not None:
        parents = (_program_section("Program A (current program)", parent) + "\n\n"
                   + _program_section("Program B (second parent)", request.second_parent))
        feedback = "\n\n".join(x for x in (_feedback("program A", parent),
                                             _feedback("program B", request.second_parent)) if x)
    else:
        parents = _program_section("Current program", parent)
        feedback = _feedback("the current program", parent)
    sections = {
        "task": request.problem.prompt.strip(),
        "insights": _insights(request.insights),
        "parents": parents,
        "feedback": feedback,
        "top_programs": _programs("Top programs so far", request.top_programs),
        "inspirations": _programs("Other, diverse programs (for inspiration)",
                                  request.inspirations),
        "format": fmt,
    }
    user_name = f"user_{operator}" if over and f"user_{operator}" in over else "user"
    user = template(user_name, over).safe_substitute(
        {k: v or _EMPTY for k, v in sections.items()})
    system = template("system", over).safe_substitute(
        language=request.problem.config.language.capitalize())
    return [Message(role="system", content=system.strip()),
            Message(role="user", content=_tidy(user))]


def output_format(operator: str, program: str, overrides: Mapping[str, str] | None = None
                  ) -> str:
    """The output-format instructions of `operator` for a program with its EVOLVE-BLOCKs."""
    try:
        n = len(blocks.split(program).blocks)
    except blocks.BlockError:
        n = 1
    return template(f"format_{operator}", overrides).safe_substitute(blocks=str(n)).strip()


def repair_message(operator: str, error: str, program: str,
                   overrides: Mapping[str, str] | None = None) -> Message:
    """The user turn that sends a failed reply's error back to the model."""
    text = template("repair", overrides).safe_substitute(
        error=error, format=output_format(operator, program, overrides))
    return Message(role="user", content=text.strip())


def render_transcript(messages: list[Message]) -> str:
    """Messages as markdown, for the candidate's exchange/prompt.md."""
    return "\n\n".join(f"## {m['role']}\n\n{m['content']}" for m in messages) + "\n"


# ---------------------------------------------------------------- sections


def _fenced(program: str) -> str:
    return f"```python\n{program.rstrip()}\n```"


def _insights(text: str) -> str:
    text = text.strip()
    return f"# Insights from earlier attempts\n{text}" if text else ""


def _scores(view: ParentView) -> str:
    cand = view.candidate
    parts = [f"score: {cand.score:.6g}" if cand.score is not None else "score: none"]
    parts += [f"{k}: {v:.6g}" for k, v in sorted(cand.metrics.items())
              if not k.startswith(PRIVATE)]
    return ", ".join(parts)


def _program_section(title: str, view: ParentView) -> str:
    return f"# {title} ({_scores(view)})\n{_fenced(view.program)}"


def _feedback(whom: str, view: ParentView) -> str:
    """Evaluator artifacts (errors, tracebacks, feedback) of a program, capped in length."""
    items = dict(view.artifacts)
    if view.candidate.reason:
        items.setdefault("reason", view.candidate.reason)
    items = {k: v for k, v in items.items()
             if v and v.strip() and not k.startswith(PRIVATE.rstrip("."))}
    if not items:
        return ""
    lines = [f"# Evaluator feedback on {whom}"]
    for name, text in sorted(items.items()):
        text = text.strip()
        if len(text) > ARTIFACT_CHARS:
            text = "... (cut)\n" + text[-ARTIFACT_CHARS:]
        lines.append(f"## {name}\n```\n{text}\n```")
    return "\n".join(lines)


def _programs(title: str, views: tuple[ParentView, ...]) -> str:
    if not views:
        return ""
    out = [f"# {title}"]
    for i, view in enumerate(views, 1):
        feats = ", ".join(f"{k}={v:.4g}" for k, v in sorted(view.candidate.features.items()))
        extra = f"; features: {feats}" if feats else ""
        out.append(f"## Program {i} ({_scores(view)}{extra})\n{_fenced(view.program)}")
    return "\n\n".join(out)


def _tidy(text: str) -> str:
    """Drop empty sections with the blank lines around them (programs keep theirs)."""
    text = re.sub(rf"(\s*{_EMPTY})+\s*", "\n\n", text)
    return text.strip() + "\n"
