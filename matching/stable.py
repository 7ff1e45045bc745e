"""Stable mode: deferred acceptance on the compiled arrays, couples, stability audit.

The two sides rank their eligible partners exactly as the contract says: a volunteer by
its `preferences` where they name a placement, then by descending score, ties by
placement id; a placement by its `ranking`, then by descending score, ties by volunteer
id. Ids are sorted in the compiled round, so "ties by id" is "ties by index", and each
side's lists come from one argsort of a packed int64 key over the pair arrays.

Singles are matched by deferred acceptance run in *rounds* on arrays: every free
volunteer proposes to the next placement on its list at once, each touched placement
keeps the best of its current holders and the new proposers (one `argsort` of those
candidates), and the rejected propose again in the next round. The result is the same
as the textbook one-proposal-at-a-time algorithm (deferred acceptance gives the
proposing side's optimal stable matching whatever the order of proposals). The
host-proposing variant (`policy.stable_side: hosts`) is the mirror image: every
placement with open slots offers them to the next volunteers on its list at once.

Groups (couples) cannot take part in plain deferred acceptance: with couples a stable
matching may not exist. They are inserted afterwards, Roth-Peranson style (as in the
residency match): a group ranks its joint choices (one eligible placement per member:
the same placement, or placements in one country, per `policy.group_together`) by the
sum of the members' own ranks, and applies down that list; a placement takes the members
asked of it only if they all fit among its best `slots`. Displaced singles continue down
their lists; a displaced group member withdraws the whole group, and singles that had
passed a vacated placement are given the chance to move back to it. This runs with a
step cap; afterwards an exact check says whether the matching is stable and names the
groups that block it.

Locked pairs are fixed before any of this: the locked volunteers do not take part and
their placements' slots shrink; they are neither counted as holders nor as blockers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.prepared import Prepared, Solution, locked_pair_indices
from volmatch.matching.pure import solve_pure

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]
IP = NDArray[np.intp]
B = NDArray[np.bool_]

LIST_CAP: Final = 20
"""Longest list of ids an audit or a stability report carries (counts are exact)."""

STEP_CAP_PER_GROUP: Final = 2_000
"""Roth-Peranson steps allowed per group before the procedure gives up (cycles exist)."""

_NONE: Final = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Rankings:
    """Both sides' ranked lists of eligible partners, as positions over the pair arrays.

    `vorder` lists pair indices volunteer by volunteer, best first (`vstart` is its CSR
    index); `vrank[i]` is the position of pair i in its volunteer's list (0 = best).
    `porder`, `pstart` and `prank` are the same for placements.
    """

    vorder: I64
    vstart: I64
    vrank: I64
    porder: I64
    pstart: I64
    prank: I64


def _list_positions(c: CompiledRound, pv: I32, pp: I32, ov: I32, op: I32, pos: I32) -> I64:
    """Per pair: the 0-based position of its partner in the owner's explicit list, or a
    huge number where the list does not name it."""
    out = np.full(len(pv), _NONE, dtype=np.int64)
    if len(ov) == 0 or len(pv) == 0:
        return out
    keys = c.pair_keys(pv, pp)  # pairs are placement-major, so these keys are sorted
    want = c.pair_keys(ov, op)
    # Sorted queries let searchsorted walk the keys forward: several times faster.
    by = np.argsort(want)
    want, pos = want[by], pos[by]
    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    found = keys[at] == want
    out[at[found]] = pos[found]
    return out


def _csr(owner: I64, n: int) -> I64:
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=start[1:])
    return start


def _order(owner: I64, listed: I64, neg_score: I64, other: I64, n_other: int) -> I64:
    """Pair indices sorted by (owner, position in its explicit list, -score, other).

    One argsort of a packed int64 key where the four fields fit (they do at any
    realistic size): several times faster than `lexsort` over four arrays.
    """
    n = len(owner)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    named = listed < _NONE
    last = int(listed[named].max()) + 1 if named.any() else 0
    pos = np.where(named, listed, last)  # "not listed" sorts after every listed position
    pos_span = last + 1
    lo, hi = int(neg_score.min()), int(neg_score.max())
    score_span = hi - lo + 1
    width = float(int(owner.max()) + 1) * pos_span * score_span * max(n_other, 1)
    if width >= 2.0**62:
        return np.lexsort((other, neg_score, pos, owner)).astype(np.int64)
    key = ((owner * pos_span + pos) * score_span + (neg_score - lo)) * max(n_other, 1) + other
    return np.argsort(key).astype(np.int64)


def rankings(prep: Prepared) -> Rankings:
    """Both sides' preference lists per the contract (explicit list, score, id)."""
    c, pairs = prep.compiled, prep.pairs
    n = len(pairs)
    v = pairs.v.astype(np.int64)
    p = pairs.p.astype(np.int64)
    neg = -prep.scores.total
    vkey = _list_positions(c, pairs.v, pairs.p, c.pref_v, c.pref_p, c.pref_pos)
    pkey = _list_positions(c, pairs.v, pairs.p, c.rank_v, c.rank_p, c.rank_pos)
    vorder = _order(v, vkey, neg, p, c.n_placements)
    porder = _order(p, pkey, neg, v, c.n_volunteers)
    vstart = _csr(v, c.n_volunteers)
    pstart = _csr(p, c.n_placements)
    vrank = np.empty(n, dtype=np.int64)
    vrank[vorder] = np.arange(n, dtype=np.int64) - vstart[v[vorder]]
    prank = np.empty(n, dtype=np.int64)
    prank[porder] = np.arange(n, dtype=np.int64) - pstart[p[porder]]
    return Rankings(vorder, vstart, vrank, porder, pstart, prank)


def _ranges(starts: I64, lengths: I64) -> I64:
    """Concatenation of `arange(s, s + n)` for each (s, n), without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift = np.repeat(starts - (ends - lengths), lengths)
    return shift + np.arange(total, dtype=np.int64)


def volunteer_proposing(pv: I64, pp: I64, vlist: I64, vstart: I64, gp: I64, capacity: I64) -> I64:
    """Volunteer-optimal stable matching of singles by deferred acceptance in rounds.

    `vlist`/`vstart`: each volunteer's acceptable pairs, best first (CSR); `gp[i]`: a key
    that sorts pairs by placement, then by the placement's preference; `capacity`: slots
    per placement. Returns the held pair of each volunteer (-1 = unmatched).
    """
    n_v = len(vstart) - 1
    ptr = vstart[:-1].copy()
    end = vstart[1:]
    # Each placement keeps its holders in a fixed block of `cap` cells; a placement can
    # never hold more volunteers than propose to it, which bounds the blocks' total.
    cap = np.minimum(capacity, np.bincount(pp[vlist], minlength=len(capacity)))
    soff = np.zeros(len(cap) + 1, dtype=np.int64)
    np.cumsum(cap, out=soff[1:])
    cell = np.full(int(soff[-1]), -1, dtype=np.int64)
    held = np.zeros(len(cap), dtype=np.int64)
    proposers = np.flatnonzero(ptr < end).astype(np.int64)
    mark = np.zeros(len(cap), dtype=np.bool_)
    while len(proposers):
        q = vlist[ptr[proposers]]
        # A mask over the placements beats np.unique here: O(placements), no hashing.
        mark[pp[q]] = True
        touched = np.flatnonzero(mark)
        mark[touched] = False
        current = cell[_ranges(soff[touched], held[touched])]
        cand = np.concatenate([current, q])
        cand = cand[np.argsort(gp[cand], kind="stable")]
        cp = pp[cand]
        group_start = np.searchsorted(cp, cp, side="left")
        pos = np.arange(len(cand), dtype=np.int64) - group_start
        keep = pos < cap[cp]
        cell[soff[cp[keep]] + pos[keep]] = cand[keep]
        held[touched] = np.minimum(cap[touched], np.bincount(cp, minlength=len(cap))[touched])
        rv = pv[cand[~keep]]
        ptr[rv] += 1
        proposers = rv[ptr[rv] < end[rv]]
    out = np.full(n_v, -1, dtype=np.int64)
    # Cells past a placement's `held` count can hold stale entries: read live cells only.
    taken = cell[_ranges(soff[:-1], held)]
    out[pv[taken]] = taken
    return out


def host_proposing(
    pv: I64, pp: I64, plist: I64, pstart: I64, gv: I64, capacity: I64, n_volunteers: int
) -> I64:
    """Host-optimal stable matching of singles: placements offer their open slots to the
    next volunteers on their lists, round after round; a volunteer keeps its best offer.

    `plist`/`pstart`: each placement's acceptable pairs, best first (CSR); `gv[i]`: a key
    that sorts pairs by volunteer, then by the volunteer's preference. Returns the held
    pair of each volunteer (-1 = unmatched).
    """
    n_p = len(pstart) - 1
    ptr = pstart[:-1].copy()
    end = pstart[1:]
    held = np.zeros(n_p, dtype=np.int64)
    vheld = np.full(n_volunteers, -1, dtype=np.int64)
    proposers = np.flatnonzero((ptr < end) & (capacity > 0)).astype(np.int64)
    while len(proposers):
        d = np.minimum(capacity[proposers] - held[proposers], end[proposers] - ptr[proposers])
        offers = plist[_ranges(ptr[proposers], d)]
        ptr[proposers] += d
        tv = np.unique(pv[offers])
        current = vheld[tv]
        current = current[current >= 0]
        cand = np.concatenate([current, offers])
        cand = cand[np.argsort(gv[cand], kind="stable")]
        cv = pv[cand]
        best = np.ones(len(cand), dtype=np.bool_)
        best[1:] = cv[1:] != cv[:-1]
        win = cand[best]
        vheld[pv[win]] = win
        np.add.at(held, pp[win], 1)
        np.subtract.at(held, pp[current], 1)
        lost = pp[cand[~best]]
        proposers = np.unique(lost)
        more = (ptr[proposers] < end[proposers]) & (held[proposers] < capacity[proposers])
        proposers = proposers[more]
    return vheld


@dataclass
class _Market:
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


def _market(prep: Prepared) -> _Market:
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
    return _Market(pv, pp, allowed, capacity, locked, locked_v, groups, in_group)


Option = tuple[int, ...]
"""One joint choice of a group: a pair index per member (members in index order)."""

MAX_OPTIONS_PER_COUNTRY: Final = 400
"""With `group_together: country` a group's options in one country are the combinations
of its members' placements there; only the best this many per country are kept."""


def group_index(mk: _Market, n_volunteers: int) -> I64:
    """Per volunteer: its index in `mk.groups`, or -1."""
    group_of = np.full(n_volunteers, -1, dtype=np.int64)
    for g, m in enumerate(mk.groups):
        group_of[m] = g
    return group_of


def joint_lists(prep: Prepared, rk: Rankings, mk: _Market) -> list[list[Option]]:
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


class _Couples:
    """Roth-Peranson insertion of groups into a stable matching of singles.

    Works on Python lists of the touched placements only; groups are few, so this stays
    small next to the array phase.
    """

    def __init__(
        self,
        prep: Prepared,
        rk: Rankings,
        mk: _Market,
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


def _chosen(vheld: I64, locked: IP) -> IP:
    return np.sort(np.concatenate([vheld[vheld >= 0], locked.astype(np.int64)])).astype(np.intp)


def cheap_bound(prep: Prepared, rk: Rankings) -> int:
    """An upper bound on the total score of any assignment: the smaller of (every
    volunteer at its best pair) and (every placement's slots at its best pair)."""
    s = prep.scores.total
    c = prep.compiled
    if len(s) == 0:
        return 0
    best = np.zeros(c.n_volunteers, dtype=np.int64)
    has = rk.vstart[1:] > rk.vstart[:-1]
    best[has] = np.maximum.reduceat(s[rk.vorder], rk.vstart[:-1][has])
    per_p = np.zeros(c.n_placements, dtype=np.int64)
    has = rk.pstart[1:] > rk.pstart[:-1]
    # Pairs are placement-major, so each placement's pairs are one contiguous block.
    per_p[has] = np.maximum.reduceat(s, rk.pstart[:-1][has])
    return int(min(best.sum(), (per_p * c.capacity).sum()))


def solve_stable(prep: Prepared) -> Solution:
    """The stable matching of the round for `policy.stable_side` (volunteers by default).

    `status` is "feasible" (a stable matching does not maximise the total score);
    `objective` is the chosen pairs' total score; `bound` is `cheap_bound` (an audit
    tightens it to the min-cost-flow optimum). `extra["stable"]` says whether the result
    is stable, which side it favours, and for groups how insertion went and which groups
    block it when no stable matching was found.
    """
    rk = rankings(prep)
    mk = _market(prep)
    side = prep.compiled.round.policy.stable_side
    single = mk.allowed & ~mk.in_group[mk.pv]
    vlist = rk.vorder[single[rk.vorder]]
    vstart = _csr(mk.pv[vlist], prep.compiled.n_volunteers)
    if side == "hosts":
        plist = rk.porder[single[rk.porder]]
        pstart = _csr(mk.pp[plist], prep.compiled.n_placements)
        gv = np.empty(len(mk.pv), dtype=np.int64)
        gv[rk.vorder] = np.arange(len(mk.pv), dtype=np.int64)
        vheld = host_proposing(
            mk.pv, mk.pp, plist, pstart, gv, mk.capacity, prep.compiled.n_volunteers
        )
    else:
        gp = np.empty(len(mk.pv), dtype=np.int64)
        gp[rk.porder] = np.arange(len(mk.pv), dtype=np.int64)
        vheld = volunteer_proposing(mk.pv, mk.pp, vlist, vstart, gp, mk.capacity)
    info: dict[str, Any] = {"side": side, "groups": len(mk.groups)}
    if mk.groups:
        couples = _Couples(prep, rk, mk, vheld, vlist, vstart)
        couples.run()
        vheld = couples.vheld
        info["group_steps"] = couples.steps
        info["gave_up"] = couples.gave_up
    chosen = _chosen(vheld, mk.locked)
    check = blocking(prep, chosen, rk, mk)
    info["stable"] = check["blocking_pairs"] == 0 and check["blocking_groups"] == 0
    if not info["stable"]:
        info["blocking_groups"] = check["blocking_groups"]
        info["blocking_group_ids"] = check["blocking_group_ids"]
        info["blocking_pairs"] = check["blocking_pairs"]
    objective = int(prep.scores.total[chosen].sum())
    return Solution(
        chosen=chosen,
        status="feasible",
        objective=objective,
        bound=max(cheap_bound(prep, rk), objective),
        extra={"stable": info},
    )


def blocking(
    prep: Prepared, chosen: IP, rk: Rankings | None = None, mk: _Market | None = None
) -> dict[str, Any]:
    """The blocking pairs and blocking groups of an assignment.

    A single volunteer v and a placement p block when v prefers p to its match (any
    eligible p beats no match) and p prefers v to its worst holder or has a free slot.
    A group blocks with a placement on its joint list that it prefers to its current
    one when the placement would take all members among its best `slots`. Locked
    volunteers and their slots are out of the market and never block.
    """
    rk = rk or rankings(prep)
    mk = mk or _market(prep)
    c = prep.compiled
    pv, pp = mk.pv, mk.pp
    free_chosen = chosen[~mk.locked_v[pv[chosen]]]
    cur = np.full(c.n_volunteers, _NONE, dtype=np.int64)
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


def _blocking_groups(prep: Prepared, rk: Rankings, mk: _Market, chosen: IP) -> list[str]:
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


def _nth(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _order_by_index(owner: I64, listed: I64, neg_score: I64) -> I64 | None:
    """What `_order` gives, with the pair index standing in for the partner, or None
    where the packed key would not fit.

    Pairs are placement-major and volunteer-minor, so within one owner's pairs the index
    orders the partners as their own indices do. With the index in the key's low bits,
    sorting the keys themselves (no argsort) yields the order: several times faster.
    """
    n = len(owner)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    named = listed < _NONE
    last = int(listed[named].max()) + 1 if named.any() else 0
    pos_span = last + 1
    lo, hi = int(neg_score.min()), int(neg_score.max())
    score_span = hi - lo + 1
    shift = n.bit_length()
    if float(int(owner.max()) + 1) * pos_span * score_span >= 2.0 ** (62 - shift):
        return None
    key = owner * pos_span
    key += np.where(named, listed, last)  # "not listed" sorts after every listed position
    key *= score_span
    key += neg_score
    key -= lo
    key <<= shift
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << shift) - 1
    return key


def _listed_at(c: CompiledRound, keys: I64, ov: I32, op: I32, pos: I32) -> I64:
    """`_list_positions` on the pairs' (sorted) keys, computed once by the caller."""
    out = np.full(len(keys), _NONE, dtype=np.int64)
    if len(ov) == 0 or len(keys) == 0:
        return out
    want = c.pair_keys(ov, op)
    by = np.argsort(want)
    want, pos = want[by], pos[by]
    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    found = keys[at] == want
    out[at[found]] = pos[found]
    return out


def _reason_rankings(prep: Prepared) -> Rankings:
    """`rankings(prep)`, the same arrays, computed faster (see `_order_by_index`)."""
    c, pairs = prep.compiled, prep.pairs
    keys = c.pair_keys(pairs.v, pairs.p)
    if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        return rankings(prep)  # not placement-major after all: the general path
    n = len(pairs)
    vkey = _listed_at(c, keys, c.pref_v, c.pref_p, c.pref_pos)
    pkey = _listed_at(c, keys, c.rank_v, c.rank_p, c.rank_pos)
    del keys
    v = pairs.v.astype(np.int64)
    p = pairs.p.astype(np.int64)
    neg = -prep.scores.total
    vorder = _order_by_index(v, vkey, neg)
    porder = _order_by_index(p, pkey, neg)
    if vorder is None or porder is None:
        return rankings(prep)
    vstart = _csr(v, c.n_volunteers)
    pstart = _csr(p, c.n_placements)
    # a pair's rank is its position in the order less its owner's start
    step = np.arange(n, dtype=np.int64)
    vrank = np.empty(n, dtype=np.int64)
    vrank[vorder] = step
    vrank -= vstart[v]
    prank = np.empty(n, dtype=np.int64)
    prank[porder] = step
    prank -= pstart[p]
    return Rankings(vorder, vstart, vrank, porder, pstart, prank)


def stable_reasons(prep: Prepared, chosen: IP) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Stable-mode reasons: why each unmatched volunteer that has eligible placements is
    unplaced, and why each placement with eligible volunteers keeps open slots.

    In a stable matching a placement keeps the candidates it ranks highest and a
    volunteer holds the best placement that keeps it, so the reasons speak of ranks, not
    of the round's total score. Volunteers and placements without any eligible partner
    are left out: `matching.explain` says why, and that holds in every mode.
    Returns (volunteer index -> reasons, placement index -> reasons).
    """
    c = prep.compiled
    rk, mk = _reason_rankings(prep), _market(prep)
    pv, pp = mk.pv, mk.pp
    held = np.full(c.n_volunteers, -1, dtype=np.int64)
    held[pv[chosen]] = chosen
    free = chosen[~mk.locked_v[pv[chosen]]]
    worst = np.full(c.n_placements, -1, dtype=np.int64)
    np.maximum.at(worst, pp[free], rk.prank[free])
    group_of = group_index(mk, c.n_volunteers)
    options = joint_lists(prep, rk, mk) if mk.groups else []
    together = c.round.policy.group_together
    vids, pids = c.volunteer_ids, c.placement_ids
    longest = max(int(np.diff(rk.vstart).max(initial=0)), int(np.diff(rk.pstart).max(initial=0)))
    nth = [_nth(k) for k in range(longest + 1)]  # ranks are below the longest list

    def group_note(v: int) -> str:
        g = int(group_of[v])
        gid = c.group_ids[int(c.group[v])]
        if g < 0:
            return f"a member of group {gid} is locked elsewhere, so it cannot join them"
        if not options[g]:
            return (
                f"no {'placement' if together == 'placement' else 'country'} takes "
                f"every member of group {gid} with room for all of them"
            )
        return (
            f"group {gid} is placed together or not at all, and none of its "
            f"{len(options[g])} joint choice(s) kept every member among a placement's "
            "highest-ranked candidates"
        )

    # unplaced volunteers: their three best placements, all at once
    why_v: dict[int, list[str]] = {}
    vs = np.flatnonzero(held < 0)
    n_row = rk.vstart[vs + 1] - rk.vstart[vs]
    vs, n_row = vs[n_row > 0], n_row[n_row > 0]
    shown = np.minimum(n_row, 3)
    top = rk.vorder[_ranges(rk.vstart[vs], shown)]
    tp = pp[top]
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
            worst[tp].tolist(),
            strict=True,
        )
    ]
    at = 0
    for v, n, k, grouped in zip(
        vs.tolist(), n_row.tolist(), shown.tolist(), mk.in_group[vs].tolist(), strict=True
    ):
        if grouped:
            why_v[v] = [group_note(v)]
        else:
            more = f" and {n - 3} more" if n > 3 else ""
            why_v[v] = [
                f"stable mode: each of the {n} placement(s) this volunteer is eligible "
                "for is full with volunteers it ranks higher: "
                + "; ".join(lines[at : at + k])
                + more
            ]
        at += k
    # placements with open slots: their three best candidates they do not hold
    filled = np.bincount(pp[chosen], minlength=c.n_placements)
    ps = np.flatnonzero(filled < c.capacity)
    n_col = rk.pstart[ps + 1] - rk.pstart[ps]
    col = rk.porder[_ranges(rk.pstart[ps], n_col)]
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
            lines.append(f"{vids[v]}: {group_note(v)}")
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
    return why_v, why_p


def stability_audit(prep: Prepared, sol: Solution) -> dict[str, Any]:
    """How far a result is from stable, and what stability costs.

    Counts the blocking pairs (and blocking groups) of `sol`, names the volunteers and
    placements involved (up to `LIST_CAP` ids each, counts exact), and reports the price
    of stability: the min-cost-flow optimum of the round minus the total score of its
    stable matching (for `policy.stable_side`). Tightens `sol.bound` to that optimum
    when it is lower, as it is a proven upper bound on any assignment honouring the locks.
    """
    rk = rankings(prep)
    mk = _market(prep)
    out = blocking(prep, sol.chosen, rk, mk)
    is_stable_mode = "stable" in sol.extra
    stable = sol if is_stable_mode else solve_stable(prep)
    # An optimal-mode result of the pure policy is the optimum itself: no second flow.
    pure_optimum = not is_stable_mode and sol.status == "optimal" and not sol.extra
    optimum = sol if pure_optimum else solve_pure(prep)
    out["stable"] = out["blocking_pairs"] == 0 and out["blocking_groups"] == 0
    out["optimal_objective"] = optimum.objective
    out["stable_objective"] = stable.objective
    out["price_of_stability"] = optimum.objective - stable.objective
    out["price_of_stability_pct"] = (
        round(100.0 * (optimum.objective - stable.objective) / optimum.objective, 3)
        if optimum.objective
        else 0.0
    )
    out["optimal_placed"] = len(optimum.chosen)
    out["stable_placed"] = len(stable.chosen)
    if is_stable_mode:
        sol.bound = min(sol.bound, optimum.objective)
    return out


__all__ = [
    "Rankings",
    "blocking",
    "cheap_bound",
    "host_proposing",
    "rankings",
    "solve_stable",
    "stability_audit",
    "stable_reasons",
    "volunteer_proposing",
]
