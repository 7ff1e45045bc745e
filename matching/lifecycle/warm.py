"""Backfill from the published optimum: one augmenting cycle per freed slot, instead of
a new min-cost flow over the whole round.

Take the offers that stand (frozen and pending, the declined ones gone) and the
capacities less the declined slots. If that assignment is optimal for the backfill's
weights (checked: `ResidualNetwork` raises `NotOptimal` when its residual network has a
negative cycle), giving one slot back to placement P moves the optimum by the cheapest
cycle through the new arc P -> T: the arc, then the cheapest way from T back to P. That
way ends with one volunteer coming to P, either someone unplaced (reached from T at no
cost: one fewer unplaced) or someone placed at Q (reached at the shortest distance from
T to Q, then their score at Q minus at P). Distances come from one Dijkstra on the
residual network's reduced costs. Successive cheapest cycles keep the flow optimal
(successive shortest paths), so after all freed slots the assignment is the exact
optimum of the backfill, as the full flow of `backfill._flow_backfill` would find, and
the vacancy chain is the path itself. Any cycle with no gain leaves the slot open.

Used for the pure policy without withdrawn needs; `None` (the caller runs the flow)
when the standing offers are not optimal (the published result was not this round's
optimum, or the round changed since).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from volmatch.matching.prepared import Prepared
from volmatch.matching.regret import NotOptimal, ResidualNetwork

I64 = NDArray[np.int64]

_UNSET: Final = -1


def augment_freed_slots(
    prep: Prepared,
    weight: I64,
    usable: NDArray[np.bool_],
    capacity: I64,
    chosen: I64,
    locked: I64,
    freed: list[int],
) -> I64 | None:
    """The optimal assignment (pair indices) after giving one slot back to each placement
    in `freed`, starting from `chosen`, optimal for `weight` on the `usable` pairs with
    `capacity` (slots of the `locked` pairs included); None when `chosen` is not optimal.
    """
    pairs = prep.pairs
    n_v = prep.compiled.n_volunteers
    idx = np.flatnonzero(usable)
    sub_of = np.full(len(pairs), _UNSET, dtype=np.int64)
    sub_of[idx] = np.arange(len(idx))
    pv, pp, w = pairs.v[idx].astype(np.int64), pairs.p[idx].astype(np.int64), weight[idx]
    cap = capacity.astype(np.int64).copy()
    cur = sub_of[chosen]
    lock = sub_of[locked]
    if (cur < 0).any() or (lock < 0).any():
        return None
    try:  # the check that `chosen` is optimal, and the first freed slot's network
        net = ResidualNetwork(n_v, cap, pv, pp, w, cur, lock)
    except NotOptimal:
        return None
    for k, p in enumerate(freed):
        if k:
            net = ResidualNetwork(n_v, cap, pv, pp, w, cur, lock)
        cur = augment_slot(net, pv, pp, w, cur, p)
        cap[p] += 1
    return np.sort(idx[cur])


def augment_slot(net: ResidualNetwork, pv: I64, pp: I64, w: I64, cur: I64, p: int) -> I64:
    """`cur` after the cheapest gaining cycle through one more slot of `p` (the same
    object, unchanged, when no cycle gains). `net` is the residual network of `cur` over
    the pairs `pv`, `pp`, `w` (pairs at `p` beyond those of `net` may follow its own:
    a placement the network does not hold yet, numbered `net.n_placements`)."""
    return augment_slot_carrying(net, pv, pp, w, cur, p)[0]


def augment_slot_carrying(
    net: ResidualNetwork, pv: I64, pp: I64, w: I64, cur: I64, p: int
) -> tuple[I64, I64]:
    """`augment_slot`, and a start for the potentials of the network after it (nodes as
    in `net`): `net`'s potentials plus the reduced distances from T, the successive
    shortest paths' update, which leaves the path tight and the other edges as they were
    non-negative; nodes T does not reach at the farthest distance. Pass it, laid out
    with `carried_potentials`, as `ResidualNetwork(start=...)`: its Bellman-Ford pass
    then repairs a few edges instead of starting from zero."""
    T = net.sink
    reduced, pred = dijkstra(net.forward, indices=[T], return_predecessors=True)
    reduced, pred = np.asarray(reduced).ravel(), np.asarray(pred).ravel()
    finite = np.isfinite(reduced)
    far = float(reduced[finite].max()) if finite.any() else 0.0
    guess = net.potential + np.rint(np.where(finite, reduced, far)).astype(np.int64)
    return _augmented(net, pv, pp, w, cur, p, reduced, pred), guess


def carried_potentials(guess: I64, n_placements: int, n_new: int) -> I64:
    """`guess` (the potentials of a network of `n_placements` placements, then S and T)
    laid out for one of `n_new >= n_placements` placements: the placements it lacks
    start at the highest guess (the Bellman-Ford pass lowers them through their edges
    in)."""
    out = np.full(n_new + 2, int(guess.max()), dtype=np.int64)
    out[:n_placements] = guess[:n_placements]
    out[n_new], out[n_new + 1] = guess[n_placements], guess[n_placements + 1]
    return out


def _augmented(
    net: ResidualNetwork,
    pv: I64,
    pp: I64,
    w: I64,
    cur: I64,
    p: int,
    reduced: NDArray[np.float64],
    pred: I64,
) -> I64:
    """`augment_slot` given the Dijkstra from T (`reduced` distances, `pred` tree)."""
    T = net.sink
    finite = np.isfinite(reduced)
    nodes = np.arange(net.n_nodes)
    dist = np.full(net.n_nodes, np.inf)
    dist[finite] = reduced[finite] - net.potential[T] + net.potential[nodes[finite]]
    # candidates: every usable pair at p whose volunteer may move
    at_p = np.flatnonzero((pp == p) & ~net.locked_v[pv])
    home = net.at[pv[at_p]]
    unplaced = home < 0
    cost = np.full(len(at_p), np.inf)
    cost[unplaced] = -w[at_p[unplaced]].astype(np.float64)
    placed = ~unplaced & (home != at_p)
    placed &= pp[np.maximum(home, 0)] != p
    h = home[placed]
    cost[placed] = dist[pp[h]] + (w[h] - w[at_p[placed]])
    if len(at_p) == 0 or not np.isfinite(cost).any() or cost.min() >= 0:
        return cur
    best = int(np.argmin(cost))
    arrive = int(at_p[best])
    at = net.at.copy()
    moves: list[tuple[int, int]] = [(int(pv[arrive]), arrive)]  # (volunteer, new pair or -1)
    if not unplaced[best]:
        node = int(pp[home[best]])
        while node != T:
            prev = int(pred[node])
            edge = net.tight_edge(prev, node)
            who = int(net.via[edge]) if edge >= 0 else -1
            if prev == net.source:
                moves.append((who, _pair_of(pv, pp, who, node)))  # someone unplaced enters
            elif prev != T and node == net.source:
                moves.append((who, -1))  # someone of `prev` leaves the round
            elif prev != T:
                moves.append((who, _pair_of(pv, pp, who, node)))  # moves prev -> node
            node = prev
    for v, pair in moves:
        at[v] = pair
    out = at[at >= 0]
    return np.sort(out)


def _pair_of(pv: I64, pp: I64, v: int, p: int) -> int:
    """The usable pair of volunteer `v` at placement `p`."""
    hit = np.flatnonzero((pv == v) & (pp == p))
    return int(hit[0])
