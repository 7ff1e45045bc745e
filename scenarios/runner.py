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
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from volmatch.matching import Prepared, prepare
from volmatch.matching.lifecycle import apply_outcomes, with_outcome_kpis
from volmatch.matching.solve import solve_prepared as solve_prepared_core
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


def solve_prepared(prep: Prepared) -> Result:
    """Solve a prepared round exactly as `matching.solve_round` solves the round."""
    r = prep.compiled.round
    t0 = time.perf_counter()
    sol = solve_prepared_core(prep)
    prep.timings["solve"] = time.perf_counter() - t0
    return build_result(prep, sol, r.policy.mode)


def run_variant(bundle: BaseBundle, variant: Variant) -> dict[str, Any]:
    """Apply, prepare, solve and summarise one variant; never raises for a bad variant."""
    t0 = time.perf_counter()
    try:
        r = apply_variant(bundle.prep.compiled.round, variant, bundle.scenario_seed)
    except VariantInvalid as exc:
        return failed(variant.name, "invalid", [str(e) for e in exc.errors])
    t_apply = time.perf_counter() - t0
    try:
        prep, reuse = prepare_variant(bundle.prep, r)
        result = with_outcome_kpis(solve_prepared(prep), r, bundle.outcomes)
    except InfeasibleRound as exc:
        return failed(variant.name, "infeasible", [str(c) for c in exc.conflicts])
    except Exception as exc:  # a batch of 50 should survive one broken variant
        return failed(variant.name, "error", [f"{type(exc).__name__}: {exc}"])
    if result.status == "infeasible":
        return failed(variant.name, "infeasible", ["the solver found no feasible assignment"])
    out = summarise(variant.name, prep, result, bundle.facts, reuse)
    out["seconds"] = {"apply": round(t_apply, 4), **out["seconds"]}
    return out


_INSTALLED: dict[int, BaseBundle] = {}
"""The base bundle of this worker process, installed once by the pool initializer so that
each variant task carries only the variant."""


def _install(bundle: BaseBundle) -> None:
    _INSTALLED[os.getpid()] = bundle


def _run_installed(variant: Variant) -> dict[str, Any]:
    return run_variant(_INSTALLED[os.getpid()], variant)


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


def run_scenario(
    base: Round,
    scenario: Scenario,
    executor: Executor | None = None,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    outcomes: Iterable[Outcome] = (),
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
        base_result = with_outcome_kpis(solve_prepared(base_prep), base, outs)
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
            results[v.name] = run_variant(bundle, v)
            if progress:
                progress(i, total, v.name)
    else:
        own: ProcessPoolExecutor | None = None
        futures: dict[Future[dict[str, Any]], str] = {}
        if executor is None:
            own = ProcessPoolExecutor(
                max_workers=min(workers, len(scenario.variants)),
                initializer=_install,
                initargs=(bundle,),
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
            for done, fut in enumerate(as_completed(futures), start=2):
                results[futures[fut]] = fut.result()
                if progress:
                    progress(done, total, futures[fut])
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
