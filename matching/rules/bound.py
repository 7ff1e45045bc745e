"""An upper bound for rounds with policy rules, and the assignment that attains it (a
good warm start for the search).

The network of `matching.rules.network` keeps every rule that is a network
constraint, on the pairs an assignment keeping the groups and locks can use (a group
member's pair only where the whole group can go, a locked volunteer's locked pair
only). The budget is moved into the costs with a Lagrange multiplier: for any
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
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.decompose import (
    DECOMPOSITION_STEPS,
    TARGET_SHARE,
    decomposition_steps,
    usable_mask,
)
from volmatch.matching.rules.network import SCALE, layered_flow
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Policy


@dataclass(frozen=True)
class Relaxation:
    """A bound of the round with rules and the assignments behind it."""

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


MAX_FLOWS = (6, 3, 2)
"""Flows of the multiplier search by default, for rounds under each of `FLOW_SIZES`
pairs and beyond: a count, not a time, so that the bound does not depend on the
machine's load, and fewer where each flow of the layered network takes seconds."""
FLOW_SIZES = (100_000, 1_000_000)
"""Pairs from which a round gets the next, smaller count of `MAX_FLOWS`."""
RESTARTS = (1.5, 1.25, 0.8)
"""Later runs of the placement-by-placement bound start at these multiples of the
first's multiplier (the steps move it back): runs end in different places by where
the multiplier started, and the best bound of all is kept."""


class _Best(NamedTuple):
    """The best bound so far, the flow assignment behind it and its multiplier."""

    value: int
    chosen: NDArray[np.intp]
    lam: float


@dataclass(frozen=True)
class _Dual:
    """max(score - lam * cost) + lam * budget on one of the networks: a bound for any
    multiplier lam >= 0."""

    prep: Prepared
    policy: Policy
    locked: NDArray[np.intp]
    base: NDArray[np.int64]
    """Per pair: its score, plus the move cost where it keeps a previous assignment."""
    offset: int
    """The move penalties of every previous assignment, taken back."""
    cost: NDArray[np.int64]
    """Per pair: what its placement costs the budget."""
    persons: int
    """Volunteers an assignment can place at most."""
    usable: NDArray[np.bool_]
    """Per pair, whether an assignment keeping the groups and locks can use it
    (`matching.rules.decompose.usable_mask`): the flows leave the others out."""

    @classmethod
    def of(
        cls,
        prep: Prepared,
        policy: Policy,
        locked: NDArray[np.intp],
        prev_pairs: NDArray[np.intp],
        n_previous: int,
        groups: bool = True,
    ) -> _Dual:
        """The dual of a round: its weights, move offset, costs and reach (`groups`:
        the groups' reach kept)."""
        score = prep.scores.total.astype(np.int64)
        bonus = np.zeros(len(score), dtype=np.int64)
        if n_previous and policy.move_cost:
            bonus[prev_pairs] = policy.move_cost
        offset = -policy.move_cost * n_previous if policy.move_cost else 0
        cost = placement_costs(prep.compiled, policy)[prep.pairs.p]
        c = prep.compiled
        persons = min(c.n_volunteers, int(c.capacity.sum()))
        usable = usable_mask(prep, policy, locked, groups)
        return cls(prep, policy, locked, score + bonus, offset, cost, persons, usable)

    def highest_multiplier(self) -> float:
        """A multiplier above which no pair is worth its cost (0: nothing to price)."""
        score = self.prep.scores.total.astype(np.int64)
        priced = self.cost[self.cost > 0]
        if self.policy.budget is not None and len(priced) and len(score):
            return float(score.max()) / max(float(priced.min()), 1.0)
        return 0.0

    def __call__(self, lam: float, layer: str) -> tuple[int, NDArray[np.intp], int]:
        """The bound at `lam` on the network `layer`, its assignment and what that
        spends. Weights are scaled by SCALE before rounding lam * cost to integers;
        rounding moves an assignment's scaled total by at most 1/2 per person placed,
        which the bound adds back."""
        prep, policy, cost = self.prep, self.policy, self.cost
        if lam == 0:
            chosen, value = layered_flow(
                prep, policy, self.base, self.locked, layer, usable=self.usable
            )
            return value + self.offset, chosen, int(cost[chosen].sum())
        w = SCALE * self.base - np.rint(SCALE * lam * cost).astype(np.int64)
        chosen, value = layered_flow(prep, policy, w, self.locked, layer, SCALE, self.usable)
        b = policy.budget
        assert b is not None
        top = value + int(np.ceil(SCALE * lam * b.total)) + (self.persons + 1) // 2
        return top // SCALE + self.offset, chosen, int(cost[chosen].sum())


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
    groups: bool = True,
    flows_until: float | None = None,
    watch: StopWatch = NO_STOP,
) -> Relaxation:
    """The tightest bound a few flows find (by default fewer on large rounds, where
    each flow costs seconds; a count, not a time, so that the result does not depend on
    the load). Every bound found is valid: `report` is told each better one as it
    comes. `decompose_until` (a perf_counter() value) ends the placement-by-placement
    bound early, `flows_until` the flows after the first (so that a tight time limit
    is kept; every flow's bound is valid). `groups=False` leaves the groups' reach out
    of the flows (the bound of the round without its groups). Raises `Stopped` between
    two flows or steps once `watch` says stop."""
    if max_flows is None:
        max_flows = _default_flows(len(prep.pairs))
    dual = _Dual.of(prep, policy, locked, prev_pairs, n_previous, groups)
    # With gender balance on, the multiplier is searched on the network that prices
    # it; the network with the nationality caps is then solved once at the best
    # multiplier, and the lower of the two bounds kept.
    layer = "gender" if policy.gender_balance else "nationality"
    if decompose and per_placement(policy):
        # the placement-by-placement bound moves the multiplier itself, towards the
        # budget: one flow (the start, and the bound without the gender rule) will do
        max_flows, start_at_zero = 1, False
    best, flows = _multiplier_search(
        dual, layer, max_flows, start_at_zero, report, flows_until, watch
    )
    start: NDArray[np.intp] | None = None
    if decompose and per_placement(policy):
        # per placement, the gender rule counted exactly (matching.rules.decompose)
        best, start = _decomposition_restarts(
            dual, prev_pairs, n_previous, best, flows, decompose_until, report, watch
        )
    if layer == "gender" and not _past(flows_until):
        watch.check()
        # the stand-in can pay out at placements holding one volunteer: the network
        # without it (nationality caps, when set) may be the tighter one
        value, chosen, _ = dual(best.lam, "nationality")
        flows += 1
        if value < best.value:
            best = _Best(value, chosen, best.lam)
            if report:
                report(Relaxation(value, chosen, best.lam, flows, start))
    return Relaxation(best.value, best.chosen, best.lam, flows, start)


def _default_flows(n_pairs: int) -> int:
    """The flows of the multiplier search for a round of `n_pairs` pairs."""
    for size, flows in zip(FLOW_SIZES, MAX_FLOWS, strict=False):
        if n_pairs < size:
            return flows
    return MAX_FLOWS[-1]


def _multiplier_search(
    dual: _Dual,
    layer: str,
    max_flows: int,
    start_at_zero: bool,
    report: Callable[[Relaxation], None] | None,
    until: float | None = None,
    watch: StopWatch = NO_STOP,
) -> tuple[_Best, int]:
    """Bisection on the budget's multiplier, `max_flows` flows at most; returns the
    best bound and the flows solved. `start_at_zero=False` skips the flow without the
    multiplier (useless when the budget binds, as it does where a budget is set at all
    in practice) so that the first bound and assignment come priced."""
    b = dual.policy.budget
    lo, hi = 0.0, dual.highest_multiplier()
    lam = 0.0 if start_at_zero else hi / 2
    best: _Best | None = None
    flows = 0
    while True:
        watch.check()
        value, chosen, spent = dual(lam, layer)
        flows += 1
        if best is None or value < best.value:
            best = _Best(value, chosen, lam)
            if report:
                report(Relaxation(value, chosen, lam, flows))
        if b is None or hi == 0 or flows >= max_flows or (lam == 0 and spent <= b.total):
            break
        if _past(until):
            break
        if spent > b.total:
            lo = lam
        else:
            hi = lam
        lam = (lo + hi) / 2
    assert best is not None
    return best, flows


def _decomposition_restarts(
    dual: _Dual,
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    best: _Best,
    flows: int,
    until: float | None,
    report: Callable[[Relaxation], None] | None,
    watch: StopWatch = NO_STOP,
) -> tuple[_Best, NDArray[np.intp] | None]:
    """The placement-by-placement bound from the flows' multiplier and then from
    each of `RESTARTS` times it (without a budget there is no multiplier to vary, and
    one run is all), until `until`; returns the best bound and the placements' choices
    behind it (None when no step beat the flows)."""
    prep, policy = dual.prep, dual.policy
    target = TARGET_SHARE * best.value
    start: NDArray[np.intp] | None = None
    starts = [best.lam] + ([m * best.lam for m in RESTARTS] if best.lam > 0 else [])
    for lam0 in starts:
        for step in decomposition_steps(
            prep,
            policy,
            lam0,
            prev_pairs,
            n_previous,
            target,
            DECOMPOSITION_STEPS,
            until=until,
            balance_budget=True,
            locked=dual.locked,
        ):
            watch.check()
            if step.bound < best.value:
                best = _Best(step.bound, best.chosen, best.lam)
                start = step.chosen
                if report:
                    report(Relaxation(step.bound, best.chosen, best.lam, flows, start))
        if until is not None and time.perf_counter() > until:
            break
    return best, start


PRICED_FLOWS = 10
"""Flows at most of the priced start's search for the budget's multiplier: at 10,000
x 2,000 a flow takes 0.1-0.3 s, and ten bring the bracket within 0.1% of the
multiplier where the flow's spending crosses the budget."""
PRICED_WIDTH = 0.001
"""The priced start's search stops once its bracket of multipliers is this narrow
(relative to its upper end): past it the two flows differ by a handful of pairs."""
PRICED_SAFEGUARD = 0.1
"""Share of the bracket an interpolated multiplier keeps from either end (else a
bisection step), so that each flow narrows the bracket by at least this much."""


@dataclass(frozen=True)
class PricedStart:
    """The flows either side of the multiplier where their spending crosses the
    budget: the Lagrangian relaxation's primal side, nearly an assignment within the
    budget (its gap to `bound` is about what one trade between the two flows costs)."""

    bound: int
    """The lowest bound of the flows solved (each is valid at its own multiplier)."""
    over: NDArray[np.intp] | None
    """The flow at the highest multiplier tried that still overspends, trimmed to the
    budget (its pairs of least priced weight left out), None when none overspent."""
    under: NDArray[np.intp] | None
    """The flow at the lowest multiplier tried that keeps the budget (None: none did)."""
    multiplier: float
    """The multiplier of `over` (else of `under`)."""
    flows: int


def priced_start(
    prep: Prepared,
    policy: Policy,
    locked: NDArray[np.intp],
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    near: float | None = None,
    until: float | None = None,
    max_flows: int = PRICED_FLOWS,
    watch: StopWatch = NO_STOP,
) -> PricedStart | None:
    """The Lagrangian primal side of a budget round: the multiplier where the priced
    flow's spending crosses the budget, found by interpolation on the spending
    (`near`, a multiplier known to be good, starts it), and the flows either side.

    A budget that binds couples every placement: a greedy that spends it on the best
    scores first, or windows of a dozen placements, trade money only locally, while the
    priced flow weighs every pair's score against its cost at once (budget50 at
    10,000 x 2,000: the repair of the flow just over the budget starts 0.01% from the
    bound, the greedy of the bound's first flow 3.7%). None without a budget. Raises `Stopped`
    between two flows once `watch` says stop."""
    dual = _Dual.of(prep, policy, locked, prev_pairs, n_previous)
    top = dual.highest_multiplier()
    b = policy.budget
    if b is None or top <= 0:
        return None
    layer = "gender" if policy.gender_balance else "nationality"
    lo, hi = 0.0, top  # lo overspends (or is 0), hi keeps the budget
    spent_lo: int | None = None
    spent_hi: int | None = None
    lam = near if near is not None and 0 < near < top else top / 2
    bound: int | None = None
    over: tuple[float, NDArray[np.intp], int] | None = None
    under: NDArray[np.intp] | None = None
    flows = 0
    while True:
        watch.check()
        value, chosen, spent = dual(lam, layer)
        flows += 1
        bound = value if bound is None else min(bound, value)
        if spent > b.total:
            lo, spent_lo, over = lam, spent, (lam, chosen, spent)
        else:
            hi, spent_hi, under = lam, spent, chosen
        if spent == b.total or flows >= max_flows or _past(until):
            break
        if hi - lo <= PRICED_WIDTH * hi:
            break
        lam = _next_multiplier(lo, hi, spent_lo, spent_hi, b.total)
    trimmed = None if over is None else _trimmed(dual, *over, b.total)
    return PricedStart(bound, trimmed, under, over[0] if over is not None else hi, flows)


def _next_multiplier(
    lo: float, hi: float, spent_lo: int | None, spent_hi: int | None, budget: int
) -> float:
    """The next multiplier in (lo, hi): where the spending, linear between the two
    ends, meets the budget, kept `PRICED_SAFEGUARD` of the bracket from either end
    (the middle when an end has no flow yet)."""
    if spent_lo is None or spent_hi is None or spent_lo <= spent_hi:
        return (lo + hi) / 2
    at = lo + (hi - lo) * (spent_lo - budget) / (spent_lo - spent_hi)
    margin = PRICED_SAFEGUARD * (hi - lo)
    return min(max(at, lo + margin), hi - margin)


def _trimmed(
    dual: _Dual, lam: float, chosen: NDArray[np.intp], spent: int, budget: int
) -> NDArray[np.intp]:
    """A flow's assignment that overspends, its pairs of least priced weight (score
    less lam x cost) left out until it keeps the budget; locked pairs stay."""
    cost = dual.cost[chosen]
    free = ~np.isin(chosen, dual.locked)
    priced = dual.base[chosen] - lam * cost
    order = np.flatnonzero(free)[np.argsort(priced[free], kind="stable")]
    over = spent - budget
    k = int(np.searchsorted(np.cumsum(cost[order]), over)) + 1
    out = np.zeros(len(chosen), dtype=np.bool_)
    out[order[:k]] = True
    return np.sort(chosen[~out]).astype(np.intp)


def _past(until: float | None) -> bool:
    """Whether `until` (a perf_counter() value, None: never) has passed."""
    return until is not None and time.perf_counter() > until


def per_placement(policy: Policy) -> bool:
    """Rounds whose placements have rules of their own, which the
    placement-by-placement bound keeps: gender balance (which the flows only
    approximate) or a nationality cap per placement (which they keep too; there the
    bound gains from the locks, the groups' reach and a finer budget multiplier, and
    its choices guide the search)."""
    return policy.gender_balance or policy.max_same_nationality_per_placement is not None
