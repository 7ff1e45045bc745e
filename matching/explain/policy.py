"""Reasons that only rounds with policy rules have: which rules are in force, and the
eligible volunteers a rule keeps out of an open slot."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.regret import segment_ranges
from volmatch.models.reasons import Reason, part

SHOWN = 3
"""Volunteers named in a reason before "and N more"."""


def kept_out(
    prep: Prepared, chosen: NDArray[np.intp], open_p: NDArray[np.intp], proven: bool
) -> dict[int, Reason]:
    """Per open placement with eligible volunteers left unplaced by a round with policy
    rules: how many and who (`proven`: the round is proven optimal, so the rules, not the
    search, keep them out)."""
    c, pairs = prep.compiled, prep.pairs
    placed = np.zeros(c.n_volunteers, dtype=np.bool_)
    placed[pairs.v[chosen]] = True
    pp = pairs.p
    if len(pp) > 1 and bool(np.any(pp[1:] < pp[:-1])):
        wanted = np.zeros(c.n_placements, dtype=np.bool_)
        wanted[open_p] = True
        idx = np.flatnonzero(wanted[pp] & ~placed[pairs.v])
    else:  # grouped by placement (as `Pairs` keeps them): only the open ones' runs
        want = np.unique(np.asarray(open_p)).astype(pp.dtype)
        lo = np.searchsorted(pp, want, side="left")
        idx = segment_ranges(lo, np.searchsorted(pp, want, side="right") - lo)
        idx = idx[~placed[pairs.v[idx]]]
    if not _by_placement_then_volunteer(pp[idx], pairs.v[idx]):
        idx = idx[np.lexsort((pairs.v[idx], pp[idx]))]
    code = "kept_out_by_rules" if proven else "kept_out_or_gap"
    out: dict[int, Reason] = {}
    if len(idx) == 0:
        return out
    # the runs of each placement (in order now): `np.unique` without its sort
    at_p = pp[idx]
    starts = np.concatenate([[0], np.flatnonzero(at_p[1:] != at_p[:-1]) + 1])
    counts = np.diff(np.concatenate([starts, [len(at_p)]]))
    ps = at_p[starts]
    vids = c.volunteer_ids
    for p, s, n in zip(ps.tolist(), starts.tolist(), counts.tolist(), strict=True):
        shown = [vids[v] for v in pairs.v[idx[s : s + min(n, SHOWN)]].tolist()]
        params: dict[str, object] = {"count": n, "volunteers": shown}
        if n > SHOWN:
            params["more"] = n - SHOWN
        out[p] = part(code, **params)
    return out


def _by_placement_then_volunteer(pp: NDArray[np.integer], pv: NDArray[np.integer]) -> bool:
    """Whether the pairs (pp, pv) are in ascending (placement, volunteer) order already
    (as `Pairs` keeps them: no sort needed)."""
    if len(pp) < 2:
        return True
    step_p = np.diff(pp)
    return bool(np.all((step_p > 0) | ((step_p == 0) & (np.diff(pv) > 0))))


def rules_note(active: list[str]) -> Reason:
    """The policy rules in force, said once per unplaced volunteer who is eligible."""
    return part("policy_rules", rules=list(active))


def solver_note(text: str) -> Reason:
    """A reason the rules solver knows first-hand (a group no placement takes whole ...)."""
    return part("solver", text=text)
