"""A matching round end to end: prepare, solve the way the policy asks, build the result.

This module only assembles the parts it imports (`matching.prepared`, the solvers
`matching.pure`, `matching.rules` and `matching.stable`, and `matching.to_result`);
none of them imports it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from volmatch.matching.prepared import Prepared, Progress, Solution, prepare
from volmatch.matching.pure import needs_rules, solve_pure
from volmatch.matching.stable import solve_stable, stability_audit
from volmatch.matching.stop import Stop, StopWatch
from volmatch.matching.to_result import build_result
from volmatch.models import Result, Round


def solve_prepared(prep: Prepared, stop: Stop | None = None) -> Solution:
    """Solve a prepared round the way its policy asks (pure, with rules, or stable).
    `stop` says when to give up (`matching.stop`): then `Stopped` is raised. The rules'
    solver stops within a fraction of a second; the flow of a pure round and the
    deferred acceptance of a stable one are single steps, looked at before and after."""
    watch = StopWatch(stop)
    watch.check()
    policy = prep.compiled.round.policy
    if policy.mode == "stable":
        sol = solve_stable(prep)
    elif not needs_rules(prep):
        sol = solve_pure(prep)
    else:
        # CP-SAT's module pulls in pandas, most of a second: only rounds with rules pay.
        from volmatch.matching.rules import solve_with_rules

        sol = solve_with_rules(prep, watch)
    watch.check()
    return sol


def solve_round(
    r: Round,
    *,
    mode: Literal["optimal", "stable"] | None = None,
    time_limit_s: float | None = None,
    progress: Progress | None = None,
    audit: bool = False,
    reserves: int = 0,
    keep: Callable[[Prepared, Solution], None] | None = None,
    stop: Stop | None = None,
) -> Result:
    """Run one matching round; `mode` and `time_limit_s` override the policy's.

    With `audit`, the result also carries a stability audit (blocking pairs, price of
    stability) under `stability`. With `reserves` > 0, every placement's reserve list
    of that many volunteers, with their costs, under `reserves` (`docs/lifecycle.md`).
    Raises `InfeasibleRound` when the coordinator's locks cannot all hold. `keep` is
    handed the prepared round and its solution once the result is built (a service keeps
    them for explanations and advice instead of preparing the round again). `stop`
    (`matching.stop`) is looked at as each stage starts and throughout the solve:
    once it says stop, `Stopped` is raised and there is no result.
    """
    policy = r.policy
    if mode is not None and mode != policy.mode:
        policy = policy.model_copy(update={"mode": mode})
    if time_limit_s is not None:
        policy = policy.model_copy(update={"time_limit_s": time_limit_s})
    if policy is not r.policy:
        r = r.model_copy(update={"policy": policy})
    watch = StopWatch(stop)
    staged = _stoppable(progress, watch) if stop is not None else progress
    prep = prepare(r, staged)
    if staged:
        staged("solve")
    t0 = time.perf_counter()
    sol = solve_prepared(prep, stop)
    prep.timings["solve"] = time.perf_counter() - t0
    if audit:
        t0 = time.perf_counter()
        sol.extra["stability"] = stability_audit(prep, sol)
        prep.timings["audit"] = time.perf_counter() - t0
    result = build_result(prep, sol, policy.mode, staged, reserves=reserves)
    watch.check()
    if keep is not None:
        keep(prep, sol)
    return result


def _stoppable(progress: Progress | None, watch: StopWatch) -> Progress:
    """`progress`, which first raises `Stopped` once the watch says stop: every stage
    of the round (compiling, eligibility, explanations ...) starts only if not."""

    def staged(stage: str) -> None:
        watch.check()
        if progress is not None:
            progress(stage)

    return staged
