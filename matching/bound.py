"""An upper bound for rounds with policy rules, from a richer network than the pure
round's, and the assignment that attains it (a good warm start for CP-SAT).

The network keeps every rule that is a network constraint: the cap per nationality in
a placement (a node per placement and nationality), the cap per host partner (a node
per host), the bonus for keeping a previous assignment, and the locks. The budget is
moved into the costs with a Lagrange multiplier: for any multiplier l >= 0,
max(score - l * cost) + l * budget is an upper bound, and a short bisection on l finds
a tight one. Rules left out (groups, shares per country, gender balance, move limits,
objective tiers) only remove assignments or subtract penalties, so leaving them out
keeps the bound valid.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies
from volmatch.matching.decompose import decomposition_steps
from volmatch.matching.flow import FlowError, compact_ids
from volmatch.matching.prepared import Prepared
from volmatch.models import Policy

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Relaxation:
    bound: int
    """Proven upper bound on the score objective (scores minus move penalties)."""
    chosen: NDArray[np.intp]
    """Pairs of the relaxation's best assignment at the final multiplier."""
    multiplier: float
    flows: int
    """Min-cost flows solved."""
    start: NDArray[np.intp] | None = None
    """The placement-by-placement bound's choices at its best prices (None where it
    did not run): the search's start, after repair."""


def _layered_flow(
    prep: Prepared,
    policy: Policy,
    weight: I64,
    locked: NDArray[np.intp],
    layer: str = "nationality",
    scale: int = 1,
) -> tuple[NDArray[np.intp], int]:
    """Max-weight assignment under slots and host caps, and per placement either the
    nationality cap (`layer="nationality"`) or a concave stand-in for the gender
    balance penalty (`layer="gender"`, see `_gender_arcs`); locks forced. Returns the
    chosen pairs and the network's optimum (weights plus the gender terms)."""
    c, pairs = prep.compiled, prep.pairs
    n = len(pairs)
    big = int(np.abs(weight).sum()) + 1
    if layer == "gender":
        big += 2 * policy.gender_balance_penalty * scale * c.n_placements
    w = weight.copy()
    w[locked] += big  # forces the (feasible) locks without changing the rest
    used_v, v_node = compact_ids(pairs.v, c.n_volunteers)
    nv = len(used_v)
    tails: list[I64] = []
    heads: list[I64] = []
    caps: list[I64] = []
    costs: list[I64] = []
    nxt = 1 + nv  # node 0 = source, 1..nv volunteers

    def arcs(t: I64, h: I64, cap: I64, cost: I64) -> None:
        tails.append(t.astype(np.int64))
        heads.append(h.astype(np.int64))
        caps.append(cap.astype(np.int64))
        costs.append(cost.astype(np.int64))

    arcs(np.zeros(nv, np.int64), 1 + np.arange(nv), np.ones(nv, np.int64), np.zeros(nv, np.int64))
    used_p, p_node = compact_ids(pairs.p, c.n_placements)
    npl = len(used_p)
    p_base = nxt
    nxt += npl
    limit = policy.max_same_nationality_per_placement
    out_cost = np.zeros(npl, np.int64)
    if layer == "gender":
        pair_arc_first = sum(len(t) for t in tails)
        nxt, out_cost = _gender_arcs(prep, policy, arcs, v_node, p_node, nxt, p_base, -w, scale)
    elif limit is not None:
        key = pairs.p.astype(np.int64) * len(c.countries) + c.nationality[pairs.v]
        used_k, k_node = compact_ids(key, c.n_placements * len(c.countries))
        k_base = nxt
        nxt += len(used_k)
        pair_arc_first = sum(len(t) for t in tails)
        arcs(1 + v_node, k_base + k_node, np.ones(n, np.int64), -w)
        kp = np.searchsorted(used_p, used_k // len(c.countries))
        arcs(
            k_base + np.arange(len(used_k)),
            p_base + kp,
            np.full(len(used_k), limit, np.int64),
            np.zeros(len(used_k), np.int64),
        )
    else:
        pair_arc_first = sum(len(t) for t in tails)
        arcs(1 + v_node, p_base + p_node, np.ones(n, np.int64), -w)
    sink_cap = np.minimum(c.capacity[used_p], nv)
    if policy.max_per_host is not None:
        used_h, h_node = np.unique(c.host[used_p], return_inverse=True)
        h_base = nxt
        nxt += len(used_h)
        arcs(p_base + np.arange(npl), h_base + h_node, sink_cap, out_cost)
        sink = nxt
        arcs(
            h_base + np.arange(len(used_h)),
            np.full(len(used_h), sink),
            np.full(len(used_h), policy.max_per_host, np.int64),
            np.zeros(len(used_h), np.int64),
        )
    else:
        sink = nxt
        arcs(p_base + np.arange(npl), np.full(npl, sink), sink_cap, out_cost)
    arcs(np.array([0]), np.array([sink]), np.array([nv]), np.array([0]))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[0], supplies[sink] = nv, -nv
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise FlowError(f"min-cost flow ended with status {status}")
    got = flow.flows(np.arange(pair_arc_first, pair_arc_first + n, dtype=np.int64))
    chosen = np.flatnonzero(got > 0).astype(np.intp)
    return chosen, int(-flow.optimal_cost()) - big * len(locked)


def _gender_arcs(
    prep: Prepared,
    policy: Policy,
    arcs: Callable[[I64, I64, I64, I64], None],
    v_node: I64,
    p_node: I64,
    nxt: int,
    p_base: int,
    pair_cost: I64,
    scale: int = 1,
) -> tuple[int, I64]:
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
    at two slots without the other class). Returns the next free node and the per-unit
    cost of each placement's arc towards the host or sink layer."""
    c, pairs = prep.compiled, prep.pairs
    used_p = compact_ids(pairs.p, c.n_placements)[0]
    npl = len(used_p)
    pen = policy.gender_balance_penalty * scale  # in the weights' units
    applies = balance_applies(c, pairs)[used_p]
    n_cls = len(BALANCED_GENDERS) + 1
    g_base = nxt
    nxt += npl * n_cls
    cls = np.minimum(c.gender[pairs.v].astype(np.int64), n_cls - 1)
    arcs(1 + v_node, g_base + p_node * n_cls + cls, np.ones(len(pairs), np.int64), pair_cost)
    slots = np.minimum(c.capacity[used_p], len(pairs)).astype(np.int64)
    node_p = np.repeat(np.arange(npl), n_cls)
    heads = p_base + node_p
    arcs(g_base + np.arange(npl * n_cls), heads, slots[node_p], np.zeros(npl * n_cls, np.int64))
    # the first volunteer of each class is worth a bonus (the placement's own arc
    # caps the total, whatever passes here): pen for female and male, and for the
    # other class only the per-volunteer charge, which is all a lone such volunteer
    # needs to cost nothing (the rule never rewards that class)
    per = np.where(applies, (2 * pen) // np.maximum(slots, 1), 0).astype(np.int64)
    at = np.flatnonzero(applies[node_p])
    other = at % n_cls == n_cls - 1
    bonus = np.where(other, per[node_p[at]], pen).astype(np.int64)
    arcs(g_base + at, heads[at], np.ones(len(at), np.int64), -bonus)
    return nxt, per


def relaxation(
    prep: Prepared,
    policy: Policy,
    locked: NDArray[np.intp],
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    report: Callable[[Relaxation], None] | None = None,
    max_flows: int | None = None,
    start_at_zero: bool = True,
    decompose: bool = False,
    decompose_until: float | None = None,
) -> Relaxation:
    """The tightest bound a few flows find (by default fewer on large rounds, where
    each flow costs seconds; a count, not a time, so that the result does not depend on
    the load). Every bound found is valid: `report` is told each better one as it
    comes. `decompose_until` (a perf_counter() value) ends the placement-by-placement
    bound early."""
    n_pairs = len(prep.pairs)
    if max_flows is None:
        # the layered network costs a few times the plain one (0.5 s at 450,000 pairs)
        max_flows = 6 if n_pairs < 100_000 else 3 if n_pairs < 1_000_000 else 2
    score = prep.scores.total.astype(np.int64)
    bonus = np.zeros(len(score), dtype=np.int64)
    if n_previous and policy.move_cost:
        bonus[prev_pairs] = policy.move_cost
    base = score + bonus
    offset = -policy.move_cost * n_previous if policy.move_cost else 0
    cost = placement_costs(prep.compiled, policy)[prep.pairs.p]
    b = policy.budget
    c = prep.compiled
    persons = min(c.n_volunteers, int(c.capacity.sum()))

    def dual(lam: float, layer: str) -> tuple[int, NDArray[np.intp], int]:
        """max(score - lam * cost) + lam * budget on one network: a bound for any lam.
        Weights are scaled by SCALE before rounding lam * cost to integers; rounding
        moves an assignment's scaled total by at most 1/2 per person placed, which
        the bound adds back."""
        if lam == 0:
            chosen, value = _layered_flow(prep, policy, base, locked, layer)
            return value + offset, chosen, int(cost[chosen].sum())
        w = SCALE * base - np.rint(SCALE * lam * cost).astype(np.int64)
        chosen, value = _layered_flow(prep, policy, w, locked, layer, SCALE)
        assert b is not None
        top = value + int(np.ceil(SCALE * lam * b.total)) + (persons + 1) // 2
        return top // SCALE + offset, chosen, int(cost[chosen].sum())

    # With gender balance on, the multiplier is searched on the network that prices
    # it; the network with the nationality caps is then solved once at the best
    # multiplier, and the lower of the two bounds kept.
    layer = "gender" if policy.gender_balance else "nationality"
    priced = cost[cost > 0]
    lo, hi = 0.0, 0.0
    if b is not None and len(priced) and len(score):
        hi = float(score.max()) / max(float(priced.min()), 1.0)
    # Bisection on the multiplier; `start_at_zero=False` skips the flow without it
    # (useless when the budget binds, as it does where a budget is set at all in
    # practice) so that the first bound and assignment come priced.
    if decompose and per_placement(policy):
        # the placement-by-placement bound moves the multiplier itself, towards the
        # budget: one flow (the start, and the bound without the gender rule) will do
        max_flows, start_at_zero = 1, False
    lam = 0.0 if start_at_zero else hi / 2
    best: tuple[int, NDArray[np.intp], float] | None = None
    start: NDArray[np.intp] | None = None
    flows = 0
    while True:
        value, chosen, spent = dual(lam, layer)
        flows += 1
        if best is None or value < best[0]:
            best = (value, chosen, lam)
            if report:
                report(Relaxation(value, chosen, lam, flows))
        if b is None or hi == 0 or flows >= max_flows or (lam == 0 and spent <= b.total):
            break
        if spent > b.total:
            lo = lam
        else:
            hi = lam
        lam = (lo + hi) / 2
    assert best is not None
    if decompose and per_placement(policy):
        # per placement, the gender rule counted exactly (matching/decompose.py)
        target = 0.99 * best[0]
        # Subgradient runs end in different places (at 10,000 x 2,000, 2,601,289 to
        # 2,601,859 by where the multiplier started): later runs start elsewhere
        # (RESTARTS), and the best bound of all is kept. Without a budget
        # there is no multiplier to vary, and one run is all.
        starts = [best[2]] + ([m * best[2] for m in RESTARTS] if best[2] > 0 else [])
        for lam0 in starts:
            for step in decomposition_steps(
                prep, policy, lam0, prev_pairs, n_previous, target, DECOMPOSITION_STEPS,
                until=decompose_until, balance_budget=True, locked=locked,
            ):
                if step.bound < best[0]:
                    best = (step.bound, best[1], best[2])
                    start = step.chosen
                    if report:
                        report(Relaxation(step.bound, best[1], best[2], flows, start))
            if decompose_until is not None and time.perf_counter() > decompose_until:
                break
    if layer == "gender":
        # the stand-in can pay out at placements holding one volunteer: the network
        # without it (nationality caps, when set) may be the tighter one
        value, chosen, _ = dual(best[2], "nationality")
        flows += 1
        if value < best[0]:
            best = (value, chosen, best[2])
            if report:
                report(Relaxation(value, chosen, best[2], flows, start))
    return Relaxation(best[0], best[1], best[2], flows, start)


DECOMPOSITION_STEPS = 300
"""Subgradient steps at most of the placement-by-placement bound (at 10,000 x 2,000
it settles within about 100, 7 s)."""

RESTARTS = (1.5, 1.25, 0.8)
"""Later runs of the placement-by-placement bound start at these multiples of the
first's multiplier (the steps move it back). Measured at 10,000 x 2,000 on two rounds,
two solves each: these ended 2,600,965 and 2,590,831, against 2,601,190 and 2,590,896
for (3, 2) and 2,601,200 and 2,591,020 for (2, 4, 1.5)."""

SCALE = 16
"""Weights are multiplied by this before a multiplier's costs are rounded to integers,
so that rounding loosens the bound by 1/32 point per person instead of 1/2."""


CHILD_FLOWS = 5
"""Flows of the multiplier search in the child (a 50,000 x 10,000 round's flow takes
5-9 s; the bound gains 0.02% from the fifth to the tenth), after which it turns to the
placement-by-placement bound, which gains far more (0.2-0.25% at 10k and 50k), until
stopped."""

DECOMPOSE_SHARE = 0.1
"""Share of the time limit a small round gives the placement-by-placement bound
before its search starts."""

BACKGROUND_PAIRS = 100_000
"""From this many pairs, the relaxation runs in a forked process beside the search."""


def per_placement(policy: Policy) -> bool:
    """Rounds whose placements have rules of their own, which the
    placement-by-placement bound keeps: gender balance (which the flows only
    approximate) or a nationality cap per placement (which they keep too; there the
    bound gains from the locks, the groups' reach and a finer budget multiplier, and
    its choices guide the search: at 10,000 x 2,000 without gender balance, gap 0.11%
    -> 0.03%)."""
    return policy.gender_balance or policy.max_same_nationality_per_placement is not None


class Pending:
    """A relaxation being computed: `first()` and `result()` wait for it, `cancel()`
    drops it."""

    def __init__(self, args: tuple[Any, ...], done: Relaxation | None = None) -> None:
        self._args = args
        self._done = done
        self._child: Any = None
        self._receive: Connection | None = None
        self._reader: threading.Thread | None = None
        self._got: list[Relaxation] = []
        self._ended = False  # the child's pipe is closed
        self._complete = False  # the child finished its flows
        self._arrived = threading.Condition()

    def start(self) -> None:
        """Run in a forked child (if the system forks; else `result()` computes it)."""
        if "fork" not in mp.get_all_start_methods():
            return
        ctx = mp.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_relax_child, args=(send, self._args), daemon=True)
        try:
            child.start()
        except OSError:
            receive.close()
            return
        finally:
            send.close()
        self._child, self._receive = child, receive
        # The pipe is read as messages come: one larger than the pipe's buffer (a
        # chosen assignment of 8,000 pairs and more) would otherwise block the child,
        # and its later, tighter flows would never run.
        self._reader = threading.Thread(target=self._drain, args=(receive,), daemon=True)
        self._reader.start()

    def _drain(self, receive: Connection) -> None:
        try:
            while True:
                msg = receive.recv()
                if msg is None:
                    with self._arrived:
                        self._complete = True
                    break
                with self._arrived:
                    self._got.append(msg)
                    self._arrived.notify_all()
        except (EOFError, OSError):
            pass
        finally:
            with self._arrived:
                self._ended = True
                self._arrived.notify_all()

    def _wait(self, ready: Callable[[], bool], deadline: float | None) -> None:
        with self._arrived:
            wait = None if deadline is None else max(0.0, deadline - time.perf_counter())
            self._arrived.wait_for(lambda: ready() or self._ended, timeout=wait)

    def first(self, deadline: float | None = None) -> Relaxation | None:
        """The first relaxation found (None if none by `deadline`); the child goes on."""
        if self._done is not None:
            return self._done
        if self._reader is None:
            return None
        self._wait(lambda: bool(self._got), deadline)
        with self._arrived:
            return self._got[0] if self._got else None

    @property
    def in_background(self) -> bool:
        """Computed by a child process (until `result()` stops it)."""
        return self._reader is not None

    def latest(self) -> Relaxation | None:
        """The best relaxation found so far, without waiting."""
        if self._done is not None:
            return self._done
        with self._arrived:
            return self._got[-1] if self._got else None

    def result(self, deadline: float | None = None) -> Relaxation | None:
        """The relaxation; with a `deadline` (a perf_counter() value), the best bound
        the child has found by then (None if none yet), and the child is stopped."""
        if self._done is not None:
            return self._done
        best: Relaxation | None = None
        finished = False
        if self._reader is not None:
            self._wait(lambda: self._complete, deadline)
            with self._arrived:
                best = self._got[-1] if self._got else None
                finished = self._complete
            self.cancel()
        if deadline is None and not finished:
            best = relaxation(*self._args)  # the child failed: compute it here
        self._done = best
        return best

    def cancel(self) -> None:
        """Stop a child still at work (the solve ended another way)."""
        if self._child is not None and self._child.is_alive():
            self._child.terminate()
        self._close()

    def _close(self) -> None:
        if self._child is not None:
            self._child.join()
            self._child = None
        if self._reader is not None:
            self._reader.join()  # the child is gone: its end of the pipe is closed
            self._reader = None
        if self._receive is not None:
            self._receive.close()
            self._receive = None


def relaxation_later(
    prep: Prepared,
    policy: Policy,
    locked: NDArray[np.intp],
    prev_pairs: NDArray[np.intp],
    n_previous: int,
) -> Pending:
    """Start `relaxation`; the returned `Pending` waits for it.

    Its flows hold the interpreter's lock for seconds on large rounds, while the
    search that follows uses one core: on a fork-capable system the flows run in a
    child process on the other core. Elsewhere, or if the child fails, `result()`
    computes it in process."""
    args = (prep, policy, locked, prev_pairs, n_previous)
    if len(prep.pairs) < BACKGROUND_PAIRS:
        # small rounds: the placement-by-placement bound costs a fraction of a second
        # (0.2 s at 1,000 x 200); a tenth of the time limit at most
        until = time.perf_counter() + DECOMPOSE_SHARE * policy.time_limit_s
        return Pending(args, relaxation(*args, decompose=True, decompose_until=until))
    pending = Pending(args)
    pending.start()
    return pending


def _relax_child(send: Connection, args: tuple[Any, ...]) -> None:
    """Send each better relaxation as it is found, then None when done. The first
    flow already prices the budget: its assignment is the search's start."""
    try:
        prep, policy, locked, prev_pairs, n_previous = args

        relaxation(
            prep,
            policy,
            locked,
            prev_pairs,
            n_previous,
            report=send.send,
            max_flows=CHILD_FLOWS,
            start_at_zero=False,
            decompose=True,
        )
        send.send(None)
    except BaseException:  # a broken pipe (the parent stopped waiting) or a failure
        pass
    finally:
        send.close()
