"""Turn an OpenEvolve or ShinkaEvolve folder into a codeevo `Problem`, unchanged on disk.

- the seed program becomes the entry (without EVOLVE-BLOCK markers it is wrapped in one block,
  so the whole file evolves, as in those frameworks);
- the config file is translated (codeevo.compat.openevolve / .shinka) into the problem's run
  defaults; whatever has no codeevo meaning is listed in `ForeignOrigin.warnings`;
- the evaluator runs through codeevo's adapter (``sandbox_adapter.py``) in the sandbox: a
  composed evaluator tree (adapter + stand-ins + a snapshot of the folder) is built once in
  codeevo's cache, content-addressed, and shipped with every job.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codeevo.compat import openevolve, shinka
from codeevo.compat.detect import OPENEVOLVE, SHINKAEVOLVE, detect_format, seed_file
from codeevo.compat.translate import Translation
from codeevo.config import (
    EvaluatorConfig,
    FeatureConfig,
    ProblemConfig,
    RunConfig,
    StageConfig,
    load_yaml,
    validation_error,
)
from codeevo.errors import ConfigError
from codeevo.mutation.blocks import END, START, BlockError, split
from codeevo.problem import ForeignOrigin, Problem

ADAPTER_MODULE = "_codeevo_foreign"
STAGE_FUNCTION = "run_stage"
HERE = Path(__file__).resolve().parent
# Folders a previous run or a tool left in the problem folder: never shipped to the sandbox.
SKIP_DIRS = {"openevolve_output", "results", "runs", "outputs", "wandb", "node_modules",
             "__pycache__", "venv", ".venv", "lineage.git"}
MAX_BYTES = 64 * 2**20
# Calls that load code into the calling process (run_shinka_eval imports the program).
_IN_PROCESS = {"spec_from_file_location", "exec_module", "import_module", "SourceFileLoader",
               "load_module", "run_path", "run_module", "__import__", "exec", "load_program",
               "run_shinka_eval"}
_SUBPROCESS = {"run", "Popen", "call", "check_call", "check_output", "system", "spawn",
               "create_subprocess_exec", "create_subprocess_shell"}
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")


@dataclass
class FolderSpec:
    """What the format module found in the folder (before it becomes a Problem)."""

    fmt: str
    root: Path
    seed: Path
    evaluator: Path
    config_file: Path | None
    tr: Translation
    notes: list[str] = field(default_factory=list)


def load_foreign(root: Path, config_file: Path | None = None) -> Problem:
    """The codeevo Problem for an OpenEvolve or ShinkaEvolve folder (ConfigError if bad)."""
    root = Path(root).resolve()
    fmt = detect_format(root)
    if fmt is None:
        raise ConfigError(f"{root}: not an OpenEvolve or ShinkaEvolve problem folder")
    spec = _openevolve(root, config_file) if fmt == OPENEVOLVE else _shinka(root, config_file)
    return _problem(spec)


# ---------------------------------------------------------------- per format


def _read_config(path: Path | None, label: str) -> Translation:
    if path is None:
        return Translation(label, None, {})
    data, lines = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of settings")
    return Translation(label, path, data, lines)


def _pick_config(root: Path, explicit: Path | None, preferred: tuple[str, ...],
                 pattern: str) -> tuple[Path | None, list[str]]:
    if explicit is not None:
        return explicit, []
    for name in preferred:
        if (root / name).is_file():
            return root / name, []
    found = sorted(p for p in root.glob(pattern) if p.is_file())
    if len(found) == 1:
        return found[0], []
    if found:
        names = ", ".join(p.name for p in found)
        return None, [f"several config files ({names}): none used; pass one with --config"]
    return None, []


def _openevolve(root: Path, explicit: Path | None) -> FolderSpec:
    seed = seed_file(root, "initial_program")
    assert seed is not None  # detect_format checked
    cfg, notes = _pick_config(root, explicit, ("config.yaml", "config.yml"), "config*.y*ml")
    tr = _read_config(cfg, openevolve.LABEL)
    openevolve.translate(tr, root)
    return FolderSpec(OPENEVOLVE, root, seed, root / "evaluator.py", cfg, tr, notes)


def _shinka(root: Path, explicit: Path | None) -> FolderSpec:
    cfg, notes = _pick_config(root, explicit, ("shinka.yaml", "shinka.yml"), "shinka*.y*ml")
    tr = _read_config(cfg, shinka.LABEL)
    shinka.translate(tr, root)
    script = shinka.scan_run_script(root / "run_evo.py") if (root / "run_evo.py").is_file() \
        else {}
    for key in ("timeout", "evaluator_file"):
        if key in script and key not in tr.facts:
            tr.facts[key] = script[key]
    if "task" in script and "task" not in tr.facts:
        tr.facts["task"] = script["task"]
        notes.append(f"task text taken from run_evo.py ({script['task_source']})")
    entry = tr.facts.get("entry")
    seed = root / str(entry) if entry else seed_file(root, "initial")
    if seed is None or not seed.is_file():
        raise ConfigError(f"{root}: seed program {seed or 'initial.py'} not found")
    evaluator = root / str(tr.facts.get("evaluator_file") or "evaluate.py")
    if not evaluator.is_file():
        raise ConfigError(f"{root}: evaluator {evaluator.name} not found")
    return FolderSpec(SHINKAEVOLVE, root, seed, evaluator, cfg, tr, notes)


# ---------------------------------------------------------------- the problem


def _problem(spec: FolderSpec) -> Problem:
    seed_text, whole = _seed(spec.seed)
    tr = spec.tr
    ev_source = spec.evaluator.read_text()
    try:
        ev_tree = ast.parse(ev_source, filename=str(spec.evaluator))
    except SyntaxError as exc:
        raise ConfigError(f"{spec.evaluator}:{exc.lineno}: evaluator does not parse: "
                          f"{exc.msg}") from exc
    defined = {n.name for n in ev_tree.body if isinstance(n, ast.FunctionDef)}
    stages, functions = _stages(spec, defined)
    features, feature_metrics, score_feature = _features(spec, seed_text)
    shared = _shares_process(ev_tree)
    spec.notes.extend(_unprovided_imports(ev_tree, spec.evaluator.name))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.root.name) or "problem"
    adapter_cfg: dict[str, Any] = {
        "format": spec.fmt, "evaluator_file": spec.evaluator.relative_to(spec.root).as_posix(),
        "entry": spec.seed.name, "functions": functions, "stages": [s.name for s in stages],
        "feature_metrics": feature_metrics, "score_feature": score_feature,
        "text_feedback": bool(tr.facts.get("text_feedback", False)),
    }
    where = f"{spec.config_file} (translated from {tr.label})" if spec.config_file else str(
        spec.root)
    try:
        RunConfig.model_validate(tr.run)
    except ValidationError as exc:
        raise validation_error(exc, where) from exc
    composed = compose_evaluator(spec.root, spec.seed)
    config = ProblemConfig(
        name=name,
        description=f"{tr.label} folder (translated by codeevo)",
        entry=spec.seed.name,
        evaluator=EvaluatorConfig(path=str(composed), module=ADAPTER_MODULE, config=adapter_cfg,
                                  shares_candidate_process=shared),
        stages=stages,
        features=features,
        defaults=tr.run,
    )
    task = str(tr.facts.get("task") or _default_task(spec))
    origin = ForeignOrigin(
        format=spec.fmt, source=spec.root, config_file=spec.config_file,
        warnings=tuple(tr.warnings), shared_process=shared, whole_file=whole,
        notes=tuple(spec.notes))
    return Problem(spec.root, config, seed_text, task + "\n", composed,
                   dict(tr.facts.get("templates") or {}), origin)


def _seed(path: Path) -> tuple[str, bool]:
    if path.suffix != ".py":
        raise ConfigError(f"{path}: codeevo evolves Python programs; a {path.suffix or 'plain'} "
                          "seed is not supported")
    text = path.read_text()
    whole = False
    try:
        split(text)
    except BlockError as exc:
        if START in text or END in text:
            raise ConfigError(f"{path}: {exc}") from exc
        text, whole = wrap_whole_file(text), True
    try:
        ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: seed program does not parse: {exc.msg}") from exc
    return text, whole


def wrap_whole_file(text: str) -> str:
    """`text` inside one EVOLVE-BLOCK (a shebang and a coding line stay above it)."""
    lines = text.splitlines(keepends=True)
    head = 0
    while head < min(2, len(lines)) and (
            (head == 0 and lines[0].startswith("#!")) or _CODING.match(lines[head])):
        head += 1
    body = "".join(lines[head:])
    if body and not body.endswith("\n"):
        body += "\n"
    return "".join(lines[:head]) + f"# {START}\n" + body + f"# {END}\n"


def _stages(spec: FolderSpec, defined: set[str]) -> tuple[list[StageConfig], dict[str, str]]:
    facts = spec.tr.facts
    timeout = float(facts.get("timeout") or (openevolve.DEFAULT_TIMEOUT if spec.fmt == OPENEVOLVE
                                              else shinka.DEFAULT_TIMEOUT))
    if spec.fmt == SHINKAEVOLVE:
        return [StageConfig(name="evaluate", function=STAGE_FUNCTION, timeout=timeout)], {
            "evaluate": "main"}
    cascade = [f"evaluate_stage{k}" for k in (1, 2, 3)]
    if facts.get("cascade", True) and cascade[0] in defined:
        # OpenEvolve runs stage 2 only when defined, and stage 3 only after stage 2
        names = [cascade[0]]
        if cascade[1] in defined:
            names.append(cascade[1])
            if cascade[2] in defined:
                names.append(cascade[2])
        thresholds = list(facts.get("thresholds") or [])
        stages = []
        for i in range(len(names)):
            th = thresholds[i] if i < len(thresholds) and i < len(names) - 1 else None
            stages.append(StageConfig(name=f"stage{i + 1}", function=STAGE_FUNCTION,
                                      threshold=th, timeout=timeout))
        return stages, {f"stage{i + 1}": fn for i, fn in enumerate(names)}
    if "evaluate" not in defined:
        raise ConfigError(f"{spec.evaluator}: defines no evaluate(program_path) function "
                          "(nor evaluate_stage1 for a cascade)")
    return [StageConfig(name="evaluate", function=STAGE_FUNCTION, timeout=timeout)], {
        "evaluate": "evaluate"}


def _features(spec: FolderSpec, seed: str) -> tuple[list[FeatureConfig], list[str], bool]:
    """MAP-Elites dimensions: OpenEvolve's feature_dimensions; ShinkaEvolve has none, so its
    folders get code length (a few bins around the seed's) to keep some diversity."""
    n = len(seed)
    length = FeatureConfig(name="code_length", bins=8, low=max(1.0, n * 0.5), high=n * 2.0)
    if spec.fmt == SHINKAEVOLVE:
        return [length], [], False
    dims = list(spec.tr.facts.get("feature_dimensions") or [])
    bins_cfg = spec.tr.facts.get("feature_bins", 10)
    out: list[FeatureConfig] = []
    metrics: list[str] = []
    score = False
    key = ("database", "feature_dimensions")
    for dim in dims:
        bins = int(bins_cfg.get(dim, 10)) if isinstance(bins_cfg, dict) else int(bins_cfg)
        bins = max(1, min(bins, 1000))
        if dim == "complexity":
            out.append(length.model_copy(update={"bins": bins}))
        elif dim == "diversity":
            if spec.tr.has(*key):
                spec.tr.approximate(key, "'diversity' has no codeevo feature (novelty screening "
                                         "keeps programs apart); left out")
        else:
            out.append(FeatureConfig(name=dim, bins=bins, low=0.0, high=1.0))
            if dim == "score":
                score = True
            else:
                metrics.append(dim)
            spec.tr.approximate(key, f"{dim!r}: OpenEvolve rescales feature ranges as it goes; "
                                     "codeevo bins over a fixed range, [0, 1] assumed (set "
                                     "low/high after `codeevo import`)")
    return out, metrics, score


# What the stand-ins (codeevo/compat/standins) provide: module -> the names it exports.
_PROVIDED: dict[str, set[str]] = {
    "openevolve": {"EvaluationResult", "evaluation_result"},
    "openevolve.evaluation_result": {"EvaluationResult"},
    "shinka": {"core"},
    "shinka.core": {"load_program", "run_shinka_eval", "save_json_results", "wrap_eval"},
    "shinka.core.wrap_eval": {"load_program", "run_shinka_eval", "save_json_results"},
}
STANDINS_COVER = "openevolve.evaluation_result (EvaluationResult) and shinka.core (run_shinka_eval)"


def _unprovided_imports(tree: ast.Module, filename: str) -> list[str]:
    """A note for each import of an OpenEvolve / ShinkaEvolve module or name that no stand-in
    provides (``shinka.llm``, ``openevolve.Controller``): such an evaluator fails until the
    framework itself is installed in the sandbox, and the user hears so before the run."""
    missing: dict[str, int] = {}
    for node in ast.walk(tree):
        names: list[str] = []
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name not in _PROVIDED
                     and a.name.split(".")[0] in ("openevolve", "shinka")]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            mod = node.module
            if mod.split(".")[0] not in ("openevolve", "shinka"):
                continue
            if mod not in _PROVIDED:
                names = [mod]
            else:
                names = [f"{mod}.{a.name}" for a in node.names
                         if a.name != "*" and a.name not in _PROVIDED[mod]]
        for name in names:
            missing.setdefault(name, line)
    return [f"{filename}:{line}: imports {name}, which codeevo's stand-ins do not provide (they "
            f"cover {STANDINS_COVER}); its evaluations fail unless "
            f"{'OpenEvolve' if name.startswith('openevolve') else 'ShinkaEvolve'} itself is "
            "installed where the candidate runs"
            for name, line in sorted(missing.items(), key=lambda kv: kv[1])]


def _shares_process(tree: ast.Module) -> bool:
    """Whether the evaluator loads code into its own process (so the scorer shares the
    candidate's process). Only an evaluator that starts processes and never loads code itself
    is judged separate; code in strings (a script for a subprocess) does not count."""
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called.add(func.id if isinstance(func, ast.Name) else
                       func.attr if isinstance(func, ast.Attribute) else "")
    if called & _IN_PROCESS:
        return True
    return not called & _SUBPROCESS


def _default_task(spec: FolderSpec) -> str:
    if spec.fmt == SHINKAEVOLVE:
        return shinka.DEFAULT_TASK
    return ("Improve the program so that its evaluator scores it higher (the fitness is "
            "combined_score when the evaluator reports one, else the mean of its metrics).")


# ---------------------------------------------------------------- composed evaluator tree


def shipped_files(root: Path, seed: Path) -> list[Path]:
    """The folder's files that travel to the sandbox (relative paths, sorted)."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        base = Path(dirpath)
        for fname in sorted(filenames):
            path = base / fname
            if fname.startswith(".") or path.is_symlink() or fname.endswith((".pyc", ".pyo")):
                continue
            if path == seed:
                continue  # the candidate takes its place
            out.append(path.relative_to(root))
    return out


def compose_evaluator(root: Path, seed: Path) -> Path:
    """The evaluator tree for a foreign folder (built once, content-addressed, in the cache):
    ``_codeevo_foreign.py`` (the adapter), ``standins/`` and ``files/`` (the folder)."""
    from codeevo.assets import cache_root

    members: list[tuple[str, bytes]] = [
        (f"{ADAPTER_MODULE}.py", (HERE / "sandbox_adapter.py").read_bytes())]
    standins = HERE / "standins"
    for path in sorted(standins.rglob("*.py")):
        rel = path.relative_to(standins)
        if rel.parts[0] in ("openevolve", "shinka"):
            members.append((f"standins/{rel.as_posix()}", path.read_bytes()))
    total = 0
    for rel in shipped_files(root, seed):
        data = (root / rel).read_bytes()
        total += len(data)
        if total > MAX_BYTES:
            raise ConfigError(f"{root}: more than {MAX_BYTES // 2**20} MB of files would travel "
                              "to the sandbox with every evaluation; move large data out of "
                              "the folder (or into a subfolder named results/)")
        members.append((f"files/{rel.as_posix()}", data))
    digest = hashlib.sha256()
    for name, data in members:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    target = cache_root() / "foreign" / digest.hexdigest()[:20]
    if (target / f"{ADAPTER_MODULE}.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        for name, data in members:
            dest = tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        try:
            os.rename(tmp, target)
        except OSError:  # another process built it first: theirs is identical
            if not (target / f"{ADAPTER_MODULE}.py").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
