"""Local moves beside the windows: an assignment changed by a handful of pairs (a group
moved as one, an ejection chain across hosts or across nationality caps), kept only
when every hard rule still holds and the objective tiers get better.

CP-SAT windows stall on the rules that couple placements far apart (a couple that
must move between countries together, a host at its cap, a placement's nationality
cap): the window that would free the room seldom holds the one that needs it. The
neighbourhoods beside this module (`group_moves`, `host_chains`,
`nationality_exchanges`) build such moves directly; this module holds what they
share: the current assignment seen per volunteer, placement, host and nationality,
and the acceptance test, counted by `matching.rules.evaluate` (the measure the result
reports), never by the move's own bookkeeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.stop import Stop
from volmatch.models import Policy

IntP = NDArray[np.intp]

Move = list[tuple[int, int]]
"""(volunteer, new pair index or -1 for unplaced): the volunteers a move changes."""


@dataclass
class Local:
    """A round seen for local moves: the pairs by volunteer and placement, best first,
    and the acceptance test."""

    prep: Prepared
    policy: Policy
    ev: Evaluator
    locked: IntP

    def __post_init__(self) -> None:
        c, pairs, score = self.prep.compiled, self.prep.pairs, self.prep.scores.total
        self.by_v = np.lexsort((-score, pairs.v))  # each volunteer's pairs, best first
        self.v_start = np.searchsorted(pairs.v[self.by_v], np.arange(c.n_volunteers + 1))
        self.by_p = np.lexsort((-score, pairs.p))
        self.p_start = np.searchsorted(pairs.p[self.by_p], np.arange(c.n_placements + 1))
        self.fixed_v = np.zeros(c.n_volunteers, dtype=np.bool_)
        self.fixed_v[pairs.v[self.locked]] = True
        self.grouped = c.group >= 0
        self.members: dict[int, IntP] = {
            g: np.flatnonzero(c.group == g).astype(np.intp)
            for g in np.unique(c.group[self.grouped]).tolist()
        }

    def options(self, v: int) -> IntP:
        """Volunteer v's pairs, best score first."""
        return self.by_v[self.v_start[v] : self.v_start[v + 1]]

    def candidates(self, p: int) -> IntP:
        """Placement p's pairs, best score first."""
        return self.by_p[self.p_start[p] : self.p_start[p + 1]]

    def movable(self, v: int) -> bool:
        """Whether a chain may move v alone (not locked, in no group)."""
        return not (self.fixed_v[v] or self.grouped[v])

    def view(self, picked: IntP) -> View:
        """The assignment `picked` per volunteer, placement, host and nationality."""
        return View(self, picked)

    def apply(self, picked: IntP, move: Move) -> IntP:
        """`picked` with the move's volunteers at their new pairs (or unplaced)."""
        pairs = self.prep.pairs
        vs = np.array([v for v, _ in move], dtype=np.intp)
        keep = picked[~np.isin(pairs.v[picked], vs)]
        new = np.array([i for _, i in move if i >= 0], dtype=np.intp)
        return np.sort(np.concatenate([keep, new])).astype(np.intp)

    def better(self, picked: IntP, move: Move, values: list[int]) -> tuple[IntP, list[int]] | None:
        """The assignment after the move and its tier values when every hard rule
        holds and the tiers are lexicographically better than `values`; else None."""
        if not move:
            return None
        cand = self.apply(picked, move)
        new = self.ev.values(cand)
        if new <= values or self.ev.breaches(cand, self.locked):
            return None
        return cand, new


class View:
    """Counts of one assignment that the neighbourhoods build moves from (the move is
    checked in full by `Local.better`; these only steer it)."""

    def __init__(self, local: Local, picked: IntP) -> None:
        c, pairs = local.prep.compiled, local.prep.pairs
        self.at = np.full(c.n_volunteers, -1, dtype=np.intp)
        self.at[pairs.v[picked]] = picked
        pp = pairs.p[picked]
        self.load = np.bincount(pp, minlength=c.n_placements)
        self.host_load = np.bincount(c.host[pp], minlength=len(c.hosts))
        self.picked = picked
        self._pp = pp
        self._pv = pairs.v[picked]

    def occupants(self, p: int) -> IntP:
        """Volunteers placed at p."""
        out: IntP = self._pv[self._pp == p].astype(np.intp)
        return out


def run_moves(
    local: Local,
    picked: IntP,
    propose: Callable[[Local, View], list[Move]],
    values: list[int] | None = None,
    rounds: int = 1,
    until: float | None = None,
    counts: dict[str, int] | None = None,
    stop: Stop | None = None,
) -> tuple[IntP, list[int], int]:
    """Apply the improving moves `propose` offers, first come first kept (each tried on
    the assignment as the moves before it left it), `rounds` passes at most (a pass
    with no gain ends it), none tried after `until` (a perf_counter() value); the moves
    offered are added to `counts["offered"]`; none tried once `stop` says stop (the
    caller raises `Stopped`). Returns the assignment, its tier values and the moves
    kept."""
    current = picked
    vals = local.ev.values(current) if values is None else values
    kept = 0
    for _ in range(rounds):
        gained = False
        if until is not None and time.perf_counter() >= until:
            break
        for move in propose(local, local.view(current)):
            if until is not None and time.perf_counter() >= until:
                break
            if stop is not None and stop():
                break
            if counts is not None:
                counts["offered"] = counts.get("offered", 0) + 1
            got = local.better(current, move, vals)
            if got is not None:
                current, vals = got
                kept += 1
                gained = True
        if not gained:
            break
    return current, vals, kept


def gains(local: Local, view: View, limit: int) -> list[tuple[int, int]]:
    """Up to `limit` (volunteer, pair) wishes: a volunteer alone (not locked, in no
    group) and a pair that scores more than where they are (unplaced counts as
    nothing), largest gain first."""
    pairs, score = local.prep.pairs, local.prep.scores.total
    if len(pairs) == 0:
        return []
    now = np.where(view.at >= 0, score[np.maximum(view.at, 0)], -np.inf)
    gain = score - now[pairs.v]
    ok = (gain > 0) & ~local.fixed_v[pairs.v] & ~local.grouped[pairs.v]
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(-gain[idx], kind="stable")][:limit]
    return [(int(pairs.v[i]), int(i)) for i in idx.tolist()]


class Tentative:
    """A chain being built on a `View`: who left their pair and who entered where, so
    that the counts a rule binds (slots, host load, nationality at a placement) can be
    read as the chain leaves them."""

    def __init__(self, local: Local, view: View) -> None:
        self.local, self.view = local, view
        self.left: set[int] = set()
        self.entered: dict[int, int] = {}
        self.host_cap = local.policy.max_per_host
        self.nat_cap = local.policy.max_same_nationality_per_placement

    def copy(self) -> Tentative:
        t = Tentative(self.local, self.view)
        t.left, t.entered = set(self.left), dict(self.entered)
        return t

    def record(self, move: Move) -> None:
        """Count a move found on a copy into this chain."""
        pairs = self.local.prep.pairs
        for u, j in move:
            self.left.add(u)
            if j >= 0:
                self.entered[u] = int(pairs.p[j])
            else:
                self.entered.pop(u, None)

    def occupants(self, p: int) -> list[int]:
        """Volunteers at p once the chain so far is done."""
        here = [u for u in self.view.occupants(p).tolist() if u not in self.left]
        return here + [u for u, q in self.entered.items() if q == p]

    def at_host(self, h: int) -> list[int]:
        """Volunteers at host h once the chain so far is done."""
        c, pairs = self.local.prep.compiled, self.local.prep.pairs
        view = self.view
        pv = pairs.v[view.picked]
        here = pv[c.host[pairs.p[view.picked]] == h].tolist()
        mine = [u for u in here if u not in self.left]
        return mine + [u for u, q in self.entered.items() if int(c.host[q]) == h]

    def blockers(self, v: int, p: int) -> list[int] | None:
        """Volunteers one of whom must leave for v to enter p (None: v fits), each
        satisfying every count that binds, cheapest to move (lowest score now) first
        (empty: someone must leave but nobody may)."""
        c, score = self.local.prep.compiled, self.local.prep.scores.total
        occ = self.occupants(p)
        sets: list[set[int]] = []
        if len(occ) >= int(c.capacity[p]):
            sets.append(set(occ))
        if self.host_cap is not None:
            at_h = self.at_host(int(c.host[p]))
            if len(at_h) >= self.host_cap:
                sets.append(set(at_h))
        if self.nat_cap is not None:
            same = {u for u in occ if c.nationality[u] == c.nationality[v]}
            if len(same) >= self.nat_cap:
                sets.append(same)
        if not sets:
            return None
        out = set.intersection(*sets) - {v}
        now = self.view.at
        return sorted(
            (u for u in out if self.local.movable(u) and u not in self.entered),
            key=lambda u: (int(score[now[u]]) if now[u] >= 0 else 0, u),
        )


CHAIN_BRANCH = 3
"""Volunteers a chain tries ejecting at each step: the cheapest few; more multiply the
chains tried without finding many more."""
CHAIN_OPTIONS = 4
"""Other pairs an ejected volunteer tries, best first."""


def eject_chain(local: Local, t: Tentative, v: int, i: int, depth: int) -> Move | None:
    """A chain that puts v at pair i: whoever must leave (`Tentative.blockers`) moves
    to one of their next best pairs, and so on, `depth` ejections at most; the last
    ejected may end unplaced. None when no such chain exists. `t` is left as it was
    (`Tentative.record` counts the chain in)."""
    pairs = local.prep.pairs
    t = t.copy()
    q = int(pairs.p[i])
    t.left.add(v)
    t.entered.pop(v, None)
    must = t.blockers(v, q)
    t.entered[v] = q
    if must is None:
        return [(v, i)]
    if depth <= 0 or not must:
        return None
    for y in must[:CHAIN_BRANCH]:
        for j in local.options(y)[: CHAIN_OPTIONS + 1].tolist():
            if int(pairs.p[j]) in (q, int(pairs.p[t.view.at[y]])):
                continue
            rest = eject_chain(local, t, y, j, depth - 1)
            if rest is not None:
                return [(v, i), *rest]
    # nobody ejected finds another place: the cheapest goes unplaced (the acceptance
    # test keeps the chain only when that still gains)
    return [(v, i), (must[0], -1)]
