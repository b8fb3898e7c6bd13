"""The tuning operator (`tune`): CMA-ES over the numeric literals of an elite's EVOLVE-BLOCKs.

Models are good at structure and poor at constants; AST nudges move one constant a few percent
at a time. This operator reads the elite's tunable literals as a vector (`literals.py`: ints
stay ints, guards and fixed constants are left alone) and asks a CMA-ES optimiser (the `cmaes`
package; CMA-ES with margin, so int literals are searched as integers) for the next point. Each
suggestion is one candidate whose only parent is the elite.

Search spaces: programs that differ only in their tunable values share a *skeleton*; one
optimiser runs per skeleton, started at the first elite seen with it. Coordinates are the
literal divided by its starting magnitude (1 for a zero), so one step size fits knobs of every
scale; a literal keeps its sign (0 is allowed). A run that stops making progress (CMA-ES's own
termination tests) restarts at the best point found with the initial step size.

State survives resume: every proposal stores, in its commit's ``exchange/tune.json``, the space
it came from (skeleton, starting values, restart number) and the raw point it asked for. The
engine replays the run's `tune` candidates through `observe` in seq order, which tells the
optimiser exactly what it was told live, so the rebuilt mean, step size and covariance equal
the ones before the interruption. Results are told in batches of the population size, in the
order they are recorded; failures rank below every success.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from codeevo.candidate import Status
from codeevo.config import OperatorConfig
from codeevo.mutation.base import Outcome, Proposal, ProposalRequest
from codeevo.mutation.blocks import BlockError
from codeevo.mutation.literals import LiteralVector, format_number, read_literals

TUNE_FILE = "tune.json"
_ATTEMPTS = 8  # samples tried before giving up on one that makes a new program
_MAX_SPACES = 64  # optimisers kept (least recently used dropped)


@dataclass(frozen=True)
class SpaceSpec:
    """What defines one optimiser run: the skeleton, its starting point and settings."""

    key: str
    origin: tuple[float, ...]
    ints: tuple[bool, ...]
    sigma: float
    popsize: int | None
    restart: int = 0
    start: tuple[float, ...] | None = None  # raw starting mean of a restart (else the origin)

    def as_json(self) -> dict[str, Any]:
        return {"space": self.key, "origin": list(self.origin), "ints": list(self.ints),
                "sigma0": self.sigma, "popsize": self.popsize, "restart": self.restart,
                "start": None if self.start is None else list(self.start)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpaceSpec:
        start = data.get("start")
        return cls(str(data["space"]), tuple(float(v) for v in data["origin"]),
                   tuple(bool(v) for v in data["ints"]), float(data["sigma0"]),
                   None if data.get("popsize") is None else int(data["popsize"]),
                   int(data.get("restart", 0)),
                   None if start is None else tuple(float(v) for v in start))


class TuneSpace:
    """One CMA-ES run over a skeleton's literals (in scaled coordinates)."""

    def __init__(self, spec: SpaceSpec) -> None:
        import numpy as np
        from cmaes import CMAwM

        self.spec = spec
        n = len(spec.origin)
        self.scales = np.array([max(abs(v), 1.0) if i else (abs(v) or 1.0)
                                for v, i in zip(spec.origin, spec.ints, strict=True)])
        bounds = np.zeros((n, 2))
        steps = np.zeros(n)
        for d, (v, is_int) in enumerate(zip(spec.origin, spec.ints, strict=True)):
            if is_int:
                lo, hi = _int_range(int(v))
                bounds[d] = (lo / self.scales[d], hi / self.scales[d])
                steps[d] = 1.0 / self.scales[d]
            else:
                bounds[d] = (-np.inf, 0.0) if v < 0 else (0.0, np.inf)
        mean = np.array(spec.start if spec.start is not None else spec.origin) / self.scales
        mean = np.clip(mean, bounds[:, 0], bounds[:, 1])
        # Population size: the CMA-ES default 4 + 3 ln n, at least 6 so small spaces still
        # average out the evaluation noise a little.
        popsize = spec.popsize or max(6, 4 + int(3 * np.log(max(n, 1))))
        self.opt = CMAwM(mean=mean, sigma=spec.sigma, bounds=bounds, steps=steps,
                         population_size=popsize, seed=0)
        self.batch: list[tuple[Any, float | None]] = []
        self.best: tuple[float, tuple[float, ...]] | None = None  # (value, raw x)
        self.seen: set[str] = set()  # hashes of programs proposed or observed in this space

    def ask(self, rng: random.Random) -> tuple[list[float], list[float]]:
        """(raw point to tell later, literal values to write)."""
        self.opt.reseed_rng(rng.getrandbits(32))
        encoded, raw = self.opt.ask()
        values = [float(x * s) for x, s in zip(encoded, self.scales, strict=True)]
        values = [float(round(v)) if i else v for v, i in zip(values, self.spec.ints,
                                                                strict=True)]
        return [float(x) for x in raw], values

    def tell(self, raw: list[float], value: float | None) -> bool:
        """Add one result; returns True when the optimiser should restart."""
        import numpy as np

        x = np.array(raw)
        if value is not None and (self.best is None or value < self.best[0]):
            self.best = (value, tuple(raw))
        self.batch.append((x, value))
        if len(self.batch) < self.opt.population_size:
            return False
        finite = [v for _, v in self.batch if v is not None]
        worst = max(finite) if finite else 0.0
        # Failures rank below every success (CMA-ES only uses the ranking).
        told = [(x, v if v is not None else worst + 1.0 + i)
                for i, (x, v) in enumerate(self.batch)]
        self.batch = []
        self.opt.tell(told)
        return bool(self.opt._cma.should_stop())

    @property
    def generation(self) -> int:
        return int(self.opt.generation)

    @property
    def sigma(self) -> float:
        return float(self.opt._cma._sigma)


def _int_range(v: int) -> tuple[int, int]:
    """Where an int literal may go: it keeps its sign (a positive count stays >= 1)."""
    span = max(4, 2 * abs(v))
    if v < 0:
        return v - span, -1 if v <= -1 else 0
    return (1 if v >= 1 else 0), v + span


def _hash(program: str) -> str:
    return hashlib.sha256(program.encode()).hexdigest()


class TuneOperator:
    """Offline operator `tune`: CMA-ES suggestions for an elite's numeric literals.

    `operators.tune_sigma` is the initial step size (relative to each literal's magnitude),
    `operators.tune_population` the CMA-ES population (default 4 + 3 ln n, at least 6)."""

    name = "tune"

    def __init__(self, config: OperatorConfig | None = None) -> None:
        self.config = config or OperatorConfig()
        self._spaces: OrderedDict[str, TuneSpace] = OrderedDict()

    # ------------------------------------------------------------------ proposing

    async def propose(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        return self.propose_sync(request, rng)

    def propose_sync(self, request: ProposalRequest, rng: random.Random) -> Proposal:
        """The same as `propose`, for callers outside an event loop (it never awaits)."""
        parent = request.parent
        primary = (parent.candidate.id,)
        try:
            vec = read_literals(parent.program, request.problem.config.fixed_constants)
        except BlockError as exc:
            return Proposal(None, self.name, parents=primary, error=f"parent program: {exc}")
        except SyntaxError as exc:
            return Proposal(None, self.name, parents=primary,
                            error=f"parent program does not parse: {exc}")
        if not vec.literals:
            return Proposal(None, self.name, parents=primary,
                            error="no tunable numeric literal inside the EVOLVE-BLOCKs")
        space = self._space_for(vec)
        space.seen.add(_hash(parent.program))
        for _ in range(_ATTEMPTS):
            raw, values = space.ask(rng)
            child = vec.with_values(values)
            if _hash(child) not in space.seen:
                space.seen.add(_hash(child))
                record = {**space.spec.as_json(), "x": raw,
                          "generation": space.generation, "sigma": space.sigma}
                return Proposal(child, self.name, parents=primary, exchange={
                    TUNE_FILE: json.dumps(record) + "\n",
                    "mutation.txt": _notes(vec, values, space) + "\n",
                })
        return Proposal(None, self.name, parents=primary,
                        error=f"CMA-ES repeated known programs {_ATTEMPTS} times "
                        "(the search space has converged)")

    def _space_for(self, vec: LiteralVector) -> TuneSpace:
        key = vec.skeleton
        space = self._spaces.get(key)
        if space is None:
            spec = SpaceSpec(key, tuple(float(v) for v in vec.values),
                             tuple(lit.is_int for lit in vec.literals),
                             self.config.tune_sigma, self.config.tune_population)
            space = self._add(TuneSpace(spec))
        self._spaces.move_to_end(key)
        return space

    def _add(self, space: TuneSpace) -> TuneSpace:
        self._spaces[space.spec.key] = space
        while len(self._spaces) > _MAX_SPACES:
            self._spaces.popitem(last=False)
        return space

    # ------------------------------------------------------------------ learning

    def observe(self, outcome: Outcome) -> None:
        """Tell the optimiser the result of one of this operator's proposals."""
        text = outcome.exchange.get(TUNE_FILE)
        cand = outcome.candidate
        if not text or cand.status == Status.REJECTED:
            return  # never evaluated (a duplicate): nothing to learn
        try:
            record = json.loads(text)
            spec = SpaceSpec.from_json(record)
            raw = [float(v) for v in record["x"]]
        except (ValueError, KeyError, TypeError):
            return  # not a record of ours (hand-edited lineage): ignore it
        space = self._spaces.get(spec.key)
        if space is None or spec.restart > space.spec.restart:
            space = self._add(TuneSpace(spec))  # resume: rebuilt exactly as it started
        elif spec.restart < space.spec.restart or len(raw) != len(space.spec.origin):
            return  # asked before a restart: that run is over
        if outcome.program:
            space.seen.add(_hash(outcome.program))
        value = -cand.score if cand.ok and cand.score is not None else None
        if space.tell(raw, value) and space.best is not None:
            restart = SpaceSpec(spec.key, space.spec.origin, space.spec.ints, space.spec.sigma,
                                space.spec.popsize, space.spec.restart + 1, space.best[1])
            fresh = self._add(TuneSpace(restart))
            fresh.seen = space.seen
            fresh.best = space.best

    def space_state(self, key: str) -> dict[str, Any] | None:
        """The optimiser's state for a skeleton (tests and inspection)."""
        space = self._spaces.get(key)
        if space is None:
            return None
        cma = space.opt._cma
        return {"restart": space.spec.restart, "generation": space.generation,
                "mean": cma._mean.tolist(), "sigma": float(cma._sigma), "C": cma._C.tolist(),
                "pending": len(space.batch),
                "best": None if space.best is None else space.best[0]}


def _notes(vec: LiteralVector, values: list[float], space: TuneSpace) -> str:
    changed = [f"{lit.name} {format_number(lit.value, lit.is_int)} -> "
               f"{format_number(v, lit.is_int)}"
               for lit, v in zip(vec.literals, values, strict=True)
               if format_number(lit.value, lit.is_int) != format_number(v, lit.is_int)]
    head = (f"tune: CMA-ES generation {space.generation}, step {space.sigma:.3g}, "
            f"restart {space.spec.restart}, {len(vec.literals)} literals")
    return head + "\n" + "\n".join(changed)
