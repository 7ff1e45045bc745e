"""Groups (couples) in a stable matching, Roth-Peranson style (as in the residency match).

Groups cannot take part in plain deferred acceptance: with couples a stable matching
may not exist. They are inserted afterwards: a group ranks its joint choices (one
eligible placement per member: the same placement, or placements in one country, per
`policy.group_together`) by the sum of the members' own ranks, and applies down that
list; a placement takes the members asked of it only if they all fit among its best
`slots`. Displaced singles continue down their lists; a displaced group member
withdraws the whole group, and singles that had passed a vacated placement are given
the chance to move back to it. This runs with a step cap; afterwards an exact check
(`matching.stable.stability`) says whether the matching is stable and names the groups
that block it.
"""

from __future__ import annotations

import itertools
from typing import Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.prepared import Prepared
from volmatch.matching.stable.market import Market, group_index
from volmatch.matching.stable.preference_lists import Rankings

I64 = NDArray[np.int64]

STEP_CAP_PER_GROUP: Final = 2_000
"""Roth-Peranson steps allowed per group before the procedure gives up (cycles exist)."""


Option = tuple[int, ...]
"""One joint choice of a group: a pair index per member (members in index order)."""


MAX_OPTIONS_PER_COUNTRY: Final = 400
"""With `group_together: country` a group's options in one country are the combinations
of its members' placements there; only the best this many per country are kept."""


def joint_lists(prep: Prepared, rk: Rankings, mk: Market) -> list[list[Option]]:
    """Per group: its joint choices, best first.

    A choice gives every member an eligible placement: the same one for all with
    `group_together: placement`, placements in one country with `country`; a placement
    chosen by several members must have room for all of them. Choices are ordered by
    the sum of the members' own ranks, then by the placements' ids, member by member.
    """
    c = prep.compiled
    by_country = c.round.policy.group_together == "country"
    out: list[list[Option]] = []
    for members in mk.groups:
        # per member: placement -> (pair, rank), from its own ranked list
        own: list[dict[int, tuple[int, int]]] = []
        for v in members:
            lst = rk.vorder[rk.vstart[v] : rk.vstart[v + 1]]
            lst = lst[mk.allowed[lst]]
            own.append({int(mk.pp[i]): (int(i), int(rk.vrank[i])) for i in lst.tolist()})
        scored: list[tuple[int, tuple[int, ...], Option]] = []
        if not by_country:
            common = set(own[0]).intersection(*own[1:])
            for p in common:
                if mk.capacity[p] >= len(members):
                    scored.append(
                        (
                            sum(o[p][1] for o in own),
                            (p,) * len(members),
                            tuple(o[p][0] for o in own),
                        )
                    )
        else:
            for per_member in _by_country(c, own):
                scored.extend(_combinations(per_member, mk.capacity))
        scored.sort()
        out.append([opt for _, _, opt in scored])
    return out


def _by_country(
    c: CompiledRound, own: list[dict[int, tuple[int, int]]]
) -> list[list[list[tuple[int, int, int]]]]:
    """Countries every member may go to, each as per-member lists of (rank, place, pair)."""
    countries = [{int(c.country[p]) for p in o} for o in own]
    out = []
    for k in sorted(set.intersection(*countries)):
        out.append([sorted((r, p, i) for p, (i, r) in o.items() if c.country[p] == k) for o in own])
    return out


def _combinations(
    per_member: list[list[tuple[int, int, int]]], capacity: I64
) -> list[tuple[int, tuple[int, ...], Option]]:
    """The best combinations (one placement per member) by rank sum, room permitting."""
    combos: list[tuple[int, tuple[int, ...], Option]] = []
    for pick in itertools.product(*per_member):
        places = tuple(x[1] for x in pick)
        if len(set(places)) < len(places) and any(
            places.count(p) > capacity[p] for p in set(places)
        ):
            continue
        combos.append((sum(x[0] for x in pick), places, tuple(x[2] for x in pick)))
    combos.sort()
    return combos[:MAX_OPTIONS_PER_COUNTRY]


class Couples:
    """Roth-Peranson insertion of groups into a stable matching of singles.

    Works on Python lists of the touched placements only; groups are few, so this stays
    small next to the array phase.
    """

    def __init__(
        self,
        prep: Prepared,
        rk: Rankings,
        mk: Market,
        vheld: I64,
        vlist: I64,
        vstart: I64,
    ) -> None:
        self.rk, self.mk = rk, mk
        self.pv, self.pp = mk.pv, mk.pp
        self.cap = mk.capacity
        self.vlist, self.vstart = vlist, vstart
        self.vheld = vheld.copy()
        # where[i]: position of pair i in the singles' lists (-1: not a single's pair);
        # ptr[v]: position of v's held pair there, or the end of v's list.
        self.where = np.full(len(self.pv), -1, dtype=np.int64)
        self.where[vlist] = np.arange(len(vlist), dtype=np.int64)
        self.ptr = vstart[1:].copy()
        at = np.flatnonzero(vheld >= 0)
        self.ptr[at] = self.where[vheld[at]]
        self.holders: dict[int, list[int]] = {}
        for i in vheld[vheld >= 0].tolist():
            self.holders.setdefault(int(self.pp[i]), []).append(int(i))
        self.prank = rk.prank
        self.group_of = group_index(mk, len(vstart) - 1)
        self.options = joint_lists(prep, rk, mk)
        self.gptr = [0] * len(mk.groups)
        self.placed = [False] * len(mk.groups)
        self.steps = 0
        self.gave_up = False

    # -- placements ---------------------------------------------------------------------
    def _takes(self, p: int, new: list[int]) -> bool:
        """Whether p would have all of `new` among its best `slots`."""
        pool = self.holders.get(p, [])
        if len(pool) + len(new) <= self.cap[p]:
            return True
        worst = max(int(self.prank[i]) for i in new)
        better = sum(1 for i in pool if self.prank[i] < worst)
        return bool(better + len(new) <= self.cap[p])

    def _admit(self, p: int, new: list[int]) -> list[int]:
        """Add `new` at p (which takes them) and return the holders it lets go."""
        pool = self.holders.get(p, []) + new
        pool.sort(key=lambda i: int(self.prank[i]))
        self.holders[p] = pool[: self.cap[p]]
        return pool[self.cap[p] :]

    def _leave(self, i: int) -> None:
        self.holders[int(self.pp[i])].remove(i)
        self.vheld[int(self.pv[i])] = -1

    # -- applicants ---------------------------------------------------------------------
    def run(self) -> None:
        """Insert every group, following each displacement it causes."""
        stack: list[tuple[str, int]] = [("g", g) for g in reversed(range(len(self.mk.groups)))]
        limit = STEP_CAP_PER_GROUP * max(len(self.mk.groups), 1)
        while stack:
            self.steps += 1
            if self.steps > limit:
                self.gave_up = True
                return
            kind, x = stack.pop()
            dropped, vacated = self._single(x) if kind == "s" else self._group(x)
            for i in dropped:
                self._displaced(i, stack, vacated)
            while vacated:
                self._refill(vacated.pop(), stack, vacated)

    def _displaced(self, i: int, stack: list[tuple[str, int]], vacated: list[int]) -> None:
        """Pair i lost its place: its single proposes on, or its group withdraws whole."""
        v = int(self.pv[i])
        self.vheld[v] = -1
        g = int(self.group_of[v])
        if g < 0:
            self.ptr[v] += 1
            stack.append(("s", v))
            return
        if not self.placed[g]:  # a partner dropped by the same admission withdrew it
            return
        for j in self.options[g][self.gptr[g]]:
            p = int(self.pp[j])
            if j in self.holders.get(p, []):
                self._leave(j)
                vacated.append(p)
            self.vheld[int(self.pv[j])] = -1
        self.placed[g] = False
        self.gptr[g] += 1
        stack.append(("g", g))

    def _single(self, v: int) -> tuple[list[int], list[int]]:
        """Single v applies down its list from its pointer; returns (dropped, vacated)."""
        end = int(self.vstart[v + 1])
        old = int(self.vheld[v])
        while self.ptr[v] < end:
            i = int(self.vlist[self.ptr[v]])
            if i == old:
                return [], []
            p = int(self.pp[i])
            if self._takes(p, [i]):
                dropped = self._admit(p, [i])
                vacated: list[int] = []
                if old >= 0:
                    self._leave(old)
                    vacated.append(int(self.pp[old]))
                self.vheld[v] = i
                return dropped, vacated
            self.ptr[v] += 1
        return [], []

    def _group(self, g: int) -> tuple[list[int], list[int]]:
        """Group g applies down its joint choices; returns (dropped, vacated)."""
        opts = self.options[g]
        while self.gptr[g] < len(opts):
            at: dict[int, list[int]] = {}
            for i in opts[self.gptr[g]]:
                at.setdefault(int(self.pp[i]), []).append(i)
            if all(self._takes(p, new) for p, new in at.items()):
                dropped: list[int] = []
                for p, new in at.items():
                    dropped += self._admit(p, new)
                for i in opts[self.gptr[g]]:
                    self.vheld[int(self.pv[i])] = i
                self.placed[g] = True
                return dropped, []
            self.gptr[g] += 1
        return [], []

    def _refill(self, p: int, stack: list[tuple[str, int]], vacated: list[int]) -> None:
        """A group left p: singles who passed p (it refused them, or they hold something
        worse) and whom p now takes move back to it, best first."""
        lo, hi = int(self.rk.pstart[p]), int(self.rk.pstart[p + 1])
        for i in self.rk.porder[lo:hi].tolist():
            if len(self.holders.get(p, [])) >= self.cap[p]:
                return
            v = int(self.pv[i])
            w = int(self.where[i])
            if w < 0 or self.group_of[v] >= 0 or self.vheld[v] == i or w >= self.ptr[v]:
                continue
            self.ptr[v] = w
            dropped, more = self._single(v)
            vacated.extend(more)
            for j in dropped:
                self._displaced(j, stack, vacated)
