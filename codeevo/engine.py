"""The steady-state evolution loop: select → propose → screen → evaluate → record → insert.

A freed slot starts new work at once (no generations, no barrier). Proposals and evaluations
have separate limits; `max_in_flight` bounds candidates between selection and record (1 makes a
run reproducible commit for commit). Every random choice comes from the run's seeded RNG, drawn
synchronously when a candidate is started, so concurrency never reorders draws.

This module is the loop's state machine and stays one piece (about 700 lines): what needs no
engine state lives beside it (``records`` builds what is recorded, ``budget`` says when to stop,
``schedule`` and ``replay_follow`` follow a recording, ``steering`` screens and chooses).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codeevo.budget import BudgetReached, SpendCeiling, budget_reason, spent_text
from codeevo.candidate import Candidate, EvalResult, Status, candidate_id
from codeevo.config import RunConfig
from codeevo.errors import CodeevoError, ProviderError
from codeevo.events import EventLog
from codeevo.executor.base import Evaluation, Executor
from codeevo.executor.local import LocalExecutor
from codeevo.lineage.base import LineageStore
from codeevo.lineage.index import LineageIndex, Row
from codeevo.lineage.rules import is_evaluated
from codeevo.mutation.base import (
    LearningOperator,
    Operator,
    Outcome,
    ParentView,
    Proposal,
    ProposalRequest,
)
from codeevo.mutation.screen import screen
from codeevo.population.islands import IslandModel
from codeevo.population.selection import (
    inspirations,
    select_parent,
    select_second_parent,
    top_programs,
)
from codeevo.problem import Problem
from codeevo.records import builtin_features, eval_timings, new_candidate, with_judge, with_parents
from codeevo.replay_follow import FollowRecording
from codeevo.sandbox.base import Sandbox, SandboxJob
from codeevo.sandbox.slots import resolve_eval_slots
from codeevo.schedule import (
    EXCHANGE_TRAIL,
    ExchangeTrail,
    Planned,
    ReplayPlan,
    Stamp,
    as_recorded,
)
from codeevo.stats import RunStats
from codeevo.steering import Steering

# Consecutive proposals that never reach the sandbox before the run is declared stalled.
STALL_LIMIT = 500
# How often a loop waiting on busy slots looks again at the executor's capacity (a Ray
# cluster's grows when a node joins).
CAPACITY_POLL_S = 1.0


class SeedError(CodeevoError):
    """The seed program failed; evolution has nothing to start from."""

    exit_code = 1


class SeedInfraError(CodeevoError):
    """The infrastructure could not evaluate a seed program. Nothing of it was recorded, so
    `codeevo resume` (or a new run) evaluates the seeds first."""

    exit_code = 1


@dataclass
class RunOutcome:
    reason: str
    finished: bool  # True when a budget was reached (not interrupted or failed)
    evaluations: int
    best: Candidate | None
    exit_code: int | None = None  # set when an error stopped the run (e.g. 3: providers)


@dataclass
class _Work:
    """One candidate in flight: what was drawn for it when it started."""

    island: int
    operator: Operator
    request: ProposalRequest
    rng: random.Random
    stamp: Stamp
    planned: Planned | None = None  # replaying: the recorded candidate this one redoes
    trail: ExchangeTrail = field(default_factory=ExchangeTrail)
    started: float = field(default_factory=time.monotonic)


class Engine(FollowRecording):
    """Runs one evolution; owns the population, the RNG, the counters and the budgets."""

    def __init__(
        self,
        problem: Problem,
        config: RunConfig,
        *,
        sandbox: Sandbox | None = None,
        executor: Executor | None = None,
        operators: dict[str, Operator],
        mix: dict[str, float],
        store: LineageStore,
        events: EventLog,
        assets_dir: Path | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        ceiling: SpendCeiling | None = None,
        steering: Steering | None = None,
    ) -> None:
        self.problem = problem
        self.config = config
        if executor is None:
            if sandbox is None:
                raise ValueError("the engine needs a sandbox or an executor")
            # A bare sandbox scores on this machine, engine.eval_slots at a time (`auto` =
            # usable cores, GPUs for docker-gpu: one function for engine and executors alike).
            executor = LocalExecutor(sandbox, resolve_eval_slots(
                config.engine.eval_slots, config.sandbox, getattr(sandbox, "name", None)))
        elif sandbox is not None:
            raise ValueError("give the engine a sandbox or an executor, not both")
        self.executor: Executor = executor
        self.operators = operators
        self.mix = {k: w for k, w in mix.items() if w > 0 and k in operators}
        if not self.mix:
            raise ValueError("operator mix selects none of the available operators")
        # Operators that learn from their own results (the tuner) see each of their candidates.
        self._learners = {op.name: op for op in operators.values()
                          if isinstance(op, LearningOperator)}
        self.store = store
        self.events = events
        self.assets_dir = assets_dir
        self.on_event = on_event
        # novelty screening, the (model, operator) bandit, insights: codeevo.steering
        self.steering = steering or Steering()
        self.rng = random.Random(config.seed)
        self.islands = IslandModel(config.population, problem.config.features)
        self.stats = RunStats()
        # Token and dollar budgets, reserved request by request by the LLM client
        # (codeevo.budget); without a client that reserves, spend is counted at record time.
        b = config.budget
        self.ceiling = ceiling or SpendCeiling(b.max_tokens, b.max_cost)
        self.programs: dict[str, str] = {}  # id → program, for candidates in an archive
        self.artifacts: dict[str, dict[str, str]] = {}
        self.seen_hashes: set[str] = set()
        self.seq = 0
        self.island_counter = 0
        self._consecutive_rejects = 0
        self._consecutive_infra = 0
        self._stop_reason: str | None = None
        self._error_code: int | None = None
        self._finished = False
        self._resumed = False
        self.rehomed = 0  # candidates restored onto island (i mod n): the run has fewer now
        # The schedule stamps (codeevo.schedule): this session's RNG epoch and start count.
        self._epoch: int | None = None
        self._starts = 0
        self._seq_changed = asyncio.Event()
        self.replay_plan: ReplayPlan | None = None  # set to follow a recorded run
        self._pending_after = float("inf")  # replaying: `after` of the next start due
        self._running = asyncio.Event()
        self._running.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._proposal_sem = asyncio.Semaphore(config.engine.proposal_slots)
        self._t0 = time.monotonic()
        self._evals_at_start = 0
        self.executor.on_event = self._emit  # nodes joining, jobs re-issued

    # ------------------------------------------------------------------ control

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        """Start no new candidates; those in flight finish. The `paused` event says how many
        are still in flight; a `drained` event follows when the last of them is recorded."""
        if not self.paused:
            self._running.clear()
            self._emit("paused", in_flight=self.in_flight)

    @property
    def in_flight(self) -> int:
        """Candidates started and not yet recorded (or cancelled)."""
        return sum(not task.done() for task in self._tasks)

    def _task_done(self, _: asyncio.Task[None]) -> None:
        if self.paused and self._stop_reason is None and self.in_flight == 0:
            self._emit("drained")

    def resume(self) -> None:
        if self.paused:
            self._running.set()
            self._emit("resumed")

    def stop(self, reason: str = "stopped by user", cancel: bool = True) -> None:
        """Stop the run: no new work; in-flight work is cancelled (or allowed to finish)."""
        if self._stop_reason is None:
            self._stop_reason = reason
        self._running.set()
        if cancel:
            for task in list(self._tasks):
                task.cancel()

    # ------------------------------------------------------------------ resume

    def restore(self) -> int:
        """Rebuild islands, archives, counters and hashes from the lineage, read through the
        read model (LineageIndex: next seq, program hashes); return #candidates."""
        index = LineageIndex()
        for record, sha in self.store.records():
            index.add(Row.from_record(record, sha))
            cand = Candidate.model_validate(record)
            self.stats.account(cand)
            if is_evaluated(cand.status):  # neither rejected nor an infrastructure failure
                self._insert(cand, replay=True)
            if cand.status != Status.INFRA:  # as live: steering never sees an infra result
                self.steering.restored(cand, self.stats.evaluations)
            learner = self._learners.get(cand.operator)
            if learner is not None and cand.status != Status.INFRA:
                files = self.store.files(cand.id)
                exchange = {k[len("exchange/"):]: v for k, v in files.items()
                            if k.startswith("exchange/")}
                program = self.store.program(cand.id) if cand.program_hash else ""
                learner.observe(Outcome(cand, program, exchange))
        self.seq = max(self.seq, index.next_seq)
        self.seen_hashes |= index.program_hashes
        for cand_id in self._archived_ids():
            self.programs[cand_id] = self.store.program(cand_id)
        n = len(index)
        self._resumed = n > 0
        self.ceiling.add_spent(self.stats.tokens, self.stats.cost)
        # A resumed run continues with a fresh stream derived from the seed and its length.
        self._reseed(self.seq)
        return n

    def _reseed(self, epoch: int) -> None:
        self.rng = random.Random(f"{self.config.seed}:{epoch}")
        self.island_counter = epoch
        self._epoch = epoch
        self._starts = 0

    def _archived_ids(self) -> set[str]:
        return {c.id for i in range(self.islands.num_islands) for c in self.islands.elites(i)}

    # ------------------------------------------------------------------ main loop

    async def run(self) -> RunOutcome:
        try:
            await self.executor.start()
        except BaseException:
            await self.executor.close()
            raise
        self._t0 = time.monotonic()
        self._evals_at_start = self.stats.evaluations
        self._emit(
            "started",
            problem=self.problem.name,
            seed=self.config.seed,
            resumed=self._resumed,
            candidates=self.seq,
            sandbox=self.executor.sandbox_name,
            executor=self.executor.name,
            **self.executor.usage().fields(),
            operators=self.mix,
        )
        for kind, fields in self.steering.started():
            self._emit(kind, **fields)
        try:
            if self.seq == 0:
                await self._seed_population()
            if self.replay_plan is not None:
                await self._follow(self.replay_plan)
            while self._stop_reason is None:
                await self._running.wait()
                if self._stop_reason is not None:
                    break
                reason = self._budget_reason(starting=True)
                if reason is not None:
                    if not self._tasks:
                        self._finish(reason)
                        break
                elif len(self._tasks) < self._max_in_flight():
                    if await self._steering_ready():
                        self._start_one()
                    continue
                await self._wait_some()
            await self._drain()
        except asyncio.CancelledError:
            self.stop("interrupted")
            await self._drain()
        finally:
            await self.executor.close()
        if self._stop_reason is not None and self.ceiling.active:
            self._stop_reason += f"; {self._spent_text()}"
        best = self.islands.best()
        self._emit(
            "stopped",
            reason=self._stop_reason,
            finished=self._finished,
            evaluations=self.stats.evaluations,
            best_id=best.id if best else None,
            best_score=best.score if best else None,
            **self.steering.summary(),
        )
        return RunOutcome(self._stop_reason or "done", self._finished, self.stats.evaluations,
                          best, self._error_code)

    def _spent_text(self) -> str:
        return spent_text(self.config.budget, self.ceiling, self.stats.tokens, self.stats.cost)

    @property
    def eval_slots(self) -> int:
        """Evaluation slots now (the executor's: a Ray cluster's follow its nodes)."""
        return self.executor.usage().slots

    def _max_in_flight(self) -> int:
        """Proposal slots plus the executor's evaluation slots now (a Ray cluster's follow
        its nodes)."""
        e = self.config.engine
        return e.max_in_flight or (e.proposal_slots + max(1, self.executor.usage().slots))

    def _finish(self, reason: str) -> None:
        self._finished = True
        self._stop_reason = reason

    def _budget_reason(self, starting: bool) -> str | None:
        reason = budget_reason(
            self.config.budget, self.ceiling,
            evaluations=self.stats.evaluations + (len(self._tasks) if starting else 0),
            elapsed=time.monotonic() - self._t0, tokens=self.stats.tokens, cost=self.stats.cost)
        if reason is None and self._consecutive_rejects >= STALL_LIMIT:
            return f"stalled: {STALL_LIMIT} proposals in a row never reached the sandbox"
        return reason

    def _wall_spent(self) -> bool:
        limit = self.config.budget.max_wall_seconds
        return limit is not None and time.monotonic() - self._t0 >= limit

    async def _wait_some(self) -> None:
        if not self._tasks:
            await asyncio.sleep(0)
            return
        timeout = CAPACITY_POLL_S
        b = self.config.budget
        if b.max_wall_seconds is not None:
            left = max(0.0, b.max_wall_seconds - (time.monotonic() - self._t0)) + 0.01
            timeout = min(timeout, left)
        done, _ = await asyncio.wait(self._tasks, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if not done and self._wall_spent():
            self._finish(f"wall-time budget reached ({b.max_wall_seconds:g} s)")
            for task in list(self._tasks):
                task.cancel()
        for task in done:
            self._reap(task)

    def _reap(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, ProviderError):
            self._error_code = self._error_code or exc.exit_code
            self.stop(f"LLM providers failing: {exc}", cancel=True)
        elif exc is not None:
            self.stop(f"internal error: {type(exc).__name__}: {exc}", cancel=True)
            raise exc

    async def _drain(self) -> None:
        while self._tasks:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._tasks.discard(task)
                if not task.cancelled() and task.exception() is not None:
                    exc = task.exception()
                    if self._stop_reason is None:
                        self._stop_reason = f"internal error: {exc}"

    # ------------------------------------------------------------------ seeding

    async def _seed_population(self) -> None:
        """Evaluate the seed program (and baselines if asked); they enter every island."""
        programs = [("seed", "seed", self.problem.seed_program)]
        if self.config.population.seed_baselines:
            programs += [
                ("baseline", name, text) for name, text in self.problem.baseline_programs().items()
            ]
        first: EvalResult | None = None
        for operator, label, program in programs:
            t0 = time.monotonic()
            done = await self._evaluate(program, f"{label}")
            result = done.result
            first = first or result
            if result.status == Status.INFRA:
                raise SeedInfraError(f"the {label} program could not be evaluated: "
                                     f"{result.reason}")
            cand = new_candidate(
                Proposal(program=program, operator=operator), 0, result,
                entry=self.problem.entry_name, executor=self.executor.name, where=done,
            )
            cand.extra["label"] = label
            cand.timings = {"eval": round(result.elapsed, 4), **eval_timings(result),
                            "total": round(time.monotonic() - t0, 4)}
            await self._record(cand, program, result, Proposal(program=program, operator=operator),
                               node=done.node)
        if self.islands.best() is None:
            seed = self.store.commit_of(candidate_id(0))
            why = ""
            if first is not None:
                why = f": {first.status.value} at stage {first.stage}"
                if first.reason:
                    why += f" ({first.reason.strip().splitlines()[-1][:300]})"
            raise SeedError(
                f"the seed program did not evaluate successfully (candidate {candidate_id(0)}, "
                f"commit {seed[:10]}){why}; see `codeevo best` / the lineage for its artifacts"
            )

    # ------------------------------------------------------------------ one candidate

    def _start_one(self, planned: Planned | None = None) -> None:
        stamp = Stamp(self._epoch, self._starts, self.seq)
        self._starts += 1
        island = self.island_counter % self.islands.num_islands
        self.island_counter += 1
        rng = self.rng
        model: str | None = None
        bandit = self.steering.bandit is not None
        if not bandit:
            name = rng.choices(list(self.mix), weights=list(self.mix.values()))[0]
        archive = self.islands.archive(island)
        pcfg = self.config.population
        parent = select_parent(archive, rng, pcfg)
        others = self.islands.other_archives(island)
        second = select_second_parent(archive, rng, parent.id, fallback=others)
        if bandit:  # the bandit picks (operator, model); two-parent operators need a 2nd parent
            pairs = {k for k in self.mix if self.operators[k].needs_two_parents}
            name, model = self.steering.choose(rng, pairs if second is None else set())
        elif second is None and self.operators[name].needs_two_parents:
            single = {k: w for k, w in self.mix.items()
                      if not self.operators[k].needs_two_parents}
            if single:
                name = rng.choices(list(single), weights=list(single.values()))[0]
        excl = {parent.id} | ({second.id} if second else set())
        insp = inspirations(archive, rng, pcfg.num_inspirations, excl, fallback=others)
        top = top_programs(archive, pcfg.num_top_programs)
        request = ProposalRequest(
            problem=self.problem,
            parent=self._view(parent),
            second_parent=self._view(second) if second else None,
            top_programs=tuple(self._view(c) for c in top),
            inspirations=tuple(self._view(c) for c in insp),
            island=island,
            model=model,
            insights=self.steering.insights_text(),
        )
        work = _Work(island, self.operators[name], request, random.Random(rng.getrandbits(64)),
                     stamp, planned)
        if planned is not None:
            work.trail.replay = deque(planned.llm_keys)
        task = asyncio.create_task(self._pipeline(work))
        task.add_done_callback(self._task_done)
        self._tasks.add(task)

    def _view(self, cand: Candidate) -> ParentView:
        return ParentView(cand, self.programs[cand.id], self.artifacts.get(cand.id, {}))

    async def _pipeline(self, work: _Work) -> None:
        t0 = time.monotonic()
        EXCHANGE_TRAIL.set(work.trail)  # this task's own context: the client notes its keys
        try:
            if work.operator.self_limited:  # the LLM client holds the slots
                proposal = await work.operator.propose(work.request, work.rng)
            else:
                async with self._proposal_sem:
                    proposal = await work.operator.propose(work.request, work.rng)
        except BudgetReached:
            return  # nothing was spent on it; _budget_reason now stops new work
        t_prop = time.monotonic() - t0
        parents = proposal.parents or (work.request.parent.candidate.id,)
        proposal = with_parents(proposal, parents)
        self._emit("proposed", operator=proposal.operator, model=proposal.model,
                   parents=list(parents), island=work.island, ok=proposal.program is not None)
        program = proposal.program
        if program is None:
            result = EvalResult(status=Status.REJECTED, stage=proposal.stage,
                                reason=proposal.error or "operator returned no program")
            return await self._finish_candidate(work, proposal, "", result, t0, t_prop, 0.0)
        verdict = screen(work.request.parent.program, program, self.seen_hashes)
        if work.planned is not None:  # replaying: a duplicate is what the recording says
            verdict = as_recorded(verdict, work.planned)
        if not verdict.ok:
            result = EvalResult(status=Status.REJECTED, stage=verdict.stage, reason=verdict.reason)
            self._emit("screened", ok=False, stage=verdict.stage, reason=verdict.reason)
            return await self._finish_candidate(work, proposal, program, result, t0, t_prop, 0.0)
        self.seen_hashes.add(verdict.program_hash)
        novel = await self.steering.screen(work.island, program, verdict.program_hash,
                                           self._archive_programs(work.island), work.rng)
        if novel is not None:
            proposal = with_judge(proposal, novel)
            if not novel.ok:
                result = EvalResult(status=Status.REJECTED, stage="novelty", reason=novel.reason)
                self._emit("screened", ok=False, stage="novelty", reason=novel.reason,
                           similarity=round(novel.similarity, 4), nearest=novel.nearest)
                await self._finish_candidate(work, proposal, program, result, t0, t_prop, 0.0)
                return await self._after_record()
        t1 = time.monotonic()
        done = await self._evaluate(program, "candidate")
        if done.result.status == Status.INFRA:
            self.seen_hashes.discard(verdict.program_hash)  # not scored: it may come again
        t_queue = done.queued  # waiting for an eval slot (the executor's)
        await self._finish_candidate(work, proposal, program, done.result, t0, t_prop,
                                     time.monotonic() - t1 - t_queue, t_queue, where=done)
        await self._after_record()

    def _archive_programs(self, island: int) -> dict[str, tuple[str, str]]:
        return {c.id: (c.program_hash, self.programs[c.id])
                for c in self.islands.elites(island) if c.id in self.programs}

    async def _after_record(self) -> None:
        for kind, fields in await self.steering.after_record(self.stats.evaluations):
            self._emit(kind, **fields)

    async def _steering_ready(self) -> bool:
        """No candidate starts while an insight summary is due or being written, so every
        candidate started after the summary's evaluation sees the new version: the same live
        and in a replay, whatever the concurrency. False when the run stops meanwhile."""
        while not self.steering.ready() and self._stop_reason is None:
            if self._tasks:
                await self._wait_some()
            else:  # due with nothing in flight (a resumed run): write it now
                await self._after_record()
                if not self.steering.ready():
                    break
        return self._stop_reason is None

    async def _evaluate(self, program: str, label: str) -> Evaluation:
        job = SandboxJob(
            program=program,
            entry=self.problem.entry_name,
            evaluator_dir=self.problem.evaluator_dir,
            evaluator_module=self.problem.config.evaluator.module,
            stages=tuple(self.problem.config.stages),
            evaluator_config=self.problem.config.evaluator.config,
            assets_dir=self.assets_dir,
            candidate_id=label,
            warm_imports=tuple(self.problem.config.warm_imports),
        )
        done = await self.executor.evaluate(job)
        result = done.result
        if result.status == Status.OK:
            feats = builtin_features(program)
            feats.update(result.features)
            result = result.model_copy(update={"features": feats})
            done = replace(done, result=result)
        return done

    async def _finish_candidate(
        self, work: _Work, proposal: Proposal, program: str, result: EvalResult,
        t0: float, t_prop: float, t_eval: float, t_queue: float = 0.0,
        where: Evaluation | None = None,
    ) -> None:
        cand = new_candidate(proposal, work.island, result, entry=self.problem.entry_name,
                             executor=self.executor.name, where=where)
        # queue: waiting for an eval slot; eval: in the sandbox, split by _eval_timings into
        # startup (a runner started for it), setup (evaluator import + setup) and score.
        cand.timings = {"propose": round(t_prop, 4), "queue": round(t_queue, 4),
                        "eval": round(t_eval, 4), **eval_timings(result),
                        "total": round(time.monotonic() - t0, 4)}
        cand.extra["sched"] = work.stamp.as_json()
        if work.trail.keys:
            cand.extra["llm_keys"] = list(work.trail.keys)
        if work.planned is not None:  # replaying: record in the recorded order, and only
            # once every start that came before this record in the recording has happened
            while self._stop_reason is None and (self.seq < work.planned.seq
                                                 or self._pending_after <= self.seq):
                await self._seq_changed.wait()
        await self._record(cand, program, result, proposal,
                           node=where.node if where is not None else None)

    async def _record(
        self, cand: Candidate, program: str, result: EvalResult, proposal: Proposal,
        node: str | None = None,
    ) -> None:
        """Assign the id, insert into the archive, write the commit, emit events.

        All of it runs on the event loop with no await in between: commits land in seq order, a
        parent's commit always precedes its children's, and a cancellation can never split a
        candidate's record from its events. The git write is a handful of small files (about a
        millisecond); a writer thread measured slower overall, its GIL hand-offs costing the
        driver more CPU than the blocking they saved (benchmarks/throughput.py).
        """
        cand.seq = self.seq
        cand.id = candidate_id(self.seq)
        self.seq += 1
        if cand.program_hash and cand.status != Status.INFRA:
            self.seen_hashes.add(cand.program_hash)
        self.stats.account(cand)
        inserted, cell = self._insert(cand, replay=False, program=program, result=result)
        cand.inserted = inserted
        cand.cell = list(cell) if cell is not None else None
        files = {f"exchange/{k}": v for k, v in proposal.exchange.items()}
        files.update({f"artifacts/{k}": v for k, v in result.artifacts.items()})
        if cand.status == Status.REJECTED:
            self._consecutive_rejects += 1
        else:
            self._consecutive_rejects = 0
        commit = self.store.record(cand, program, files)
        learner = self._learners.get(cand.operator)
        if learner is not None and cand.status != Status.INFRA:  # not the candidate's doing
            learner.observe(Outcome(cand, program, dict(proposal.exchange)))
        self._recorded(cand, inserted, commit, node)
        if cand.status != Status.INFRA:  # not the candidate's doing: nothing to learn from
            for kind, fields in self.steering.recorded(cand, self.stats.evaluations):
                self._emit(kind, **fields)
        self._progressed()
        self._infra_check(result)

    def _progressed(self) -> None:
        """Wake what waits for a record or a start (a replay following its recording)."""
        self._seq_changed.set()
        self._seq_changed = asyncio.Event()

    def _recorded(self, cand: Candidate, inserted: bool, commit: str, node: str | None) -> None:
        best = self.islands.best()
        self._emit(
            "evaluated",
            id=cand.id, seq=cand.seq, parents=cand.parents, operator=cand.operator,
            model=cand.model, cost=cand.cost, tokens=cand.tokens,
            island=cand.island, status=cand.status.value, stage=cand.stage, reason=cand.reason,
            score=cand.score, cell=cand.cell, inserted=inserted, commit=commit,
            timings=cand.timings, node=node,
        )
        if inserted:
            self._emit("inserted", id=cand.id, island=cand.island, cell=cand.cell,
                       score=cand.score)
        self._emit("progress", **self.stats.progress(
            best, time.monotonic() - self._t0, self.config.budget, self.seq,
            self.stats.evaluations - self._evals_at_start), **self.executor.usage().fields())

    def _infra_check(self, result: EvalResult) -> None:
        """Stop the run when the infrastructure keeps failing (`codeevo resume` continues)."""
        if result.status != Status.INFRA:
            if result.status != Status.REJECTED:
                self._consecutive_infra = 0
            return
        self._consecutive_infra += 1
        limit = self.config.executor.max_consecutive_infra
        if self._consecutive_infra >= limit:
            self.stop(f"evaluation infrastructure failing: {limit} jobs in a row could not "
                      f"be evaluated (last: {result.reason})", cancel=True)

    def _insert(
        self, cand: Candidate, replay: bool, program: str | None = None,
        result: EvalResult | None = None,
    ) -> tuple[bool, tuple[int, ...] | None]:
        """Archive insertion + migration, identical live and on replay (resume).
        Call after `self.stats.account(cand)` so the evaluation count includes `cand`."""
        inserted_any = False
        cell: tuple[int, ...] | None = None
        founder = cand.operator in ("seed", "baseline")
        if cand.status == Status.INFRA:
            return False, None  # never scored: neither inserted nor a step towards migration
        if cand.ok:
            home = cand.island
            if replay and home >= self.islands.num_islands:
                # A resume with fewer islands: the candidate joins island (i mod n).
                home %= self.islands.num_islands
                self.rehomed += 1
            targets = range(self.islands.num_islands) if founder else [home]
            for island in targets:
                ok, c = self.islands.add(cand, island=island)
                inserted_any = inserted_any or ok
                cell = cell if cell is not None else c
            if inserted_any and not replay and program is not None:
                self.programs[cand.id] = program
                if result is not None:
                    self.artifacts[cand.id] = dict(result.artifacts)
        if is_evaluated(cand.status) and not founder:
            for mig in self.islands.maybe_migrate(self.stats.evaluations):
                if not replay:
                    self._emit("migrated", id=mig.candidate_id, source=mig.source,
                               dest=mig.dest, accepted=mig.accepted)
        return inserted_any, cell

    def _emit(self, kind: str, **fields: Any) -> None:
        event = self.events.emit(kind, **fields)
        if self.on_event is not None:
            self.on_event(event)


