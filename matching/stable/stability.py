"""The exact stability check: blocking pairs of singles and blocking groups."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.stable.couples import joint_lists
from volmatch.matching.stable.market import Market, market
from volmatch.matching.stable.preference_lists import UNRANKED, Rankings, rankings

IP = NDArray[np.intp]

LIST_CAP: Final = 20
"""Longest list of ids an audit or a stability report carries (counts are exact)."""


def blocking(
    prep: Prepared, chosen: IP, rk: Rankings | None = None, mk: Market | None = None
) -> dict[str, Any]:
    """The blocking pairs and blocking groups of an assignment.

    A single volunteer v and a placement p block when v prefers p to its match (any
    eligible p beats no match) and p prefers v to its worst holder or has a free slot.
    A group blocks with a placement on its joint list that it prefers to its current
    one when the placement would take all members among its best `slots`. Locked
    volunteers and their slots are out of the market and never block.
    """
    rk = rk or rankings(prep)
    mk = mk or market(prep)
    c = prep.compiled
    pv, pp = mk.pv, mk.pp
    free_chosen = chosen[~mk.locked_v[pv[chosen]]]
    cur = np.full(c.n_volunteers, UNRANKED, dtype=np.int64)
    cur[pv[free_chosen]] = rk.vrank[free_chosen]
    held = np.bincount(pp[free_chosen], minlength=c.n_placements)
    worst = np.full(c.n_placements, -1, dtype=np.int64)
    np.maximum.at(worst, pp[free_chosen], rk.prank[free_chosen])
    room = held < mk.capacity
    single = mk.allowed & ~mk.in_group[pv]
    block = single & (rk.vrank < cur[pv]) & (room[pp] | (rk.prank < worst[pp]))
    idx = np.flatnonzero(block)
    vids = np.unique(pv[idx])
    pids = np.unique(pp[idx])
    out: dict[str, Any] = {
        "blocking_pairs": len(idx),
        "blocking_volunteers": len(vids),
        "blocking_placements": len(pids),
        "blocking_volunteer_ids": [c.volunteer_ids[v] for v in vids[:LIST_CAP].tolist()],
        "blocking_placement_ids": [c.placement_ids[p] for p in pids[:LIST_CAP].tolist()],
    }
    groups: list[str] = []
    if mk.groups:
        groups = _blocking_groups(prep, rk, mk, chosen)
    out["blocking_groups"] = len(groups)
    out["blocking_group_ids"] = groups[:LIST_CAP]
    return out


def _blocking_groups(prep: Prepared, rk: Rankings, mk: Market, chosen: IP) -> list[str]:
    """The ids of the groups that block the assignment `chosen`."""
    c = prep.compiled
    free = chosen[~mk.locked_v[mk.pv[chosen]]]
    holders: dict[int, list[int]] = {}
    for i in free.tolist():
        holders.setdefault(int(mk.pp[i]), []).append(int(i))
    held = np.full(c.n_volunteers, -1, dtype=np.int64)
    held[mk.pv[chosen]] = chosen
    out: list[str] = []
    for members, options in zip(mk.groups, joint_lists(prep, rk, mk), strict=True):
        current = tuple(int(held[v]) for v in members)
        mine = set(current)
        for opt in options:
            if opt == current:
                break
            at: dict[int, list[int]] = {}
            for i in opt:
                at.setdefault(int(mk.pp[i]), []).append(i)
            # p takes the members it is asked for iff, with the holders it ranks above
            # the worst of them (the group's own members leave), they fit in its slots
            if all(
                sum(
                    1
                    for h in holders.get(p, [])
                    if h not in mine and rk.prank[h] < max(rk.prank[i] for i in new)
                )
                + len(new)
                <= mk.capacity[p]
                for p, new in at.items()
            ):
                out.append(c.group_ids[int(c.group[members[0]])])
                break
    return out
