"""The exact optimum of the capacitated assignment, as a min-cost flow.

Network: source -> each volunteer (capacity 1) -> each eligible placement (capacity 1,
cost -score) -> sink (capacity = slots), plus a source -> sink bypass so that nobody has
to be placed. Every volunteer's unit of flow goes either through a placement or through
the bypass; the min-cost flow is the max-score assignment, and since a network LP has
integral optima it is also the proven bound. OR-Tools' cost-scaling solver does this in
seconds at millions of pairs where a pair-per-boolean CP-SAT model does not finish.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

I64 = NDArray[np.int64]


class FlowError(RuntimeError):
    """OR-Tools did not return an optimal flow (should not happen on this network)."""


@dataclass(frozen=True)
class FlowSolution:
    """The pairs a flow chose and their total score."""

    chosen: NDArray[np.intp]
    """Indices of the chosen pairs."""
    objective: int


def max_score_assignment(
    n_volunteers: int,
    capacity: I64,
    pv: NDArray[np.int32] | I64,
    pp: NDArray[np.int32] | I64,
    score: I64,
) -> FlowSolution:
    """Pick pairs maximising the total score, each volunteer at most once, each
    placement at most `capacity` times. Scores must be positive."""
    n_pairs = len(pv)
    if n_pairs == 0:
        return FlowSolution(np.zeros(0, dtype=np.intp), 0)
    # Only volunteers and placements that appear in a pair get nodes: smaller network.
    used_v, v_node = compact_ids(np.asarray(pv), n_volunteers)
    used_p, p_node = compact_ids(np.asarray(pp), len(capacity))
    nv, np_ = int(used_v.shape[0]), int(used_p.shape[0])
    source, sink = 0, 1 + nv + np_
    cap_p = np.minimum(capacity[used_p], nv)
    tails = np.concatenate(
        [
            np.zeros(nv, dtype=np.int64),
            1 + v_node.astype(np.int64),
            1 + nv + np.arange(np_, dtype=np.int64),
            np.array([source], dtype=np.int64),
        ]
    )
    heads = np.concatenate(
        [
            1 + np.arange(nv, dtype=np.int64),
            1 + nv + p_node.astype(np.int64),
            np.full(np_, sink, dtype=np.int64),
            np.array([sink], dtype=np.int64),
        ]
    )
    caps = np.concatenate(
        [
            np.ones(nv, dtype=np.int64),
            np.ones(n_pairs, dtype=np.int64),
            cap_p.astype(np.int64),
            np.array([nv], dtype=np.int64),
        ]
    )
    costs = np.concatenate(
        [
            np.zeros(nv, dtype=np.int64),
            -np.asarray(score, dtype=np.int64),
            np.zeros(np_ + 1, dtype=np.int64),
        ]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[source] = nv
    supplies[sink] = -nv
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise FlowError(f"min-cost flow ended with status {status}")
    pair_arcs = np.arange(nv, nv + n_pairs, dtype=np.int64)
    chosen = np.flatnonzero(flow.flows(pair_arcs) > 0)
    return FlowSolution(chosen=chosen, objective=int(-flow.optimal_cost()))


def compact_ids(ids: NDArray[np.integer], size: int) -> tuple[I64, I64]:
    """The distinct ids (ascending) and each entry's rank among them: `np.unique` with
    `return_inverse`, by counting instead of sorting (ids are small integers)."""
    seen = np.zeros(size, dtype=np.bool_)
    seen[ids] = True
    used = np.flatnonzero(seen).astype(np.int64)
    rank = np.cumsum(seen, dtype=np.int64) - 1
    return used, rank[ids]
