"""Stable-mode reasons, which speak of ranks, not of the round's total score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.arrays import concat_ranges
from volmatch.matching.prepared import Prepared
from volmatch.matching.stable.couples import Option, joint_lists
from volmatch.matching.stable.market import Market, group_index, market
from volmatch.matching.stable.preference_lists import Rankings, fast_rankings
from volmatch.models.reasons import Reason, part

I64 = NDArray[np.int64]
IP = NDArray[np.intp]


SHOWN = 3
"""Placements (volunteers) named in a stable-mode reason before "and N more"."""


@dataclass
class _Standing:
    """Who holds what in a stable result, as the reasons read it."""

    prep: Prepared
    rk: Rankings
    mk: Market
    held: I64
    """Per volunteer, the pair it holds (-1: none)."""
    worst: I64
    """Per placement, the rank of its lowest-ranked holder that is not locked (-1: none)."""
    group_of: I64
    """Per volunteer, its index in `mk.groups` (-1: none)."""
    options: list[list[Option]]
    """Per group, its joint choices, best first."""

    @classmethod
    def of(cls, prep: Prepared, chosen: IP) -> _Standing:
        """Who holds what once `chosen` is the matching."""
        c = prep.compiled
        rk, mk = fast_rankings(prep), market(prep)
        pv, pp = mk.pv, mk.pp
        held = np.full(c.n_volunteers, -1, dtype=np.int64)
        held[pv[chosen]] = chosen
        free = chosen[~mk.locked_v[pv[chosen]]]
        worst = np.full(c.n_placements, -1, dtype=np.int64)
        np.maximum.at(worst, pp[free], rk.prank[free])
        group_of = group_index(mk, c.n_volunteers)
        options = joint_lists(prep, rk, mk) if mk.groups else []
        return cls(prep, rk, mk, held, worst, group_of, options)

    def group_note(self, v: int) -> Reason:
        """Why a group member cannot be placed."""
        c = self.prep.compiled
        g = int(self.group_of[v])
        gid = c.group_ids[int(c.group[v])]
        if g < 0:
            return part("stable_group_locked", group=gid)
        if not self.options[g]:
            together = c.round.policy.group_together
            unit = "placement" if together == "placement" else "country"
            return part("stable_group_no_room", unit=unit, group=gid)
        return part("stable_group_outranked", group=gid, options=len(self.options[g]))


def stable_reasons(
    prep: Prepared, chosen: IP
) -> tuple[dict[int, list[Reason]], dict[int, list[Reason]]]:
    """Stable-mode reasons: why each unmatched volunteer that has eligible placements is
    unplaced, and why each placement with eligible volunteers keeps open slots.

    In a stable matching a placement keeps the candidates it ranks highest and a
    volunteer holds the best placement that keeps it, so the reasons speak of ranks, not
    of the round's total score. Volunteers and placements without any eligible partner
    are left out: `matching.explain` says why, and that holds in every mode.
    Returns (volunteer index -> reasons, placement index -> reasons).
    """
    st = _Standing.of(prep, chosen)
    return _unplaced_reasons(st), _open_slot_reasons(st, chosen)


def _unplaced_reasons(st: _Standing) -> dict[int, list[Reason]]:
    """Each unplaced volunteer with eligible placements: their best placements, all at
    once."""
    rk, mk = st.rk, st.mk
    pids = st.prep.compiled.placement_ids
    why_v: dict[int, list[Reason]] = {}
    vs = np.flatnonzero(st.held < 0)
    n_row = rk.vstart[vs + 1] - rk.vstart[vs]
    vs, n_row = vs[n_row > 0], n_row[n_row > 0]
    shown = np.minimum(n_row, SHOWN)
    top = rk.vorder[concat_ranges(rk.vstart[vs], shown)]
    tp = mk.pp[top]
    lines = [
        part("stable_locked", placement=pids[p])
        if locked
        else part("stable_rank", placement=pids[p], rank_nth=r + 1, size=size, worst_nth=w + 1)
        for p, locked, r, size, w in zip(
            tp.tolist(),
            (mk.capacity[tp] <= 0).tolist(),
            rk.prank[top].tolist(),
            (rk.pstart[tp + 1] - rk.pstart[tp]).tolist(),
            st.worst[tp].tolist(),
            strict=True,
        )
    ]
    at = 0
    for v, n, k, grouped in zip(
        vs.tolist(), n_row.tolist(), shown.tolist(), mk.in_group[vs].tolist(), strict=True
    ):
        if grouped:
            why_v[v] = [st.group_note(v)]
        else:
            params: dict[str, object] = {"count": n, "rank_parts": lines[at : at + k]}
            if n > SHOWN:
                params["more"] = n - SHOWN
            why_v[v] = [part("stable_full", **params)]
        at += k
    return why_v


def _open_slot_reasons(st: _Standing, chosen: IP) -> dict[int, list[Reason]]:
    """Each placement with open slots and eligible volunteers: its best candidates it
    does not hold."""
    c = st.prep.compiled
    rk, pv, pp, held = st.rk, st.mk.pv, st.mk.pp, st.held
    vids, pids = c.volunteer_ids, c.placement_ids
    filled = np.bincount(pp[chosen], minlength=c.n_placements)
    ps = np.flatnonzero(filled < c.capacity)
    n_col = rk.pstart[ps + 1] - rk.pstart[ps]
    col = rk.porder[concat_ranges(rk.pstart[ps], n_col)]
    owner = np.repeat(np.arange(len(ps), dtype=np.int64), n_col)
    other = held[pv[col]] != col  # not those it holds
    col, owner = col[other], owner[other]
    n_col = np.bincount(owner, minlength=len(ps))
    first = np.arange(len(col), dtype=np.int64) - (np.cumsum(n_col) - n_col)[owner] < SHOWN
    col, owner = col[first], owner[first]
    lines: list[Reason] = []
    for i, v, h in zip(col.tolist(), pv[col].tolist(), held[pv[col]].tolist(), strict=True):
        if h >= 0:
            lines.append(
                part(
                    "stable_holds",
                    volunteer=vids[v],
                    placement=pids[int(pp[h])],
                    held_nth=int(rk.vrank[h]) + 1,
                    rank_nth=int(rk.vrank[i]) + 1,
                )
            )
        else:
            lines.append(
                part("stable_holder_group", volunteer=vids[v], group_parts=[st.group_note(v)])
            )
    why_p: dict[int, list[Reason]] = {}
    at = 0
    for p, n in zip(ps.tolist(), n_col.tolist(), strict=True):
        if n == 0:
            continue
        k = min(n, SHOWN)
        params: dict[str, object] = {"count": n, "holder_parts": lines[at : at + k]}
        if n > SHOWN:
            params["more"] = n - SHOWN
        why_p[p] = [part("stable_open", **params)]
        at += k
    return why_p
