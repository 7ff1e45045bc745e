"""A solution dressed as the contract's `Result`: assignments, a reason for every
unmatched volunteer and every open slot, KPIs and stats."""

from __future__ import annotations

import gc
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.dates import from_days
from volmatch.matching.explain import (
    Explained,
    is_pure_optimum,
    kept_out,
    open_reasons,
    placements_without_pairs,
    pricing,
    rules_note,
    unplaced_reasons,
    volunteers_without_pairs,
)
from volmatch.matching.kpis import compute_kpis
from volmatch.matching.prepared import Prepared, Progress, Solution
from volmatch.matching.regret import ResidualNetwork
from volmatch.matching.stable import stable_reasons
from volmatch.models import AssignmentOut, OpenSlot, Result, UnmatchedVolunteer
from volmatch.models.reasons import Reason, text_of
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
    prep: Prepared,
    sol: Solution,
    mode: str,
    progress: Progress | None = None,
    *,
    reserves: int = 0,
) -> Result:
    """Dress a solution as the contract's result, with reasons and KPIs, and with
    `reserves` > 0 every placement's reserve list of that many (`reserves`, priced on
    the reasons' residual network: `matching.lifecycle.reserves`).

    The cyclic garbage collector is paused meanwhile: the result is a few objects per
    volunteer, none of them garbage, and with a large round in memory each full
    collection their allocations would trigger costs about a second.
    """
    with _GcPaused():
        return _build_result(prep, sol, mode, progress, reserves)


def _build_result(
    prep: Prepared, sol: Solution, mode: str, progress: Progress | None, reserves: int
) -> Result:
    """`build_result`, with the collector paused."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    t = prep.timings
    if progress:
        progress("explain")
    t0 = time.perf_counter()
    chosen = sol.chosen
    matched = np.zeros(c.n_volunteers, dtype=np.bool_)
    matched[pairs.v[chosen]] = True
    unmatched = np.flatnonzero(~matched)
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements).astype(np.int64)
    open_p = np.flatnonzero(filled < c.capacity)
    extra: dict[str, Any] = dict(sol.extra)
    nets: list[ResidualNetwork] = []
    assignments = _assignments_out(prep, chosen)
    why_v, why_p = _reasons(prep, sol, mode, unmatched, open_p, filled, extra, nets)
    t["explain"] = time.perf_counter() - t0
    if reserves > 0:
        from volmatch.matching.lifecycle.reserves import METHOD, reserve_lists

        if progress:
            progress("reserves")
        t0 = time.perf_counter()
        lists = reserve_lists(prep, chosen, size=reserves, net=nets[0] if nets else None)
        extra["reserves"] = [x.as_dict() for x in lists]
        extra["reserves_method"] = METHOD
        t["reserves"] = time.perf_counter() - t0
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
            (
                {
                    "volunteer": c.volunteer_ids[v],
                    "reasons": e.texts,
                    "cost": e.cost,
                    "best_placement": None if e.other is None else c.placement_ids[e.other],
                    "details": e.parts,
                }
                for v, e in ((v, why_v[v]) for v in unmatched.tolist())
            ),
        ),
        open_slots=construct_trusted(
            OpenSlot,
            (
                {
                    "placement": c.placement_ids[p],
                    "open": n,
                    "reasons": e.texts,
                    "cost": e.cost,
                    "nearest": None if e.other is None else c.volunteer_ids[e.other],
                    "details": e.parts,
                }
                for p, n, e in (
                    (p, n, why_p[p])
                    for p, n in zip(
                        open_p.tolist(), (c.capacity - filled)[open_p].tolist(), strict=True
                    )
                )
            ),
        ),
        kpis=kpis,
        stats=stats,
        **extra,
    )


def _reasons(
    prep: Prepared,
    sol: Solution,
    mode: str,
    unmatched: NDArray[np.intp],
    open_p: NDArray[np.intp],
    filled: NDArray[np.int64],
    extra: dict[str, Any],
    nets: list[ResidualNetwork],
) -> tuple[dict[int, Explained], dict[int, Explained]]:
    """The reasons for every unmatched volunteer and every placement with open slots;
    takes the solver's own reasons out of `extra`. The residual network priced on, if
    any, is put in `nets` (the reserve lists price on it too). One thread: a second one
    for the network beside the records without pairs saved wall time only where both
    got a core, and cost CPU time (the two contend for the interpreter's lock and the
    memory bus) on a busy machine."""
    c, pairs = prep.compiled, prep.pairs
    n_v = np.bincount(pairs.v, minlength=c.n_volunteers)
    n_p = _pairs_per_placement(pairs.p, c.n_placements)
    with_v, with_p = unmatched[n_v[unmatched] > 0], open_p[n_p[open_p] > 0]
    said: dict[int, str] = {}  # reasons shared by many volunteers, said once
    why_v = {
        vi: _explained(None, None, parts, said)
        for vi, parts in volunteers_without_pairs(c, unmatched[n_v[unmatched] == 0]).items()
    }
    why_p = {
        pi: _explained(None, _closest(c, parts), parts)
        for pi, parts in placements_without_pairs(c, open_p[n_p[open_p] == 0]).items()
    }
    if len(with_v) or len(with_p):
        exact = is_pure_optimum(prep, sol.status, mode)
        pr = pricing(prep, sol.chosen, exact)
        nets.append(pr.net)
        why_v.update(unplaced_reasons(pr, with_v, filled, n_v))
        why_p.update(open_reasons(pr, with_p, filled, n_p))
    if mode == "stable":
        # ranks, not the total score, explain a stable matching: they come first
        stable_v, stable_p = stable_reasons(prep, sol.chosen)
        _prepend(why_v, stable_v)
        _prepend(why_p, stable_p)
    # reasons the solver knows first-hand, with their parts (a group no placement takes
    # whole ...)
    solver = {c.vindex[vid]: list(said) for vid, said in extra.pop("volunteer_reasons", {}).items()}
    _prepend(why_v, solver)
    active = extra.get("rules", {}).get("active")
    if active:
        note = rules_note(active)
        note_text = text_of(note)  # the reasons before it keep their sentences
        for vi in with_v.tolist():
            e = why_v[vi]
            why_v[vi] = Explained(e.cost, e.other, [*e.parts, note], [*e.texts, note_text])
        proven = sol.status == "optimal"
        _append(why_p, {p: [r] for p, r in kept_out(prep, sol.chosen, with_p, proven).items()})
    return why_v, why_p


def _pairs_per_placement(pp: NDArray[np.integer], n_placements: int) -> NDArray[np.int64]:
    """Eligible pairs per placement: from the bounds of each placement's run where the
    pairs come grouped by placement (as `Pairs` keeps them), else counted."""
    if len(pp) > 1 and bool(np.any(pp[1:] < pp[:-1])):
        return np.bincount(pp, minlength=n_placements)
    bounds = np.searchsorted(pp, np.arange(n_placements + 1, dtype=pp.dtype))
    return np.diff(bounds).astype(np.int64)


def _explained(
    cost: int | None, other: int | None, parts: list[Reason], said: dict[int, str] | None = None
) -> Explained:
    """The reasons with their sentences (`said`: sentences by the id of their reason, for
    reasons that records share)."""
    if said is None:
        return Explained(cost, other, parts, [text_of(r) for r in parts])
    texts = []
    for r in parts:
        text = said.get(id(r))
        if text is None:
            text = said[id(r)] = text_of(r)
        texts.append(text)
    return Explained(cost, other, parts, texts)


def _closest(c: Any, parts: list[Reason]) -> int | None:
    """The volunteer a placement's reasons name as closest to qualifying."""
    for r in parts:
        if r["code"] == "closest_volunteer":
            return int(c.vindex[r["params"]["volunteer"]])
    return None


def _prepend(why: dict[int, Explained], first: dict[int, list[Reason]]) -> None:
    """Put `first[k]` before the reasons of `k` (where `k` has reasons)."""
    for k, parts in first.items():
        e = why.get(k)
        if e is not None:
            why[k] = Explained(
                e.cost, e.other, [*parts, *e.parts], [*(text_of(r) for r in parts), *e.texts]
            )


def _append(why: dict[int, Explained], last: dict[int, list[Reason]]) -> None:
    """Put `last[k]` after the reasons of `k` (where `k` has reasons)."""
    for k, parts in last.items():
        e = why.get(k)
        if e is not None:
            why[k] = Explained(
                e.cost, e.other, [*e.parts, *parts], [*e.texts, *(text_of(r) for r in parts)]
            )
