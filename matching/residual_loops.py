"""The residual network's loops over every pair and edge.

`regret.ResidualNetwork` makes a network of one edge per move a placed volunteer could
make: millions at 100,000 x 20,000. Built and solved in numpy, that took a dozen passes
over every edge (gathers, scatters, a sort to group the edges by tail) and a
Bellman-Ford of some fifty levels, each a pass of its own; here each is one loop that
touches a pair or an edge once (the Bellman-Ford a queue of the nodes that changed,
SPFA), compiled for large rounds: about a quarter of the time, with half the edges (the
cheapest move per pair of placements).

Each runs compiled for rounds of `COMPILED_FROM` pairs or more (numba, on first use, and
cached on disk: a process pays for loading them, not for compiling, once any process of
this install has compiled them), and as plain Python below, where numba's start would
cost more than the loops. Arrays of an edge or a pair each are made by the caller (numpy
asks the kernel for huge pages for them; arrays made in a compiled loop come in 4 kB
pages, a fault each: 0.3-1 s of system time at 12M edges).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Final, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

F = TypeVar("F", bound=Callable[..., Any])

COMPILED_FROM: Final = 200_000
"""Pairs from which a network's loops run compiled: below, the plain Python loops take
less time than numba's start in a process (its import and loading the compiled loops
from the cache: about 1 s), which most rounds (hundreds to thousands of volunteers) and
every short command would pay for nothing."""


def compiled(f: F) -> F:
    """`f` compiled to machine code (numba, imported here: on first use), cached on disk,
    without the interpreter's lock; the same loop, typed and compiled once per kind of
    arrays it is given."""
    return cast(F, _compile(f))


@cache
def _compile(f: Callable[..., Any]) -> Callable[..., Any]:
    import numba

    return cast(Callable[..., Any], numba.njit(cache=True, nogil=True)(f))


def loop(f: F, n_pairs: int) -> F:
    """`f` to run on a round of `n_pairs` pairs: compiled from `COMPILED_FROM` pairs,
    else as written (plain Python over numpy arrays)."""
    return compiled(f) if n_pairs >= COMPILED_FROM else f


def placement_rows(
    pv: NDArray[np.integer[Any]],
    w: NDArray[np.int64],
    order: NDArray[np.int64],
    bounds: NDArray[np.int64],
    usable: NDArray[np.bool_],
    home_p: NDArray[np.integer[Any]],
    home_w: NDArray[np.int64],
    fill: NDArray[np.int64],
    source: int,
    sink: int,
    wait: NDArray[np.bool_],
    best_pair: NDArray[np.int64],
    indptr: NDArray[np.integer[Any]],
    tail: NDArray[np.integer[Any]],
    cost: NDArray[np.int64],
    via: NDArray[np.integer[Any]],
) -> int:
    """The placements' rows of the edges grouped by head, in one pass over the pairs in
    placement order (`order`, empty: they come so; `bounds`: each placement's first
    position; `usable`, empty: every pair): each placement's moves in, one edge per
    placement they come from (`tail`, in the order first met: the cheapest of the moves
    from there, at the mover's score there minus here in `cost`, by the mover in `via`,
    the lowest volunteer among equals; `home_p`, `home_w`: each volunteer's placement,
    -1 where unplaced, and their score there), then S -> P from its best waiting
    volunteer (the first among equals; their pair in `best_pair`, -1 where nobody), then
    T -> P where someone of it may leave (`fill`). Marks the waiting pairs in `wait` (by
    position), writes each row's start into `indptr` and returns the rows' end.

    Parallel moves that cost more are on no shortest path: at 100,000 x 20,000 they are
    half the moves. A row never holds more edges than its placement has pairs (a move
    per mover's pair, the entry a waiting pair, the exit a mover's own pair), so the
    arrays need room for no more than every pair."""
    n_places = len(bounds) - 1
    ordered = len(order) > 0
    every = len(usable) == 0
    seen = np.full(n_places, -1, dtype=np.int64)
    edge_of = np.zeros(n_places, dtype=np.int64)
    e = 0
    for p in range(n_places):
        indptr[p] = e
        top = -1
        for k in range(bounds[p], bounds[p + 1]):
            i = order[k] if ordered else k
            if not every and not usable[i]:
                continue
            v = pv[i]
            t = home_p[v]  # one table of 4 bytes a volunteer: it stays in the cache
            if t < 0:
                wait[k] = True
                if top < 0 or w[i] > w[top]:
                    top = i
                continue
            if t == p:  # their own pair: a volunteer has one pair per placement
                continue
            c = home_w[v] - w[i]
            if seen[t] != p:
                seen[t] = p
                edge_of[t] = e
                tail[e] = t
                cost[e] = c
                via[e] = v
                e += 1
            else:
                j = edge_of[t]
                if c < cost[j] or (c == cost[j] and v < via[j]):
                    cost[j] = c
                    via[j] = v
        best_pair[p] = top
        if top >= 0:
            tail[e] = source
            cost[e] = -w[top]
            via[e] = pv[top]
            e += 1
        if fill[p] > 0:
            tail[e] = sink
            cost[e] = 0
            via[e] = -1
            e += 1
    return e


def group_by_tail(
    tail: NDArray[np.integer[Any]],
    indptr: NDArray[np.integer[Any]],
    cost: NDArray[np.int64],
    ptr: NDArray[np.int64],
    edges: NDArray[np.integer[Any]],
    heads: NDArray[np.int32],
    costs: NDArray[np.int64],
) -> None:
    """The edges (grouped by head, `indptr`) grouped by tail, each group in edge order:
    each group's start into `ptr` (zeros, one more than the nodes), and per place the
    edge, its head and its cost into `edges`, `heads`, `costs` (a counting sort: one
    pass to count, one to place). The heads and costs laid out by tail let the passes
    that follow edges out of a node read them in order, where reading them by edge would
    jump across tens of MB at each step."""
    n_nodes = len(ptr) - 1
    for t in tail:
        ptr[t + 1] += 1
    for u in range(n_nodes):
        ptr[u + 1] += ptr[u]
    nxt = ptr[:-1].copy()
    for h in range(n_nodes):
        for e in range(indptr[h], indptr[h + 1]):
            t = tail[e]
            j = nxt[t]
            edges[j] = e
            heads[j] = h
            costs[j] = cost[e]
            nxt[t] = j + 1


def shortest_from_root(
    d: NDArray[np.int64],
    out_ptr: NDArray[np.int64],
    out_head: NDArray[np.int32],
    out_cost: NDArray[np.int64],
) -> bool:
    """Shortest distances from a root joined to every node at cost `d` (updated in
    place), by a first-in first-out queue of the nodes whose distance fell (SPFA: a
    Bellman-Ford that relaxes only the edges out of nodes that changed; `out_*`: the
    edges grouped by tail, `group_by_tail`). False where a node fell more than once per
    node of the network: a negative cycle."""
    n = len(d)
    queue = np.empty(n + 1, dtype=np.int64)
    queued = np.ones(n, dtype=np.bool_)
    falls = np.zeros(n, dtype=np.int64)
    for u in range(n):
        queue[u] = u
    first, size = 0, n
    while size:
        u = queue[first]
        first = first + 1 if first < n else 0
        size -= 1
        queued[u] = False
        du = d[u]
        for j in range(out_ptr[u], out_ptr[u + 1]):
            v = out_head[j]
            via = du + out_cost[j]
            if via < d[v]:
                d[v] = via
                if not queued[v]:
                    falls[v] += 1
                    if falls[v] > n:
                        return False
                    last = first + size
                    queue[last if last <= n else last - n - 1] = v
                    size += 1
                    queued[v] = True
    return True


def reduced_costs(
    cost: NDArray[np.int64],
    tail: NDArray[np.integer[Any]],
    indptr: NDArray[np.integer[Any]],
    potential: NDArray[np.int64],
    out_ptr: NDArray[np.int64],
    out_head: NDArray[np.int32],
    out_cost: NDArray[np.int64],
    red: NDArray[np.float64],
    fwd: NDArray[np.float64],
) -> None:
    """Each edge's cost reduced by the potentials, as scipy's shortest paths take them:
    in edge order (grouped by head, `indptr`) into `red`, and grouped by tail (`out_*`)
    into `fwd`."""
    for h in range(len(indptr) - 1):
        ph = potential[h]
        for e in range(indptr[h], indptr[h + 1]):
            red[e] = cost[e] + potential[tail[e]] - ph
    for u in range(len(out_ptr) - 1):
        pu = potential[u]
        for j in range(out_ptr[u], out_ptr[u + 1]):
            fwd[j] = out_cost[j] + pu - potential[out_head[j]]


def tree_edges(
    parent: NDArray[np.integer[Any]],
    indptr: NDArray[np.integer[Any]],
    tail: NDArray[np.integer[Any]],
    reduced: NDArray[np.float64],
    out_ptr: NDArray[np.integer[Any]],
    out_edges: NDArray[np.int64],
    out_head: NDArray[np.int32],
    out_reduced: NDArray[np.float64],
    via: NDArray[np.integer[Any]],
    toward: bool,
) -> NDArray[np.int64]:
    """Per node x of a shortest-path tree (`parent`, as scipy gives it: -9999 or out of
    the network where none): the edge of the step between x and its parent, x -> parent
    (`toward`: a tree of paths *to* a node) or parent -> x, of least reduced cost and
    lowest volunteer among equals; -1 where there is none. The edges are read from x's
    own side, in the order they are laid out (`indptr`, `tail`, `reduced`: grouped by
    head; `out_*`: by tail), never from S's or T's, which have an edge per placement."""
    n = len(indptr) - 1
    out = np.full(len(parent), -1, dtype=np.int64)
    for x in range(min(len(parent), n)):
        y = parent[x]
        if y < 0 or y >= n:
            continue
        best = -1
        best_r = 0.0
        if toward:
            for j in range(out_ptr[x], out_ptr[x + 1]):
                if out_head[j] != y:
                    continue
                e = out_edges[j]
                r = out_reduced[j]
                if best < 0 or r < best_r or (r == best_r and via[e] < via[best]):
                    best, best_r = e, r
        else:
            for e in range(indptr[x], indptr[x + 1]):
                if tail[e] != y:
                    continue
                r = reduced[e]
                if best < 0 or r < best_r or (r == best_r and via[e] < via[best]):
                    best, best_r = e, r
        out[x] = best
    return out


def least_entries(
    pv: NDArray[np.integer[Any]],
    w: NDArray[np.int64],
    order: NDArray[np.int64],
    bounds: NDArray[np.int64],
    wait: NDArray[np.bool_],
    to_source: NDArray[np.int64],
    no_path: int,
    cost: NDArray[np.int64],
    best: NDArray[np.int64],
) -> None:
    """Per volunteer: the least of `to_source[p]` minus their score at p over their
    waiting pairs (`wait`, by position in placement order) at placements with a way to S,
    into `cost`, and the pair that reaches it (the first in placement order) into
    `best`; both left as they are for volunteers without one."""
    ordered = len(order) > 0
    for p in range(len(bounds) - 1):
        d = to_source[p]
        if d == no_path:
            continue
        for k in range(bounds[p], bounds[p + 1]):
            if not wait[k]:
                continue
            i = order[k] if ordered else k
            v = pv[i]
            value = d - w[i]
            if best[v] < 0 or value < cost[v]:
                cost[v] = value
                best[v] = i
