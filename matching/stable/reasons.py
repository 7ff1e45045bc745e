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

I64 = NDArray[np.int64]
IP = NDArray[np.intp]


def _nth(k: int) -> str:
    """The ordinal of k: 1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


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
    nth: list[str]
    """Ordinals by rank: nth[k] is "1st", "2nd" ... for k = 1, 2 ..."""

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
        longest = max(
            int(np.diff(rk.vstart).max(initial=0)), int(np.diff(rk.pstart).max(initial=0))
        )
        nth = [_nth(k) for k in range(longest + 1)]  # ranks are below the longest list
        return cls(prep, rk, mk, held, worst, group_of, options, nth)

    def group_note(self, v: int) -> str:
        """Why a group member cannot be placed."""
        c = self.prep.compiled
        g = int(self.group_of[v])
        gid = c.group_ids[int(c.group[v])]
        if g < 0:
            return f"a member of group {gid} is locked elsewhere, so it cannot join them"
        if not self.options[g]:
            together = c.round.policy.group_together
            return (
                f"no {'placement' if together == 'placement' else 'country'} takes "
                f"every member of group {gid} with room for all of them"
            )
        return (
            f"group {gid} is placed together or not at all, and none of its "
            f"{len(self.options[g])} joint choice(s) kept every member among a placement's "
            "highest-ranked candidates"
        )


def stable_reasons(prep: Prepared, chosen: IP) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
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


def _unplaced_reasons(st: _Standing) -> dict[int, list[str]]:
    """Each unplaced volunteer with eligible placements: their three best placements,
    all at once."""
    rk, mk, nth = st.rk, st.mk, st.nth
    pids = st.prep.compiled.placement_ids
    why_v: dict[int, list[str]] = {}
    vs = np.flatnonzero(st.held < 0)
    n_row = rk.vstart[vs + 1] - rk.vstart[vs]
    vs, n_row = vs[n_row > 0], n_row[n_row > 0]
    shown = np.minimum(n_row, 3)
    top = rk.vorder[concat_ranges(rk.vstart[vs], shown)]
    tp = mk.pp[top]
    lines = [
        f"{pids[p]}: every slot is locked"
        if locked
        else f"{pids[p]} ranks this volunteer {nth[r + 1]} of {size}, and its lowest-ranked "
        f"holder is its {nth[w + 1]}"
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
            more = f" and {n - 3} more" if n > 3 else ""
            why_v[v] = [
                f"stable mode: each of the {n} placement(s) this volunteer is eligible "
                "for is full with volunteers it ranks higher: "
                + "; ".join(lines[at : at + k])
                + more
            ]
        at += k
    return why_v


def _open_slot_reasons(st: _Standing, chosen: IP) -> dict[int, list[str]]:
    """Each placement with open slots and eligible volunteers: its three best candidates
    it does not hold."""
    c = st.prep.compiled
    rk, pv, pp, held, nth = st.rk, st.mk.pv, st.mk.pp, st.held, st.nth
    vids, pids = c.volunteer_ids, c.placement_ids
    filled = np.bincount(pp[chosen], minlength=c.n_placements)
    ps = np.flatnonzero(filled < c.capacity)
    n_col = rk.pstart[ps + 1] - rk.pstart[ps]
    col = rk.porder[concat_ranges(rk.pstart[ps], n_col)]
    owner = np.repeat(np.arange(len(ps), dtype=np.int64), n_col)
    other = held[pv[col]] != col  # not those it holds
    col, owner = col[other], owner[other]
    n_col = np.bincount(owner, minlength=len(ps))
    first = np.arange(len(col), dtype=np.int64) - (np.cumsum(n_col) - n_col)[owner] < 3
    col, owner = col[first], owner[first]
    lines = []
    for i, v, h in zip(col.tolist(), pv[col].tolist(), held[pv[col]].tolist(), strict=True):
        if h >= 0:
            lines.append(
                f"{vids[v]} holds {pids[int(pp[h])]} (their "
                f"{nth[int(rk.vrank[h]) + 1]} choice; this is their "
                f"{nth[int(rk.vrank[i]) + 1]})"
            )
        else:
            lines.append(f"{vids[v]}: {st.group_note(v)}")
    why_p: dict[int, list[str]] = {}
    at = 0
    for p, n in zip(ps.tolist(), n_col.tolist(), strict=True):
        if n == 0:
            continue
        k = min(n, 3)
        more = f" and {n - 3} more" if n > 3 else ""
        why_p[p] = [
            f"stable mode: its {n} other eligible volunteer(s) hold placements they "
            "rank higher or cannot come without their group: "
            + "; ".join(lines[at : at + k])
            + more
        ]
        at += k
    return why_p
