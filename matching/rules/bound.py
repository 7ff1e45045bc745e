"""An upper bound for rounds with policy rules, and the assignment that attains it (a
good warm start for the search).

The network of `matching.rules.network` keeps every rule that is a network
constraint. The budget is moved into the costs with a Lagrange multiplier: for any
multiplier l >= 0, max(score - l * cost) + l * budget is an upper bound, and a short
bisection on l finds a tight one. The placement-by-placement relaxation of
`matching.rules.decompose` then counts the gender rule exactly and is run from several
multipliers, the best bound of all kept. Rules left out (shares per country, move
limits, objective tiers) only remove assignments or subtract penalties, so leaving
them out keeps the bound valid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.decompose import decomposition_steps
from volmatch.matching.rules.network import SCALE, layered_flow
from volmatch.models import Policy


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
            chosen, value = layered_flow(prep, policy, base, locked, layer)
            return value + offset, chosen, int(cost[chosen].sum())
        w = SCALE * base - np.rint(SCALE * lam * cost).astype(np.int64)
        chosen, value = layered_flow(prep, policy, w, locked, layer, SCALE)
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


def per_placement(policy: Policy) -> bool:
    """Rounds whose placements have rules of their own, which the
    placement-by-placement bound keeps: gender balance (which the flows only
    approximate) or a nationality cap per placement (which they keep too; there the
    bound gains from the locks, the groups' reach and a finer budget multiplier, and
    its choices guide the search: at 10,000 x 2,000 without gender balance, gap 0.11%
    -> 0.03%)."""
    return policy.gender_balance or policy.max_same_nationality_per_placement is not None
