"""Exact regrets: what a choice costs the round's optimal total.

The pure round is a min-cost flow (`flow.py`): source -> volunteer -> placement -> sink,
plus a bypass for volunteers left out. Given an optimal assignment, forcing one more
unit of flow through an arc (volunteer V to placement P, or one more volunteer into P)
changes the optimum by the cheapest cycle through that arc in the *residual network* of
the optimal flow: the optimal flow has no negative cycle, so every other part of the
difference between two flows costs nothing or more. The regret of a choice is that
cycle's cost, a shortest path: exact, without a re-solve, and the cycle reads as a
vacancy chain ("V188 gives up P060 and moves to P012, ...").

The network is contracted to placements plus the source S and the sink T. A placed
volunteer has one way in (from its placement), so it becomes the edges "a volunteer of
P moves to Q" (cost: its score at P minus at Q; of the volunteers of P who could go to
Q only the cheapest move matters, the others are on no shortest path) and "a volunteer
of P leaves" (P -> S, cost: its score at P). An unplaced volunteer becomes "S -> Q"
(minus its score at Q; only the best one per placement matters). P -> T where P has an
open slot, T -> P where P holds someone who may leave, T -> S where someone eligible is
unplaced and S -> T where someone is placed complete it. Locked volunteers never move,
and the slots they hold are gone from their placement.

Shortest paths need non-negative edge costs: node potentials from a Bellman-Ford pass
(a queue of the nodes that changed; compiled, as are the passes that build the network:
`residual_loops`) make every reduced cost non-negative, since the optimal flow has no
negative cycle; then each question is one Dijkstra (scipy) over ~n_placements nodes.

Questions answered, in score points (the round's scale, never a scaled tie-break):
- `regrets_at(P)`: for every volunteer eligible for P, the drop if V gets a slot of P;
- `regrets_of(V)`: for every placement V is eligible for, the drop if V goes there;
- `unplaced_costs()`: per unplaced volunteer, the drop if they are placed at all (their
  least regret) and where;
- `open_costs()`: per placement with an open slot, the drop if one more of its slots is
  filled (by anyone, moving people where that is cheaper).
`UNREACHABLE` where no assignment allows the choice (a locked volunteer, no slot left).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from volmatch.matching import residual_loops as loops

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]
F = TypeVar("F", bound=Callable[..., Any])
Ix = NDArray[np.signedinteger[Any]]
"""Node, edge or volunteer indices: int32 where they fit."""

UNREACHABLE: Final = -1
"""Regret of a choice that no assignment allows."""

NO_PATH: Final = int(np.iinfo(np.int64).min)
"""A distance where no path exists: distances may be negative (-1 among them, so
`UNREACHABLE` would read a path of -1 points as none), regrets and costs may not."""


class NotOptimal(ValueError):
    """The assignment given is not optimal: its residual network has a negative cycle."""


@dataclass(frozen=True)
class Hop:
    """One step of a vacancy chain: `volunteer` goes from placement `frm` to placement
    `to`. `frm` None: they were unplaced; `to` None: they leave the round. With
    `volunteer` None the step is an open slot of `frm` being taken (the volunteer of the
    step before came to it)."""

    volunteer: int | None
    frm: int | None
    to: int | None
    score_from: int | None = None
    """What the volunteer scores at `frm` (None where they were unplaced)."""
    score_to: int | None = None
    """What they score at `to` (None where they leave)."""


def segment_ranges(starts: NDArray[np.integer[Any]], lengths: NDArray[np.integer[Any]]) -> I64:
    """The indices `starts[k] .. starts[k] + lengths[k] - 1` of every segment, in order."""
    lengths = np.asarray(lengths, dtype=np.int64)
    keep = lengths > 0
    starts, lengths = np.asarray(starts, dtype=np.int64)[keep], lengths[keep]
    if len(lengths) == 0:
        return np.zeros(0, dtype=np.int64)
    step = np.ones(int(lengths.sum()), dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    step[first[1:]] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    step[0] = starts[0]
    return np.cumsum(step)


def _indices(a: NDArray[np.integer] | list[int]) -> NDArray[np.integer]:
    """`a` as an array of indices: as given where it is one already (the pairs' int32
    arrays are not copied), else as int64."""
    out = np.asarray(a)
    return out if out.dtype in (np.int32, np.int64) else out.astype(np.int64)


def _grouped_by(key: NDArray[np.integer]) -> bool:
    """Whether equal keys stand next to each other in ascending order."""
    return len(key) < 2 or bool(np.all(key[1:] >= key[:-1]))


class ResidualNetwork:
    """The residual network of an optimal assignment, ready for regret queries.

    `pv`, `pp`, `score`: the eligible pairs (any order; grouped by placement is fastest);
    `chosen`: the pairs of an optimal assignment; `locked`: those of them that are locked
    (they never move); `capacity`: slots per placement, locked ones included. Raises
    `NotOptimal` when `chosen` is not optimal. `start`: a guess of the node potentials
    (any finite values; those of a network that differs in a few edges, such as the one
    an augmenting path just changed, make the Bellman-Ford pass a level or two instead of
    a pass from zero).
    """

    def __init__(
        self,
        n_volunteers: int,
        capacity: NDArray[np.integer],
        pv: NDArray[np.integer],
        pp: NDArray[np.integer],
        score: NDArray[np.integer],
        chosen: NDArray[np.integer],
        locked: NDArray[np.integer] | None = None,
        start: NDArray[np.integer] | None = None,
    ) -> None:
        self.n_volunteers = n_volunteers
        self._to_source: I64 | None = None
        self.n_placements = npl = len(capacity)
        self.source, self.sink = npl, npl + 1
        self.n_nodes = npl + 2
        self.pv, self.pp = _indices(pv), _indices(pp)
        self.score = np.asarray(score, dtype=np.int64)
        chosen = np.asarray(chosen, dtype=np.int64)
        locked = np.zeros(0, np.int64) if locked is None else np.asarray(locked, np.int64)
        self.at = np.full(n_volunteers, -1, dtype=np.int64)
        """Per volunteer: the chosen pair, or -1."""
        self.at[self.pv[chosen]] = chosen
        self.locked_v = np.zeros(n_volunteers, dtype=np.bool_)
        self.locked_v[self.pv[locked]] = True
        self.free_capacity = np.asarray(capacity, dtype=np.int64) - np.bincount(
            self.pp[locked], minlength=npl
        )
        # a pair can be used when its volunteer may move and a slot of its placement is
        # not held by a lock (the pairs the flow of `pure` sees): every pair, in rounds
        # without locks and with a slot at every placement (no gather over the pairs)
        self._all_usable = not len(locked) and bool(np.all(self.free_capacity > 0))
        if self._all_usable:
            self.usable = np.ones(len(self.pp), dtype=np.bool_)
        else:
            self.usable = (self.free_capacity > 0)[self.pp]
            if len(locked):
                self.usable &= ~self.locked_v[self.pv]
        movers = chosen[~self.locked_v[self.pv[chosen]]]
        self.fill = np.bincount(self.pp[movers], minlength=npl)
        """Per placement: the volunteers placed there who may move."""
        self.open = self.fill < self.free_capacity
        self._build(movers)
        n = self.n_nodes
        # the edges grouped by tail: the forward network's layout, and the potentials'
        # pass that relaxes only the edges out of the nodes that changed
        n_edges = len(self.tail)
        out_ptr = np.zeros(n + 1, dtype=np.int64)
        out_edges = np.empty(n_edges, dtype=self.tail.dtype)
        out_head = np.empty(n_edges, dtype=np.int32)
        out_cost = np.empty(n_edges, dtype=np.int64)
        self._loop(loops.group_by_tail)(
            self.tail, self.indptr, self.cost, out_ptr, out_edges, out_head, out_cost
        )
        self._out_edges = out_edges
        """Per place of the edges grouped by tail (`forward`): the edge."""
        self.potential = self._potentials(out_ptr, out_head, out_cost, start)
        self.reduced = np.empty(n_edges, dtype=np.float64)
        forward = np.empty(n_edges, dtype=np.float64)
        self._loop(loops.reduced_costs)(
            self.cost,
            self.tail,
            self.indptr,
            self.potential,
            out_ptr,
            out_head,
            out_cost,
            self.reduced,
            forward,
        )
        del out_cost
        self.backward = csr_matrix((self.reduced, self.tail, self.indptr), shape=(n, n))
        """Row = head: the network reversed, for distances *to* a node."""
        self.forward = csr_matrix(
            (forward, out_head, out_ptr.astype(self.indptr.dtype)), shape=(n, n)
        )
        """Row = tail: the network, for distances *from* a node."""

    def _loop(self, f: F) -> F:
        """The loop `f` of `residual_loops` as this round runs it (compiled for large
        rounds)."""
        return loops.loop(f, len(self.pp))

    # -- the contracted network ------------------------------------------------------

    def _build(self, movers: I64) -> None:
        """Edge arrays grouped by head (placements, then S, then T): `tail`,
        `cost` and `via` (the volunteer whose move the edge is, or -1)."""
        S, T, npl = self.source, self.sink, self.n_placements
        pv, pp, w = self.pv, self.pp, self.score
        # the home placement and score per volunteer: read per move from tables of one
        # entry per volunteer, not from the pairs
        ix: type[np.signedinteger[Any]] = (
            np.int32
            if _most_edges(len(pp), npl, self.n_volunteers) < np.iinfo(np.int32).max
            else np.int64
        )
        home_p: Ix = np.full(self.n_volunteers, -1, dtype=ix)
        home_w = np.zeros(self.n_volunteers, dtype=np.int64)
        at = self.at >= 0
        home_p[at], home_w[at] = pp[self.at[at]], w[self.at[at]]
        npl_edges = self._placement_rows(home_p, home_w, ix)
        tail, cost, via, indptr = self.tail, self.cost, self.via, self.indptr
        # S's row (a volunteer of P leaves; T -> S where someone waits), then T's (P -> T
        # where P has an open slot; S -> T where someone may leave)
        s_tails = np.concatenate([pp[movers], [T] if self.anyone_waiting else []])
        t_tails = np.concatenate([np.flatnonzero(self.open), [S] if len(movers) else []])
        s0 = npl_edges
        t0 = s0 + len(s_tails)
        n_edges = t0 + len(t_tails)
        for a in (tail, cost, via):
            a.resize(n_edges, refcheck=False)  # in place: the rows took fewer than the pairs
        tail[s0:t0] = s_tails
        cost[s0:t0] = 0
        via[s0:t0] = -1
        cost[s0 : s0 + len(movers)] = w[movers]
        via[s0 : s0 + len(movers)] = pv[movers]
        tail[t0:], cost[t0:], via[t0:] = t_tails, 0, -1
        indptr[S], indptr[T], indptr[T + 1] = s0, t0, n_edges

    def _pass_args(self) -> tuple[I64, I64, I64, B]:
        """The arguments every compiled pass over the pairs takes after the pairs' own:
        the order that groups them by placement (empty: they come grouped), each
        placement's first position, the chosen pair per volunteer, which pairs can be
        used (empty: all)."""
        order = np.zeros(0, np.int64) if self._order is None else self._order
        usable = np.zeros(0, np.bool_) if self._all_usable else self.usable
        return order, self._bounds, self.at, usable

    def _placement_rows(self, home_p: Ix, home_w: I64, ix: type[np.signedinteger[Any]]) -> int:
        """The placements' rows of the edge arrays (`residual_loops.placement_rows`), in
        arrays with room for S's and T's rows after them; returns where they end. Keeps
        which pairs wait (`_wait`, by position in placement order) and each placement's
        best waiting pair (`enter_pair`)."""
        npl, pp = self.n_placements, self.pp
        self._order = None if _grouped_by(pp) else np.argsort(pp, kind="stable")
        self._bounds = np.searchsorted(
            pp if self._order is None else pp[self._order], np.arange(npl + 1, dtype=pp.dtype)
        ).astype(np.int64)
        self._wait = np.zeros(len(pp), dtype=np.bool_)
        """Per pair, in placement order: a usable pair of an unplaced volunteer."""
        room = len(pp) + self.n_volunteers + npl + 2  # every pair, then S's and T's rows
        self.tail: Ix = np.empty(room, dtype=ix)
        self.cost = np.empty(room, dtype=np.int64)
        self.via: Ix = np.empty(room, dtype=ix)
        self.indptr: Ix = np.empty(self.n_nodes + 1, dtype=ix)
        self.enter_pair = np.empty(npl, dtype=np.int64)
        """Per placement: the pair of the best unplaced volunteer who could come, or -1."""
        order, bounds, _, usable = self._pass_args()
        end = self._loop(loops.placement_rows)(
            self.pv,
            self.score,
            order,
            bounds,
            usable,
            home_p,
            home_w,
            self.fill,
            self.source,
            self.sink,
            self._wait,
            self.enter_pair,
            self.indptr,
            self.tail,
            self.cost,
            self.via,
        )
        self.anyone_waiting = bool(self._wait.any())
        return int(end)

    def _potentials(
        self,
        out_ptr: I64,
        out_head: NDArray[np.int32],
        out_cost: I64,
        start: NDArray[np.integer] | None,
    ) -> I64:
        """Feasible potentials: shortest distances from a virtual root joined to every
        node at cost `start` (0 where None), relaxing the edges out of the nodes that
        changed (`out_ptr`, `out_head`, `out_cost`: the edges grouped by tail). They
        converge when there is no negative cycle, to potentials that leave no reduced
        cost negative."""
        n = self.n_nodes
        if start is None:
            d = np.zeros(n, dtype=np.int64)
        else:
            d = np.asarray(start, dtype=np.int64).copy()
        if not self._loop(loops.shortest_from_root)(d, out_ptr, out_head, out_cost):
            raise NotOptimal(
                "the assignment is not optimal: its residual network has a negative cycle"
            )
        return d

    # -- distances ---------------------------------------------------------------------

    def _dijkstra(self, graph: csr_matrix, sources: I64) -> tuple[F64, I64]:
        """Reduced distances from the nearest of `sources` and the predecessor tree."""
        dist, pred, _ = dijkstra(graph, indices=sources, return_predecessors=True, min_only=True)
        return dist, pred

    def _true(
        self, reduced: F64, frm: int | NDArray[np.integer], to: int | NDArray[np.integer]
    ) -> I64:
        """Reduced distances back on the score scale (NO_PATH where infinite)."""
        finite = np.isfinite(reduced)
        out = np.where(finite, reduced, 0).astype(np.int64)
        out = out - self.potential[frm] + self.potential[to]
        return np.where(finite, out, NO_PATH).astype(np.int64)

    # -- regrets -----------------------------------------------------------------------

    def _target(self, v: NDArray[np.integer]) -> I64:
        """Where a volunteer's forced move closes its cycle: its placement, or S."""
        home = self.at[v]
        placed = home >= 0
        out = np.full(len(v), self.source, dtype=np.int64)
        out[placed] = self.pp[home[placed]]
        return out

    def _regret(self, pairs: I64, to_target: I64) -> I64:
        """Regret of each pair given d(its placement -> its volunteer's target)."""
        home = self.at[self.pv[pairs]]
        back = np.zeros(len(pairs), dtype=np.int64)
        placed = home >= 0
        back[placed] = self.score[home[placed]]
        none = to_target == NO_PATH
        out = np.where(none, 0, to_target) - self.score[pairs] + back
        out[none | ~self.usable[pairs]] = UNREACHABLE
        out[home == pairs] = 0  # already there (a locked pair too)
        return out

    def regrets_at(self, p: int) -> tuple[I64, I64]:
        """Every pair at placement `p` and its regret (one Dijkstra from `p`)."""
        pairs = np.flatnonzero(self.pp == p)
        reduced, _ = self._dijkstra(self.forward, np.array([p]))
        targets = self._target(self.pv[pairs])
        return pairs, self._regret(pairs, self._true(reduced[targets], p, targets))

    def regrets_of(self, v: int) -> tuple[I64, I64]:
        """Every pair of volunteer `v` and its regret (one Dijkstra to `v`'s target)."""
        pairs = np.flatnonzero(self.pv == v)
        if len(pairs) == 0 or self.locked_v[v]:
            return pairs, np.where(self.at[v] == pairs, 0, UNREACHABLE).astype(np.int64)
        target = int(self._target(np.array([v]))[0])
        reduced, _ = self._dijkstra(self.backward, np.array([target]))
        places = self.pp[pairs]
        return pairs, self._regret(pairs, self._true(reduced[places], places, target))

    def to_source(self) -> I64:
        """Per placement P: the cheapest way from P to S in score points (NO_PATH
        where none): an unplaced volunteer forced into P costs it minus their score
        there. One Dijkstra to S, made once (it also keeps the tree `moves_to_source`
        reads)."""
        if self._to_source is None:
            reduced, self._pred_to_source = self._dijkstra(self.backward, np.array([self.source]))
            places = np.arange(self.n_placements)
            self._to_source = self._true(reduced[places], places, self.source)
        return self._to_source

    def unplaced_costs(self) -> tuple[I64, I64]:
        """Per volunteer: the least regret of placing them anywhere and the pair where
        it is reached (one Dijkstra to S). UNREACHABLE and -1 where no pair can be used;
        0 and the own pair for placed volunteers."""
        to_source = self.to_source()
        cost = np.zeros(self.n_volunteers, dtype=np.int64)
        best = np.full(self.n_volunteers, -1, dtype=np.int64)
        order, bounds, _, _ = self._pass_args()
        self._loop(loops.least_entries)(
            self.pv, self.score, order, bounds, self._wait, to_source, NO_PATH, cost, best
        )
        cost[best < 0] = UNREACHABLE
        placed = self.at >= 0
        cost[placed] = 0
        best[placed] = self.at[placed]
        return cost, best

    def distances_from(self, node: int) -> I64:
        """Shortest distances (score points) from `node` to every node of the network,
        NO_PATH where none (one Dijkstra)."""
        reduced, _ = self._dijkstra(self.forward, np.array([node]))
        return self._true(reduced, node, np.arange(self.n_nodes))

    def open_costs(self) -> I64:
        """Per placement with an open slot: the least drop if one more of its slots is
        filled (UNREACHABLE where nobody can come); 0 for full placements.

        The cycle runs P -> T and back from T to P by any way but T -> P itself (that
        would empty the slot it fills): through T -> S (someone unplaced comes in) or
        T -> Q (someone leaves another placement Q). So the answer is the distance to P
        from the nearest of those starts other than P, starting at the reduced cost of
        T -> start, never through T again (a path back through T closes a second cycle
        instead of filling the slot): a run from T itself, which a shortest-path run
        never re-enters, and whose edges out are those to the starts. One run prices
        every P whose shortest path leaves from another start; the others are starts
        whose nearest start is themselves, and `_repriced_without_self` prices them all
        in one more run, on the few nodes their own start reaches first.
        """
        npl, T = self.n_placements, self.sink
        out = np.zeros(npl, dtype=np.int64)
        want = np.flatnonzero(self.open)
        self._open_pred: dict[int, I64] = {}
        """Per open placement: the predecessor tree its chain follows inside its own
        cell (`_open_cell`); outside it, every chain follows the first run's tree."""
        self._open_cell = np.full(self.n_nodes, -1, dtype=np.int64)
        if len(want) == 0:
            return out
        reduced, pred = self._dijkstra(self.forward, np.array([T]))
        self._open_first = pred
        best = reduced[want].copy()
        origin = _origins(pred, T)
        own = want[origin[want] == want]  # open starts priced by their own start
        mine = np.ones(len(want), dtype=np.bool_)
        pred_again = pred
        if len(own):
            offsets = np.full(self.n_nodes, np.inf)
            g, lo, hi = self.forward, int(self.forward.indptr[T]), int(self.forward.indptr[T + 1])
            offsets[g.indices[lo:hi]] = g.data[lo:hi]
            again, pred_again = self._repriced_without_self(reduced, pred, origin, own, offsets)
            mine = origin[want] != want
            best[~mine] = again
            self._open_cell = origin[: self.n_nodes]
        for p, first in zip(want.tolist(), mine.tolist(), strict=True):
            self._open_pred[p] = pred if first else pred_again
        self._open_steps = {id(t): self._steps(t) for t in (pred, pred_again)}
        """Per tree (by id): the steps `chain_to_open` walks."""
        pot = self.potential
        finite = np.isfinite(best)
        true = np.where(finite, best, 0).astype(np.int64) - pot[T] + pot[want]
        out[want] = np.where(finite, true, UNREACHABLE)
        return out

    def _repriced_without_self(
        self, reduced: F64, pred: I64, origin: I64, own: I64, offsets: F64
    ) -> tuple[F64, I64]:
        """For each start P of `own` (their shortest path from T leaves by P
        itself): the reduced distance to P from the nearest *other* start, and a
        predecessor tree for all of them.

        P's cell (the nodes whose shortest path leaves by P) is all that changes once P
        is no start: every other node keeps its distance, by a path that avoids P. So a
        path from another start enters P's cell last from a node outside it (at that
        node's distance plus the edge), or leaves from a start inside it, and ends inside
        the cell. The cells are disjoint: one run over them all, with those entries as
        edges from a root, answers every P of `own` at once. The tree returned holds the
        cells' nodes (a chain leaves P's cell by the first run's tree)."""
        T, n = self.sink, self.n_nodes
        in_own = np.zeros(n + 1, dtype=np.bool_)
        in_own[own] = True
        cell_of = np.where(origin >= 0, origin, n)  # n: no cell (the root's slot)
        nodes = np.flatnonzero(in_own[cell_of[:n]])
        k = len(nodes)
        index = np.full(n, -1, dtype=np.int64)
        index[nodes] = np.arange(k)
        # the edges into the cells (the backward network: grouped by head)
        g = self.backward
        lo, hi = g.indptr[nodes], g.indptr[nodes + 1]
        e = segment_ranges(lo, hi - lo)
        head = np.repeat(nodes, hi - lo)
        tail = g.indices[e].astype(np.int64)
        w = g.data[e]
        keep = tail != T  # T's edges are out of the network
        inside = keep & (cell_of[tail] == cell_of[head])
        enter = keep & ~inside & np.isfinite(reduced[tail])
        # the cheapest entry of each cell node: from outside, or as a start (not P)
        entry = np.where(nodes != cell_of[nodes], offsets[nodes], np.inf)
        entry_from = np.full(k, n, dtype=np.int64)  # n: the root
        via = reduced[tail[enter]] + w[enter]
        at = index[head[enter]]
        order = np.lexsort((tail[enter], via, at))  # per node: cheapest, lowest tail
        at, via, frm = at[order], via[order], tail[enter][order]
        first = np.ones(len(at), dtype=np.bool_)
        first[1:] = at[1:] != at[:-1]
        better = via[first] < entry[at[first]]
        entry[at[first][better]] = via[first][better]
        entry_from[at[first][better]] = frm[first][better]
        # the cells' own edges by tail, and the root (k) before each entry
        it, ih, iw = index[tail[inside]], index[head[inside]], w[inside]
        reach = np.flatnonzero(np.isfinite(entry))
        rows = np.concatenate([it, np.full(len(reach), k, dtype=np.int64)])
        order = np.argsort(rows, kind="stable")
        indptr = np.searchsorted(rows[order], np.arange(k + 2))
        small = csr_matrix(
            (
                np.concatenate([iw, entry[reach]])[order],
                np.concatenate([ih, reach])[order],
                indptr,
            ),
            shape=(k + 1, k + 1),
        )
        dist, small_pred = self._dijkstra(small, np.array([k]))
        # one tree for them all: inside the cells the small run's, else the first's
        tree = np.asarray(pred, dtype=np.int64).copy()
        sp = np.asarray(small_pred[:k], dtype=np.int64)
        inner = np.concatenate([nodes, [-1]])[np.where(sp >= 0, np.minimum(sp, k), k)]
        tree[nodes] = np.where(sp == k, entry_from, inner)
        return dist[index[own]], tree

    # -- vacancy chains ----------------------------------------------------------------

    def moves_to_source(self) -> tuple[I64, I64, I64]:
        """For every node on the cheapest way to S (call `unplaced_costs` first): the next
        node, the volunteer whose move the step is (-1 for a step without one) and the
        step's cost (their score before minus after). The
        step P -> Q means: a volunteer of P moves to Q; P -> S: one of P leaves; P -> T
        then T -> S: the one who came took an open slot of P."""
        nxt = np.asarray(self._pred_to_source, dtype=np.int64)
        edges = self._tree_edges(nxt, toward=True)
        on = edges >= 0
        via = np.full(self.n_nodes, -1, dtype=np.int64)
        via[on] = self.via[edges[on]]
        cost = np.zeros(self.n_nodes, dtype=np.int64)
        cost[on] = self.cost[edges[on]]
        return nxt, via, cost

    def chain_to_source(
        self, p: int, nxt: Sequence[int], via: Sequence[int], cost: Sequence[int]
    ) -> list[Hop]:
        """The hops that free a slot of `p` for someone unplaced, cheapest first to last:
        who gives up their slot and where they go, until someone leaves the round or an
        open slot is taken (`nxt`, `via`, `cost`: `moves_to_source`, as arrays or, for
        many chains, as lists)."""
        hops: list[Hop] = []
        node = p
        home = self._home_scores
        while node not in (self.source, self.sink) and len(hops) < self.n_nodes:
            step = int(nxt[node])
            if step < 0:
                break
            if step == self.sink:
                hops.append(Hop(None, node, None))  # an open slot of `node` is taken
            else:
                who = int(via[node])
                before = home[who]
                if step == self.source:
                    hops.append(Hop(who, node, None, before))
                else:
                    hops.append(Hop(who, node, step, before, before - int(cost[node])))
            node = step
        return hops

    @cached_property
    def _home_scores(self) -> list[int]:
        """Per volunteer: their score where they are placed (0 where unplaced), for the
        chains' hops."""
        out = np.zeros(self.n_volunteers, dtype=np.int64)
        at = self.at >= 0
        out[at] = self.score[self.at[at]]
        return out.tolist()

    def chain_to_open(self, p: int) -> list[Hop]:
        """The hops that fill one more slot of `p` (call `open_costs` first), from `p`
        back: who comes to `p` and from where, then who fills their place, until a slot
        is simply left open or someone unplaced comes in. `Hop.frm` None: the volunteer
        was unplaced."""
        tree = self._open_pred.get(p)
        if tree is None:
            return []
        first, cell = self._open_first, self._open_cell
        steps, home = self._open_steps, self._home_scores
        hops: list[Hop] = []
        node = p
        while len(hops) < self.n_nodes:
            # inside p's own cell the tree that priced it without itself, then the first
            prev_of, who_of, cost_of = steps[id(tree) if cell[node] == p else id(first)]
            prev = prev_of[node]
            if prev < 0 or prev >= self.n_nodes or prev == self.sink:  # the chain starts here
                break
            who = who_of[node]
            if prev == self.source:
                hops.append(Hop(who, None, node, None, -cost_of[node]))
                break
            before = home[who]
            hops.append(Hop(who, prev, node, before, before - cost_of[node]))
            node = prev
        return hops

    def _tree_edges(self, parent: NDArray[np.integer], toward: bool) -> I64:
        """Per node of a shortest-path tree (`parent`): the edge of its step, x -> parent
        (`toward`) or parent -> x, as `tight_edge` picks it; -1 where none."""
        g = self.forward
        edges: I64 = self._loop(loops.tree_edges)(
            parent,
            self.indptr,
            self.tail,
            self.reduced,
            g.indptr,
            self._out_edges,
            g.indices,
            g.data,
            self.via,
            toward,
        )
        return edges

    def _steps(self, tree: I64) -> tuple[list[int], list[int], list[int]]:
        """Per node of an open slot's tree: its parent, and the volunteer and cost of
        the step from there (`via`, `cost` of `_tree_edges`), as lists for the walks."""
        edges = self._tree_edges(tree, toward=False)
        on = edges >= 0
        who = np.full(len(tree), -1, dtype=np.int64)
        who[on] = self.via[edges[on]]
        cost = np.zeros(len(tree), dtype=np.int64)
        cost[on] = self.cost[edges[on]]
        return np.asarray(tree, dtype=np.int64).tolist(), who.tolist(), cost.tolist()

    def tight_edge(self, tail: int, head: int) -> int:
        """The edge tail -> head of least reduced cost (lowest volunteer among equals), -1
        where there is none: the step of a shortest-path tree a vacancy chain follows
        (`via[edge]` is who moves, `cost[edge]` what it costs)."""
        lo, hi = int(self.indptr[head]), int(self.indptr[head + 1])
        cand = np.flatnonzero(self.tail[lo:hi] == tail) + lo
        if len(cand) == 0:
            return -1
        rc = self.reduced[cand]
        cand = cand[rc == rc.min()]
        return int(cand[np.argmin(self.via[cand])])


def _most_edges(n_pairs: int, n_placements: int, n_volunteers: int) -> int:
    """A bound on the edges of a network: a move per pair, an edge in and out of S
    and T per placement, and one to S per volunteer."""
    return n_pairs + 3 * n_placements + n_volunteers + 2


def _origins(pred: NDArray[np.integer], root: int) -> I64:
    """Per node of a shortest-path tree from `root`: the node its path leaves the root
    by (itself for the root's children), -1 where unreached (by pointer jumping)."""
    n = len(pred)
    up = np.asarray(pred, dtype=np.int64).copy()
    idx = np.arange(n, dtype=np.int64)
    top = (up == root) | (up < 0)
    up[top] = idx[top]
    while True:
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    up[(pred < 0) & (idx != root) | (idx == root)] = -1
    return up
