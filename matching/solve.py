"""A matching round end to end: compile, eligibility, scoring, solve, explain, KPIs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound, compile_round
from volmatch.matching.dates import from_days
from volmatch.matching.eligibility import Pairs
from volmatch.matching.explain import explain_open, explain_unmatched, pair_failure_details
from volmatch.matching.flow import max_score_assignment
from volmatch.matching.kpis import compute_kpis
from volmatch.matching.parallel import find_pair_parts, join_pairs, score_pair_parts
from volmatch.matching.previous import moves_report, pair_index, previous_pairs
from volmatch.matching.scoring import Scores
from volmatch.models import (
    AssignmentOut,
    Conflict,
    InfeasibleRound,
    OpenSlot,
    Result,
    Round,
    UnmatchedVolunteer,
)

Progress = Callable[[str], None]
"""Called with the name of each stage as it starts (for progress bars)."""

STAGES = ("compile", "eligibility", "scoring", "solve", "explain", "kpis")


@dataclass
class Solution:
    """The chosen pairs of a round, before they are dressed up as a `Result`."""

    chosen: NDArray[np.intp]
    """Indices into the round's `Pairs`."""
    status: Literal["optimal", "feasible", "infeasible"]
    objective: int
    bound: int
    extra: dict[str, object] = field(default_factory=dict)
    """Mode-specific facts to add to the result (rule costs, moves, audit ...)."""


@dataclass
class Prepared:
    """A compiled round with its eligible pairs and their scores."""

    compiled: CompiledRound
    pairs: Pairs
    scores: Scores
    timings: dict[str, float]


def prepare(r: Round, progress: Progress | None = None) -> Prepared:
    """Compile the round, find the eligible pairs and score them."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    if progress:
        progress("compile")
    c = compile_round(r)
    t["compile"] = time.perf_counter() - t0
    if progress:
        progress("eligibility")
    t0 = time.perf_counter()
    parts = find_pair_parts(c)
    t["eligibility"] = time.perf_counter() - t0
    if progress:
        progress("scoring")
    t0 = time.perf_counter()
    scores = score_pair_parts(c, parts)
    pairs = join_pairs(parts)
    t["scoring"] = time.perf_counter() - t0
    return Prepared(c, pairs, scores, t)


def locked_pair_indices(prep: Prepared) -> NDArray[np.intp]:
    """Indices of the locked pairs in `prep.pairs`; raises `InfeasibleRound` when a lock
    breaks a hard rule or the locks overfill a placement."""
    c, pairs = prep.compiled, prep.pairs
    if len(c.locked_v) == 0:
        return np.zeros(0, dtype=np.intp)
    at = pair_index(c, pairs, c.locked_v.astype(np.int64), c.locked_p.astype(np.int64))
    found = at >= 0
    conflicts: list[Conflict] = []
    for k in np.flatnonzero(~found).tolist():
        vi, pi = int(c.locked_v[k]), int(c.locked_p[k])
        details = pair_failure_details(c, vi, pi)
        conflicts.append(
            Conflict(
                rule="locked",
                message=(
                    f"locked pair {c.volunteer_ids[vi]}->{c.placement_ids[pi]} breaks the hard "
                    f"rule(s) {', '.join(details) or 'unknown'}: " + "; ".join(details.values())
                ),
                volunteers=(c.volunteer_ids[vi],),
                placements=(c.placement_ids[pi],),
            )
        )
    idx = np.unique(at[found]).astype(np.intp)
    per_p = np.bincount(pairs.p[idx], minlength=c.n_placements)
    for pi in np.flatnonzero(per_p > c.capacity).tolist():
        who = sorted(c.volunteer_ids[v] for v in pairs.v[idx][pairs.p[idx] == pi].tolist())
        conflicts.append(
            Conflict(
                rule="locked",
                message=(
                    f"{int(per_p[pi])} volunteers are locked to {c.placement_ids[pi]}, "
                    f"which has {int(c.capacity[pi])} slot(s)"
                ),
                volunteers=tuple(who),
                placements=(c.placement_ids[pi],),
            )
        )
    if conflicts:
        raise InfeasibleRound(conflicts)
    return idx


def solve_pure(prep: Prepared) -> Solution:
    """The exact max-score assignment under the hard rules and the locks (min-cost flow)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    locked = locked_pair_indices(prep)
    capacity = c.capacity.copy()
    # without locks every pair is free: no gather of the arrays (100 ms at 5 M pairs)
    idx: NDArray[np.intp] | None = None
    if len(locked):
        taken = np.zeros(c.n_volunteers, dtype=np.bool_)
        taken[pairs.v[locked]] = True
        free = ~taken[pairs.v]
        capacity -= np.bincount(pairs.p[locked], minlength=c.n_placements)
        free &= capacity[pairs.p] > 0
        idx = np.flatnonzero(free)
    weight = scores.total
    prev_pair = previous_pairs(c, pairs)
    if prev_pair:
        # Among the assignments of the best total, keep the most previous pairs:
        # scaled scores plus one per kept pair is lexicographic, since all the bonuses
        # together stay below one unit of the scaled score.
        kept = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
        weight = scores.total * (len(prev_pair) + 1)
        weight[kept] += 1
    if idx is None:
        sol = max_score_assignment(c.n_volunteers, capacity, pairs.v, pairs.p, weight)
        chosen = sol.chosen.astype(np.intp)
    else:
        sol = max_score_assignment(
            c.n_volunteers, capacity, pairs.v[idx], pairs.p[idx], weight[idx]
        )
        chosen = np.sort(np.concatenate([locked, idx[sol.chosen]])).astype(np.intp)
    total = int(scores.total[chosen].sum())
    extra: dict[str, object] = {}
    if prev_pair:
        extra["moves"] = moves_report(c, pairs, scores, chosen, prev_pair)
    return Solution(chosen=chosen, status="optimal", objective=total, bound=total, extra=extra)


def has_groups(prep: Prepared) -> bool:
    """Whether any two volunteers share a group."""
    g = prep.compiled.group
    g = g[g >= 0]
    return bool(len(g)) and len(np.unique(g)) < len(g)


def needs_rules(prep: Prepared) -> bool:
    """Whether the round asks for more than the hard rules: then it goes to CP-SAT."""
    r = prep.compiled.round
    policy = r.policy
    # Previous assignments alone are a tie-break the flow keeps exactly (solve_pure):
    # only a price per move or a frozen stage makes them a rule.
    rematch = bool(r.previous) and (
        policy.move_cost > 0
        or any(a.stage is not None and a.stage in policy.frozen_stages for a in r.previous)
    )
    return bool(policy.rules_in_use() or has_groups(prep) or rematch)


def solve_prepared(prep: Prepared) -> Solution:
    """Solve a prepared round the way its policy asks (pure, with rules, or stable)."""
    policy = prep.compiled.round.policy
    if policy.mode == "stable":
        from volmatch.matching.stable import solve_stable

        return solve_stable(prep)
    if not needs_rules(prep):
        return solve_pure(prep)
    # CP-SAT's module pulls in pandas (~0.7 s): only rounds with rules pay for it.
    from volmatch.matching.rules import solve_with_rules

    return solve_with_rules(prep)


def _assignments_out(prep: Prepared, chosen: NDArray[np.intp]) -> list[AssignmentOut]:
    """The chosen pairs as the contract's assignments, ordered by volunteer id (built from
    checked arrays: constructed without re-validating ~100k objects)."""
    from volmatch.models.result import construct_trusted

    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    at = chosen[np.argsort(pairs.v[chosen], kind="stable")]
    names = list(scores.components)
    parts = [scores.components[k][at].tolist() for k in names]
    rows = zip(*parts, strict=True) if parts else iter([()] * len(at))
    vids, pids = c.volunteer_ids, c.placement_ids
    starts = pairs.start[at].tolist()
    day = {d: from_days(d) for d in set(starts)}
    return construct_trusted(
        AssignmentOut,
        (
            {
                "volunteer": vids[v],
                "placement": pids[p],
                "score": total,
                "start": day[start],
                "months": months,
                "breakdown": {k: x for k, x in zip(names, row, strict=True) if x},
            }
            for v, p, total, start, months, row in zip(
                pairs.v[at].tolist(),
                pairs.p[at].tolist(),
                scores.total[at].tolist(),
                starts,
                pairs.months[at].tolist(),
                rows,
                strict=True,
            )
        ),
    )


class _GcPaused:
    """Pauses the cyclic garbage collector (if it runs) for a `with` block."""

    def __enter__(self) -> None:
        import gc

        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        import gc

        if self.was_enabled:
            gc.enable()


def build_result(
    prep: Prepared, sol: Solution, mode: str, progress: Progress | None = None
) -> Result:
    """Dress a solution as the contract's result, with reasons and KPIs.

    The cyclic garbage collector is paused meanwhile: the result is a few objects per
    volunteer, none of them garbage, and with a large round in memory each full
    collection their allocations would trigger costs about a second.
    """
    with _GcPaused():
        return _build_result(prep, sol, mode, progress)


def _build_result(prep: Prepared, sol: Solution, mode: str, progress: Progress | None) -> Result:
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    t = prep.timings
    if progress:
        progress("explain")
    t0 = time.perf_counter()
    chosen = sol.chosen
    assignments = _assignments_out(prep, chosen)
    matched = np.zeros(c.n_volunteers, dtype=np.bool_)
    matched[pairs.v[chosen]] = True
    unmatched = np.flatnonzero(~matched)
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements)
    open_p = np.flatnonzero(filled < c.capacity)
    why_v: dict[int, list[str]] = {}
    why_p: dict[int, list[str]] = {}
    if mode == "stable":
        # ranks, not the total score, explain a stable matching; the generic reasons
        # below cover only who has no eligible partner at all
        from volmatch.matching.stable import stable_reasons

        why_v, why_p = stable_reasons(prep, chosen)
        unmatched_left = np.asarray(
            [v for v in unmatched.tolist() if v not in why_v], dtype=np.int64
        )
        open_left = np.asarray([p for p in open_p.tolist() if p not in why_p], dtype=np.int64)
    else:
        unmatched_left, open_left = unmatched, open_p
    why_v.update(explain_unmatched(c, pairs, scores, chosen, unmatched_left))
    why_p.update(explain_open(c, pairs, scores, chosen, open_left))
    # reasons the solver knows first-hand (a group no placement takes whole ...)
    extra: dict[str, Any] = dict(sol.extra)
    for vid, reasons in extra.pop("volunteer_reasons", {}).items():
        vi = c.vindex[vid]
        if vi in why_v:
            why_v[vi] = reasons + why_v[vi]
    if extra.get("rules", {}).get("active"):
        rules_note = "policy rules in force: " + ", ".join(extra["rules"]["active"])
        for vi in why_v:
            if why_v[vi][0].startswith("eligible for"):
                why_v[vi] = [*why_v[vi], rules_note]
    t["explain"] = time.perf_counter() - t0
    if progress:
        progress("kpis")
    t0 = time.perf_counter()
    kpis = compute_kpis(c, pairs.v[chosen], pairs.p[chosen], scores.total[chosen])
    kpis["eligible_pairs"] = len(pairs)
    t["kpis"] = time.perf_counter() - t0
    stats: dict[str, object] = {
        "seconds": {k: round(v, 4) for k, v in t.items()},
        "volunteers": c.n_volunteers,
        "placements": c.n_placements,
        "eligible_pairs": len(pairs),
    }
    # built from checked arrays: construct without re-validating ~100k objects
    from volmatch.models.result import construct_trusted

    return Result(
        status=sol.status,
        mode=mode,
        objective=sol.objective,
        bound=sol.bound,
        assignments=assignments,
        unmatched_volunteers=construct_trusted(
            UnmatchedVolunteer,
            ({"volunteer": c.volunteer_ids[v], "reasons": why_v[v]} for v in unmatched.tolist()),
        ),
        open_slots=construct_trusted(
            OpenSlot,
            (
                {"placement": c.placement_ids[p], "open": n, "reasons": why_p[p]}
                for p, n in zip(
                    open_p.tolist(), (c.capacity - filled)[open_p].tolist(), strict=True
                )
            ),
        ),
        kpis=kpis,
        stats=stats,
        **extra,
    )


def solve_round(
    r: Round,
    *,
    mode: Literal["optimal", "stable"] | None = None,
    time_limit_s: float | None = None,
    progress: Progress | None = None,
    audit: bool = False,
) -> Result:
    """Run one matching round; `mode` and `time_limit_s` override the policy's.

    With `audit`, the result also carries a stability audit (blocking pairs, price of
    stability) under `stability`. Raises `InfeasibleRound` when the coordinator's locks
    cannot all hold.
    """
    policy = r.policy
    if mode is not None and mode != policy.mode:
        policy = policy.model_copy(update={"mode": mode})
    if time_limit_s is not None:
        policy = policy.model_copy(update={"time_limit_s": time_limit_s})
    if policy is not r.policy:
        r = r.model_copy(update={"policy": policy})
    prep = prepare(r, progress)
    if progress:
        progress("solve")
    t0 = time.perf_counter()
    sol = solve_prepared(prep)
    prep.timings["solve"] = time.perf_counter() - t0
    if audit:
        from volmatch.matching.stable import stability_audit

        t0 = time.perf_counter()
        sol.extra["stability"] = stability_audit(prep, sol)
        prep.timings["audit"] = time.perf_counter() - t0
    return build_result(prep, sol, policy.mode, progress)
