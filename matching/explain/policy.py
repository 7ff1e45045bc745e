"""Reasons that only rounds with policy rules have: which rules are in force, and the
eligible volunteers a rule keeps out of an open slot."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
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
    wanted = np.zeros(c.n_placements, dtype=np.bool_)
    wanted[open_p] = True
    idx = np.flatnonzero(wanted[pairs.p] & ~placed[pairs.v])
    idx = idx[np.lexsort((pairs.v[idx], pairs.p[idx]))]
    code = "kept_out_by_rules" if proven else "kept_out_or_gap"
    out: dict[int, Reason] = {}
    if len(idx) == 0:
        return out
    ps, starts, counts = np.unique(pairs.p[idx], return_index=True, return_counts=True)
    vids = c.volunteer_ids
    for p, s, n in zip(ps.tolist(), starts.tolist(), counts.tolist(), strict=True):
        shown = [vids[v] for v in pairs.v[idx[s : s + min(n, SHOWN)]].tolist()]
        params: dict[str, object] = {"count": n, "volunteers": shown}
        if n > SHOWN:
            params["more"] = n - SHOWN
        out[p] = part(code, **params)
    return out


def rules_note(active: list[str]) -> Reason:
    """The policy rules in force, said once per unplaced volunteer who is eligible."""
    return part("policy_rules", rules=list(active))


def solver_note(text: str) -> Reason:
    """A reason the rules solver knows first-hand (a group no placement takes whole ...)."""
    return part("solver", text=text)
