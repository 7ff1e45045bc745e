"""The flow network of the rules' bound: the pure round's network (`matching.flow`)
with every rule that is a network constraint.

The cap per nationality in a placement is a node per placement and nationality, the
cap per host partner a node per host; the bonus for keeping a previous assignment and
the budget's multiplier are in the weights, and the locks are forced by a bonus above
everything else. Gender balance, which no network keeps exactly, has a concave
stand-in that never charges more than the rule does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies
from volmatch.matching.flow import FlowError, compact_ids
from volmatch.matching.prepared import Prepared
from volmatch.models import Policy

I64 = NDArray[np.int64]


SCALE = 16
"""Weights are multiplied by this before a multiplier's costs are rounded to integers,
so that rounding loosens the bound by 1/32 point per person instead of 1/2."""


class _Network:
    """The arcs of a min-cost flow network, added layer by layer, and its nodes.

    Node 0 is the source; `take(k)` hands out the next k nodes.
    """

    def __init__(self) -> None:
        self.tails: list[I64] = []
        self.heads: list[I64] = []
        self.caps: list[I64] = []
        self.costs: list[I64] = []
        self.nodes = 1

    def take(self, k: int) -> int:
        """Reserve the next `k` nodes; returns the first."""
        first = self.nodes
        self.nodes += k
        return first

    @property
    def n_arcs(self) -> int:
        return sum(len(t) for t in self.tails)

    def arcs(self, t: I64, h: I64, cap: I64, cost: I64) -> None:
        """Add arcs (tails, heads, capacities, unit costs), in this order."""
        self.tails.append(t.astype(np.int64))
        self.heads.append(h.astype(np.int64))
        self.caps.append(cap.astype(np.int64))
        self.costs.append(cost.astype(np.int64))

    def solve(self, sink: int, supply: int) -> min_cost_flow.SimpleMinCostFlow:
        """Send `supply` units from the source to `sink` at least cost."""
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(
            np.concatenate(self.tails),
            np.concatenate(self.heads),
            np.concatenate(self.caps),
            np.concatenate(self.costs),
        )
        supplies = np.zeros(sink + 1, dtype=np.int64)
        supplies[0], supplies[sink] = supply, -supply
        flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), supplies)
        status = flow.solve()
        if status != flow.OPTIMAL:
            raise FlowError(f"min-cost flow ended with status {status}")
        return flow


def layered_flow(
    prep: Prepared,
    policy: Policy,
    weight: I64,
    locked: NDArray[np.intp],
    layer: str = "nationality",
    scale: int = 1,
    usable: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.intp], int]:
    """Max-weight assignment under slots and host caps, and per placement either the
    nationality cap (`layer="nationality"`) or a concave stand-in for the gender
    balance penalty (`layer="gender"`, see `_gender_arcs`); locks forced; only the
    `usable` pairs (default all: the others' arcs carry nothing). Returns the chosen
    pairs and the network's optimum (weights plus the gender terms)."""
    c, pairs = prep.compiled, prep.pairs
    n = len(pairs)
    pair_cap = np.ones(n, np.int64) if usable is None else usable.astype(np.int64)
    big = int(np.abs(weight).sum()) + 1
    if layer == "gender":
        big += 2 * policy.gender_balance_penalty * scale * c.n_placements
    w = weight.copy()
    w[locked] += big  # forces the (feasible) locks without changing the rest
    used_v, v_node = compact_ids(pairs.v, c.n_volunteers)
    nv = len(used_v)
    net = _Network()
    net.take(nv)  # 1..nv: the volunteers
    net.arcs(
        np.zeros(nv, np.int64), 1 + np.arange(nv), np.ones(nv, np.int64), np.zeros(nv, np.int64)
    )
    used_p, p_node = compact_ids(pairs.p, c.n_placements)
    p_base = net.take(len(used_p))
    pair_arc_first = net.n_arcs
    if layer == "gender":
        out_cost = _gender_arcs(prep, policy, net, v_node, p_node, p_base, -w, pair_cap, scale)
    else:
        out_cost = np.zeros(len(used_p), np.int64)
        _pair_arcs(prep, policy, net, v_node, p_node, used_p, p_base, -w, pair_cap)
    sink = _sink_arcs(prep, policy, net, used_p, p_base, out_cost, nv)
    net.arcs(np.array([0]), np.array([sink]), np.array([nv]), np.array([0]))
    flow = net.solve(sink, nv)
    got = flow.flows(np.arange(pair_arc_first, pair_arc_first + n, dtype=np.int64))
    chosen = np.flatnonzero(got > 0).astype(np.intp)
    return chosen, int(-flow.optimal_cost()) - big * len(locked)


def _pair_arcs(
    prep: Prepared,
    policy: Policy,
    net: _Network,
    v_node: I64,
    p_node: I64,
    used_p: I64,
    p_base: int,
    pair_cost: I64,
    pair_cap: I64,
) -> None:
    """A volunteer's arc to each placement it is eligible for (capacity `pair_cap`: 0
    for a pair left out), through a node per placement and nationality capped at the
    cap per nationality when there is one."""
    c, pairs = prep.compiled, prep.pairs
    limit = policy.max_same_nationality_per_placement
    if limit is None:
        net.arcs(1 + v_node, p_base + p_node, pair_cap, pair_cost)
        return
    key = pairs.p.astype(np.int64) * len(c.countries) + c.nationality[pairs.v]
    used_k, k_node = compact_ids(key, c.n_placements * len(c.countries))
    k_base = net.take(len(used_k))
    net.arcs(1 + v_node, k_base + k_node, pair_cap, pair_cost)
    kp = np.searchsorted(used_p, used_k // len(c.countries))
    net.arcs(
        k_base + np.arange(len(used_k)),
        p_base + kp,
        np.full(len(used_k), limit, np.int64),
        np.zeros(len(used_k), np.int64),
    )


def _sink_arcs(
    prep: Prepared,
    policy: Policy,
    net: _Network,
    used_p: I64,
    p_base: int,
    out_cost: I64,
    nv: int,
) -> int:
    """Each placement's arc towards the sink (its slots), through a node per host
    capped at `max_per_host` when there is one; returns the sink."""
    c = prep.compiled
    npl = len(used_p)
    sink_cap = np.minimum(c.capacity[used_p], nv)
    if policy.max_per_host is None:
        sink = net.take(1)
        net.arcs(p_base + np.arange(npl), np.full(npl, sink), sink_cap, out_cost)
        return sink
    used_h, h_node = np.unique(c.host[used_p], return_inverse=True)
    h_base = net.take(len(used_h))
    net.arcs(p_base + np.arange(npl), h_base + h_node, sink_cap, out_cost)
    sink = net.take(1)
    net.arcs(
        h_base + np.arange(len(used_h)),
        np.full(len(used_h), sink),
        np.full(len(used_h), policy.max_per_host, np.int64),
        np.zeros(len(used_h), np.int64),
    )
    return sink


def _gender_arcs(
    prep: Prepared,
    policy: Policy,
    net: _Network,
    v_node: I64,
    p_node: I64,
    p_base: int,
    pair_cost: I64,
    pair_cap: I64,
    scale: int = 1,
) -> I64:
    """Pair arcs through a node per placement and gender class (female, male, any
    other), with a network stand-in for the gender balance penalty that never charges
    more than the rule does.

    The rule costs `pen` per gender (female, male) missing at a placement that holds
    two or more, where it applies: with G of the two present and `load` people, that
    is pen * (G - 2) once load >= 2, and nothing below. The network instead adds pen
    for each of female and male present (the first volunteer of each is worth pen
    more), q = 2 * pen // slots for the first of the other class (O = 1 if present),
    and charges q per volunteer: 0 at load 0; at load 1 pen - q >= 0 or q - q = 0;
    from load 2 on pen * G + q * O - q * load >= pen * G - 2 * pen, since
    load - O <= slots. So the network's optimum bounds the round's from above (exactly
    at two slots without the other class). Returns the per-unit cost of each
    placement's arc towards the host or sink layer."""
    c, pairs = prep.compiled, prep.pairs
    used_p = compact_ids(pairs.p, c.n_placements)[0]
    npl = len(used_p)
    pen = policy.gender_balance_penalty * scale  # in the weights' units
    applies = balance_applies(c, pairs)[used_p]
    n_cls = len(BALANCED_GENDERS) + 1
    g_base = net.take(npl * n_cls)
    cls = np.minimum(c.gender[pairs.v].astype(np.int64), n_cls - 1)
    net.arcs(1 + v_node, g_base + p_node * n_cls + cls, pair_cap, pair_cost)
    slots = np.minimum(c.capacity[used_p], len(pairs)).astype(np.int64)
    node_p = np.repeat(np.arange(npl), n_cls)
    heads = p_base + node_p
    net.arcs(g_base + np.arange(npl * n_cls), heads, slots[node_p], np.zeros(npl * n_cls, np.int64))
    # the first volunteer of each class is worth a bonus (the placement's own arc
    # caps the total, whatever passes here): pen for female and male, and for the
    # other class only the per-volunteer charge, which is all a lone such volunteer
    # needs to cost nothing (the rule never rewards that class)
    per = np.where(applies, (2 * pen) // np.maximum(slots, 1), 0).astype(np.int64)
    at = np.flatnonzero(applies[node_p])
    other = at % n_cls == n_cls - 1
    bonus = np.where(other, per[node_p[at]], pen).astype(np.int64)
    net.arcs(g_base + at, heads[at], np.ones(len(at), np.int64), -bonus)
    return per
