"""The part of a round that stable mode matches: locked pairs are fixed before anything
else, so the locked volunteers do not take part and their placements' slots shrink;
they are neither counted as holders nor as blockers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared, locked_pair_indices

I64 = NDArray[np.int64]
IP = NDArray[np.intp]
B = NDArray[np.bool_]


@dataclass
class Market:
    """The part of the round that stable mode matches (locks taken out)."""

    pv: I64
    pp: I64
    allowed: B
    """Pairs open to matching: the volunteer is not locked, the placement has room."""
    capacity: I64
    """Slots left per placement after the locks."""
    locked: IP
    locked_v: B
    groups: list[list[int]]
    """Members (volunteer indices) of each group of two or more unlocked volunteers."""
    in_group: B


def market(prep: Prepared) -> Market:
    """The round's market: the locks taken out, its groups of two or more listed."""
    c, pairs = prep.compiled, prep.pairs
    pv = pairs.v.astype(np.int64)
    pp = pairs.p.astype(np.int64)
    locked = locked_pair_indices(prep)
    locked_v = np.zeros(c.n_volunteers, dtype=np.bool_)
    locked_v[pv[locked]] = True
    capacity = c.capacity - np.bincount(pp[locked], minlength=c.n_placements)
    allowed = ~locked_v[pv] & (capacity[pp] > 0)
    members: dict[int, list[int]] = {}
    for vi in np.flatnonzero((c.group >= 0) & ~locked_v).tolist():
        members.setdefault(int(c.group[vi]), []).append(vi)
    groups = [m for _, m in sorted(members.items()) if len(m) > 1]
    in_group = np.zeros(c.n_volunteers, dtype=np.bool_)
    for m in groups:
        in_group[m] = True
    # A group member whose partners are locked elsewhere cannot be placed with them.
    for g in set(c.group[locked_v].tolist()) - {-1}:
        in_group[(c.group == g) & ~locked_v] = True
        allowed &= ~((c.group[pv] == g) & ~locked_v[pv])
    return Market(pv, pp, allowed, capacity, locked, locked_v, groups, in_group)


def group_index(mk: Market, n_volunteers: int) -> I64:
    """Per volunteer: its index in `mk.groups`, or -1."""
    group_of = np.full(n_volunteers, -1, dtype=np.int64)
    for g, m in enumerate(mk.groups):
        group_of[m] = g
    return group_of
