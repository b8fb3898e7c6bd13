"""Load and validate a problem folder (problem.yaml + seed program + prompt + evaluator)."""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from codeevo.config import ProblemConfig, RunConfig, deep_merge, load_yaml, validation_error
from codeevo.errors import ConfigError
from codeevo.mutation.blocks import BlockError, split

BUILTIN_FEATURES = ("code_length", "code_lines")
SHARED_PROCESS = (
    "{who}: it imports the candidate into its own process, so the scorer shares the "
    "candidate's process (a hostile program could change its own score). Both run in the "
    "sandbox's confined child process, never in codeevo's runner; use --sandbox docker for "
    "programs you do not trust.")


@dataclass(frozen=True)
class ForeignOrigin:
    """Where a problem translated from another framework's folder came from (codeevo.compat).

    `warnings` lists every setting of the foreign config that has no codeevo meaning (or only an
    approximate one), one ``file:line: key: why`` line each. `shared_process` is True when the
    foreign evaluator imports the candidate into its own process: the scorer then shares the
    candidate's process, so a hostile candidate could change its own score.
    """

    format: str  # "openevolve" | "shinkaevolve"
    source: Path
    config_file: Path | None = None
    warnings: tuple[str, ...] = ()
    shared_process: bool = False
    whole_file: bool = False  # the seed had no EVOLVE-BLOCK markers: the whole file evolves
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return {"openevolve": "OpenEvolve", "shinkaevolve": "ShinkaEvolve"}.get(
            self.format, self.format)

    def shared_process_notice(self) -> str | None:
        if not self.shared_process:
            return None
        return SHARED_PROCESS.format(who=f"{self.label} evaluator")

    def warning_block(self) -> str | None:
        """One block listing every foreign setting left out or approximated (None: none)."""
        if not self.warnings:
            return None
        where = self.config_file.name if self.config_file else self.source.name
        head = (f"{len(self.warnings)} {self.label} setting(s) in {where} have no codeevo "
                "meaning or only an approximate one:")
        return "\n".join([head, *(f"  {w}" for w in self.warnings)])

    def notices(self) -> list[str]:
        """Lines to show when a run or an evaluation starts."""
        out = [f"{self.label} folder {self.source}: translated to a codeevo problem"
               + (" (seed without EVOLVE-BLOCK markers: the whole file evolves)"
                  if self.whole_file else "")]
        out += list(self.notes)
        block = self.warning_block()
        if block:
            out.append(block)
        shared = self.shared_process_notice()
        if shared:
            out.append(shared)
        return out

    def metadata(self) -> dict[str, object]:
        """What run.json records about the origin."""
        return {"format": self.format, "source": str(self.source),
                "config_file": str(self.config_file) if self.config_file else None,
                "shared_process": self.shared_process,
                "shared_process_notice": self.shared_process_notice(),
                "whole_file": self.whole_file, "untranslated": list(self.warnings)}


@dataclass(frozen=True)
class Problem:
    """A validated problem: its config, the seed program, the prompt and the evaluator folder."""

    root: Path
    config: ProblemConfig
    seed_program: str
    prompt: str
    evaluator_dir: Path
    templates: dict[str, str] = field(default_factory=dict)
    origin: ForeignOrigin | None = None  # set for an OpenEvolve / ShinkaEvolve folder

    @property
    def foreign(self) -> bool:
        return self.origin is not None

    def for_run(self, config: RunConfig) -> Problem:
        """The problem as a run with `config` sees it: the run's ``evaluator.config`` deep-merged
        into the problem's (``--set evaluator.config.KEY=VALUE``)."""
        extra = config.evaluator.config
        if not extra:
            return self
        evaluator = self.config.evaluator.model_copy(
            update={"config": deep_merge(self.config.evaluator.config, extra)})
        return replace(self, config=self.config.model_copy(update={"evaluator": evaluator}))

    def notices(self) -> list[str]:
        """Lines a run or an evaluation shows at start: where a translated folder came from,
        what did not translate, and whether the scorer shares the candidate's process."""
        if self.origin is not None:
            return self.origin.notices()
        if self.config.evaluator.shares_candidate_process:
            return [SHARED_PROCESS.format(who=f"{self.name}'s evaluator")]
        return []

    def metadata(self) -> dict[str, object]:
        """What run.json records about the problem beyond its folder."""
        if self.origin is not None:
            return {"foreign": self.origin.metadata()}
        if self.config.evaluator.shares_candidate_process:
            return {"shared_process": True,
                    "shared_process_notice": SHARED_PROCESS.format(
                        who=f"{self.name}'s evaluator")}
        return {}

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def entry_name(self) -> str:
        return Path(self.config.entry).name

    def missing_modules(self) -> list[str]:
        """The modules of `requires` that this interpreter cannot import."""
        out = []
        for name in self.config.requires:
            try:
                found = importlib.util.find_spec(name) is not None
            except (ImportError, ValueError):  # a parent package missing, or a blocked import
                found = False
            if not found:
                out.append(name)
        return out

    def check_requirements(self) -> None:
        """Raise ConfigError (exit 2) in one line when a required module is not installed."""
        missing = self.missing_modules()
        if not missing:
            return
        extra = self.config.extra
        how = (f"pip install 'codeevo[{extra}]'" if extra
               else f"pip install {' '.join(missing)}")
        raise ConfigError(f"problem {self.name} needs {', '.join(missing)}, not installed "
                          f"here: {how}")

    def baseline_programs(self) -> dict[str, str]:
        """name → program text for each baseline listed in problem.yaml."""
        out: dict[str, str] = {}
        for rel in self.config.baselines:
            path = self.root / rel
            out[path.stem] = path.read_text()
        return out


def find_problems(*roots: Path) -> list[Path]:
    """Problem folders under the given roots, sorted by path: those holding problem.yaml, and
    OpenEvolve / ShinkaEvolve folders (codeevo.compat translates them)."""
    from codeevo.compat.detect import detect_format

    found: set[Path] = set()
    for root in roots:
        if (root / "problem.yaml").is_file() or detect_format(root) is not None:
            found.add(root.resolve())
        elif root.is_dir():
            for p in root.iterdir():
                if p.is_dir() and ((p / "problem.yaml").is_file()
                                   or detect_format(p) is not None):
                    found.add(p.resolve())
    return sorted(found)


def load_problem(path: str | Path, config_file: Path | None = None) -> Problem:
    """Load a problem folder; every error names the file (and line) at fault. An OpenEvolve or
    ShinkaEvolve folder is translated (codeevo.compat); `config_file` then names its config
    (default: the folder's own config.yaml / shinka.yaml)."""
    root = Path(path)
    if root.is_file() and root.name == "problem.yaml":
        root = root.parent
    spec = root / "problem.yaml"
    if not root.is_dir():
        raise ConfigError(f"{root}: problem folder not found")
    if not spec.is_file():
        from codeevo.compat import load_foreign
        from codeevo.compat.detect import detect_format

        if detect_format(root) is not None:
            return load_foreign(root, config_file)
        raise ConfigError(
            f"{spec}: missing (a problem folder needs problem.yaml; an OpenEvolve folder "
            "needs initial_program.py + evaluator.py, a ShinkaEvolve folder initial.py + "
            "evaluate.py)")
    data, lines = load_yaml(spec)
    if not isinstance(data, dict):
        raise ConfigError(f"{spec}:1: expected a mapping")
    try:
        cfg = ProblemConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, str(spec), lines) from exc

    def _line(*key: str) -> str:
        line = lines.get(key)
        return f"{spec}:{line}" if line else str(spec)

    names = [s.name for s in cfg.stages]
    if len(set(names)) != len(names):
        raise ConfigError(f"{_line('stages')}: stages: stage names must be unique")

    entry = root / cfg.entry
    if not entry.is_file():
        raise ConfigError(f"{_line('entry')}: entry: seed program {entry} not found")
    seed = entry.read_text()
    try:
        split(seed)
    except BlockError as exc:
        raise ConfigError(f"{entry}: {exc}") from exc
    try:
        ast.parse(seed, filename=str(entry))
    except SyntaxError as exc:
        raise ConfigError(f"{entry}:{exc.lineno}: seed program does not parse: {exc.msg}") from exc

    prompt_path = root / cfg.prompt
    if not prompt_path.is_file():
        raise ConfigError(f"{_line('prompt')}: prompt: {prompt_path} not found")

    ev_rel = cfg.evaluator.path or f"../../evaluators/{cfg.name}"
    ev_dir = (root / ev_rel).resolve()
    if not ev_dir.is_dir():
        raise ConfigError(f"{_line('evaluator')}: evaluator: folder {ev_dir} not found")
    module = ev_dir / f"{cfg.evaluator.module}.py"
    if not module.is_file():
        raise ConfigError(f"{_line('evaluator')}: evaluator.module: {module} not found")
    _check_stage_functions(module, cfg, _line("stages"))

    for i, rel in enumerate(cfg.baselines):
        if not (root / rel).is_file():
            where = _line("baselines", str(i))
            raise ConfigError(f"{where}: baselines.{i}: {root / rel} not found")

    templates = {p.stem: p.read_text() for p in sorted((root / "templates").glob("*.md"))}
    return Problem(root.resolve(), cfg, seed, prompt_path.read_text(), ev_dir, templates)


def _check_stage_functions(module: Path, cfg: ProblemConfig, where: str) -> None:
    """Each stage's function must be defined at the evaluator module's top level."""
    try:
        tree = ast.parse(module.read_text(), filename=str(module))
    except SyntaxError as exc:
        raise ConfigError(f"{module}:{exc.lineno}: evaluator does not parse: {exc.msg}") from exc
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    defined |= {
        t.id
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    defined |= {
        (a.asname or a.name).split(".")[0]
        for n in tree.body
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    for stage in cfg.stages:
        if stage.function not in defined:
            raise ConfigError(
                f"{where}: stage {stage.name!r}: function {stage.function!r} "
                f"is not defined in {module}"
            )
