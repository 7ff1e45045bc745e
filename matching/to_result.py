"""A solution dressed as the contract's `Result`: assignments, a reason for every
unmatched volunteer and every open slot, KPIs and stats."""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.dates import from_days
from volmatch.matching.explain import explain_open, explain_unmatched
from volmatch.matching.kpis import compute_kpis
from volmatch.matching.prepared import Prepared, Progress, Solution
from volmatch.matching.stable import stable_reasons
from volmatch.models import AssignmentOut, OpenSlot, Result, UnmatchedVolunteer
from volmatch.models.result import construct_trusted


def _assignments_out(prep: Prepared, chosen: NDArray[np.intp]) -> list[AssignmentOut]:
    """The chosen pairs as the contract's assignments, ordered by volunteer id (built from
    checked arrays: constructed without re-validating ~100k objects)."""
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
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
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
    """`build_result`, with the collector paused."""
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
    extra: dict[str, Any] = dict(sol.extra)
    why_v, why_p = _reasons(prep, chosen, mode, unmatched, open_p, extra)
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


def _reasons(
    prep: Prepared,
    chosen: NDArray[np.intp],
    mode: str,
    unmatched: NDArray[np.intp],
    open_p: NDArray[np.intp],
    extra: dict[str, Any],
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The reasons for every unmatched volunteer and every placement with open slots;
    takes the solver's own reasons out of `extra`."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    why_v: dict[int, list[str]] = {}
    why_p: dict[int, list[str]] = {}
    if mode == "stable":
        # ranks, not the total score, explain a stable matching; the generic reasons
        # below cover only who has no eligible partner at all
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
    for vid, reasons in extra.pop("volunteer_reasons", {}).items():
        vi = c.vindex[vid]
        if vi in why_v:
            why_v[vi] = reasons + why_v[vi]
    if extra.get("rules", {}).get("active"):
        rules_note = "policy rules in force: " + ", ".join(extra["rules"]["active"])
        for vi in why_v:
            if why_v[vi][0].startswith("eligible for"):
                why_v[vi] = [*why_v[vi], rules_note]
    return why_v, why_p
