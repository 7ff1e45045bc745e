"""Solving the base and the variants of a scenario, in parallel, and comparing them.

The base is prepared and solved first, in the calling process: every variant starts
from its prepared arrays (see `scenarios.incremental`) and is compared with its result.
The variants then run on any `concurrent.futures.Executor`:

* none given, `workers=1`: one after the other in this process;
* none given, `workers=N`: a local process pool that receives the base once per worker
  (through the pool's initializer) rather than once per variant;
* a Dask `distributed.Client`'s executor (`client.get_executor()`): the base is scattered
  to every worker once and each variant is one task;
* any other executor (say, the service's): the base travels with each task.

Every path runs the same function on the same inputs, so results are equal whatever ran
them (the tests check it on a Dask `LocalCluster`).

A run told to stop (`stop`, as `matching.stop`: a planner cancelled it) raises
`Stopped` within a fraction of a second, with no comparison: the solve in this process
stops mid-search, variants not yet started are cancelled, and those running in the
local pool's processes stop too (they watch an event the pool shares). Variants
already running on another executor (Dask) cannot be reached: they finish there and
their results are dropped.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from volmatch.matching import Prepared, prepare
from volmatch.matching.lifecycle import apply_outcomes, with_outcome_kpis
from volmatch.matching.solve import solve_prepared as solve_prepared_core
from volmatch.matching.stop import STOP_POLL_S, Stop, Stopped
from volmatch.matching.to_result import build_result
from volmatch.models import InfeasibleRound, Result, Round
from volmatch.models.lifecycle import Outcome
from volmatch.scenarios.changes import (
    VariantInvalid,
    apply_variant,
    check_scenario,
    describe_change,
)
from volmatch.scenarios.compare import (
    BaseFacts,
    Comparison,
    base_facts,
    build_comparison,
    failed,
    summarise,
)
from volmatch.scenarios.incremental import prepare_variant
from volmatch.scenarios.model import Scenario, Variant

Progress = Callable[[int, int, str], None]
"""Called as (done, total, name of the round just finished)."""


@dataclass(frozen=True)
class BaseBundle:
    """What a worker needs to run any variant: the prepared base and its result's facts."""

    prep: Prepared
    facts: BaseFacts
    scenario_seed: int
    outcomes: tuple[Outcome, ...] = ()
    """Earlier deployments' outcomes: their planner KPIs are added to every result."""


def solve_prepared(prep: Prepared, stop: Stop | None = None) -> Result:
    """Solve a prepared round exactly as `matching.solve_round` solves the round."""
    r = prep.compiled.round
    t0 = time.perf_counter()
    sol = solve_prepared_core(prep, stop)
    prep.timings["solve"] = time.perf_counter() - t0
    return build_result(prep, sol, r.policy.mode)


def run_variant(bundle: BaseBundle, variant: Variant, stop: Stop | None = None) -> dict[str, Any]:
    """Apply, prepare, solve and summarise one variant; never raises for a bad variant
    (`Stopped` once `stop` says stop)."""
    t0 = time.perf_counter()
    try:
        r = apply_variant(bundle.prep.compiled.round, variant, bundle.scenario_seed)
    except VariantInvalid as exc:
        return failed(variant.name, "invalid", [str(e) for e in exc.errors])
    t_apply = time.perf_counter() - t0
    try:
        prep, reuse = prepare_variant(bundle.prep, r)
        result = with_outcome_kpis(solve_prepared(prep, stop), r, bundle.outcomes)
    except InfeasibleRound as exc:
        return failed(variant.name, "infeasible", [str(c) for c in exc.conflicts])
    except Stopped:
        raise  # the run was stopped: not a broken variant
    except Exception as exc:  # a batch of 50 should survive one broken variant
        return failed(variant.name, "error", [f"{type(exc).__name__}: {exc}"])
    if result.status == "infeasible":
        return failed(variant.name, "infeasible", ["the solver found no feasible assignment"])
    out = summarise(variant.name, prep, result, bundle.facts, reuse)
    out["seconds"] = {"apply": round(t_apply, 4), **out["seconds"]}
    return out


_INSTALLED: dict[int, tuple[BaseBundle, Stop]] = {}
"""The base bundle of this worker process and the run's stop signal, installed once by
the pool initializer so that each variant task carries only the variant."""


def _install(bundle: BaseBundle, stopping: Any) -> None:
    """`stopping`: the run's `multiprocessing.Event`, set when the run is stopped."""
    _INSTALLED[os.getpid()] = (bundle, stopping.is_set)


def _run_installed(variant: Variant) -> dict[str, Any]:
    bundle, stop = _INSTALLED[os.getpid()]
    return run_variant(bundle, variant, stop)


def _is_dask(executor: Executor) -> bool:
    return type(executor).__module__.startswith("distributed")


def _sweeps(scenario: Scenario) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "parameter": s.parameter,
            "description": s.description,
            "values": s.value_list(),
            "variants": [v.name for v in scenario.variants if v.sweep == s.name],
        }
        for s in scenario.sweeps
    ]


def _describe(v: Variant) -> dict[str, Any]:
    return {
        "description": v.description,
        "changes": [describe_change(c) for c in v.changes],
        "sweep": v.sweep,
        "value": v.value,
    }


def _as_completed(
    futures: Iterable[Future[dict[str, Any]]], stop: Stop | None
) -> Iterable[Future[dict[str, Any]]]:
    """The futures as they complete, `Stopped` raised within `STOP_POLL_S` of `stop`
    saying stop."""
    pending = set(futures)
    while pending:
        if stop is not None and stop():
            raise Stopped
        done, pending = wait(
            pending, timeout=None if stop is None else STOP_POLL_S, return_when=FIRST_COMPLETED
        )
        yield from done


def run_scenario(
    base: Round,
    scenario: Scenario,
    executor: Executor | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    outcomes: Iterable[Outcome] = (),
    stop: Stop | None = None,
) -> Comparison:
    """Solve the base and every variant and compare them (a pure function of its inputs
    apart from timings: the service calls it with a stored round).

    Raises `scenarios.model.ScenarioError` for a scenario whose changes cannot apply to any round
    (bad paths, conditions); a variant that gives an invalid or infeasible round is
    reported in the comparison with its errors.

    `outcomes` (earlier deployments) feed the base round once through the policy's
    outcome fields (`matching.lifecycle.apply_outcomes`: the variants inherit its bonus
    and forbidden entries), and their planner KPIs (`host_reliability`,
    `placed_host_reliability` where `policy.host_reliability_kpi` is on) are added to the
    base's and every variant's.

    `stop` (`matching.stop`) stops the run: `Stopped` is raised (see the module's notes).
    """
    check_scenario(scenario)
    outs = tuple(outcomes)
    base = apply_outcomes(base, outs)
    wall0 = time.perf_counter()
    total = len(scenario.variants) + 1
    t0 = time.perf_counter()
    base_prep = prepare(base)
    base_result: Result | None
    try:
        base_result = with_outcome_kpis(solve_prepared(base_prep, stop), base, outs)
        base_summary = summarise("base", base_prep, base_result, BaseFacts({}, {}), "full")
        base_summary["moves"], base_summary["moves_count"] = [], {}
    except InfeasibleRound as exc:
        base_result = None
        base_summary = failed("base", "infeasible", [str(c) for c in exc.conflicts])
    t_base = time.perf_counter() - t0
    if progress:
        progress(1, total, "base")
    bundle = BaseBundle(base_prep, base_facts(base_result), scenario.seed, outs)

    results: dict[str, dict[str, Any]] = {}
    if executor is None and workers <= 1:
        for i, v in enumerate(scenario.variants, start=2):
            results[v.name] = run_variant(bundle, v, stop)
            if progress:
                progress(i, total, v.name)
    else:
        own: ProcessPoolExecutor | None = None
        stopping = multiprocessing.Event()
        futures: dict[Future[dict[str, Any]], str] = {}
        if executor is None:
            own = ProcessPoolExecutor(
                max_workers=min(workers, len(scenario.variants)),
                initializer=_install,
                initargs=(bundle, stopping),
            )
            for v in scenario.variants:
                futures[own.submit(_run_installed, v)] = v.name
        else:
            arg: Any = bundle
            if _is_dask(executor):
                client = executor._client  # type: ignore[attr-defined]
                arg = client.scatter(bundle, broadcast=True, hash=False)
            for v in scenario.variants:
                futures[executor.submit(run_variant, arg, v)] = v.name
        try:
            for done, fut in enumerate(_as_completed(futures, stop), start=2):
                results[futures[fut]] = fut.result()
                if progress:
                    progress(done, total, futures[fut])
        except BaseException:
            stopping.set()  # the pool's running variants stop too
            for fut in futures:
                fut.cancel()
            raise
        finally:
            if own is not None:
                own.shutdown(cancel_futures=True)
    variants = []
    for v in scenario.variants:
        s = results[v.name]
        s.update(_describe(v))
        variants.append(s)
    cmp = build_comparison(
        scenario.name, scenario.description, base_summary, variants, _sweeps(scenario)
    )
    cmp.timings = {
        "wall_seconds": round(time.perf_counter() - wall0, 3),
        "base_seconds": round(t_base, 3),
        "variants": {v["name"]: v["seconds"] for v in variants},
    }
    return cmp
