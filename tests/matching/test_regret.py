"""Regrets from the residual network equal the optimum re-solved with the choice forced.

The oracle is an independent solver: scipy's MILP (HiGHS) on the same pairs, with the
forced pair, the forced extra slot or the locks as constraints.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from random import Random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from volmatch.matching import residual_loops
from volmatch.matching.flow import max_score_assignment
from volmatch.matching.regret import UNREACHABLE, NotOptimal, ResidualNetwork

I64 = NDArray[np.int64]


@pytest.fixture(autouse=True, scope="module", params=["python", "compiled"])
def loops_as(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test twice: the network's loops as plain Python (small rounds) and compiled
    (large rounds, `residual_loops.COMPILED_FROM`): the same answers."""
    mp = pytest.MonkeyPatch()
    if request.param == "compiled":
        mp.setattr(residual_loops, "COMPILED_FROM", 0)
    yield str(request.param)
    mp.undo()


@dataclass
class Instance:
    n_v: int
    capacity: I64
    pv: I64
    pp: I64
    score: I64
    locked: I64  # pair indices

    def optimum(
        self, force_pair: int | None = None, min_fill: tuple[int, int] | None = None
    ) -> int | None:
        """The best total with every lock, and optionally one pair forced or one
        placement filled to at least a number; None when infeasible."""
        n = len(self.pv)
        if n == 0:
            return None if force_pair is not None or min_fill else 0
        rows_v = coo_matrix((np.ones(n), (self.pv, np.arange(n))), shape=(self.n_v, n))
        rows_p = coo_matrix((np.ones(n), (self.pp, np.arange(n))), shape=(len(self.capacity), n))
        cons = [
            LinearConstraint(rows_v, -np.inf, 1),
            LinearConstraint(rows_p, -np.inf, self.capacity),
        ]
        lo = np.zeros(n)
        lo[self.locked] = 1
        if force_pair is not None:
            lo[force_pair] = 1
        if min_fill is not None:
            p, k = min_fill
            mask = (self.pp == p).astype(float)
            cons.append(LinearConstraint(mask.reshape(1, -1), k, np.inf))
        res = milp(
            -self.score.astype(float),
            constraints=cons,
            integrality=np.ones(n),
            bounds=Bounds(lo, np.ones(n)),
        )
        if res.status != 0:
            return None
        return round(-res.fun)

    def solved(self) -> tuple[I64, int]:
        """An optimal assignment with the locks, by the min-cost flow."""
        taken = np.zeros(self.n_v, bool)
        taken[self.pv[self.locked]] = True
        cap = self.capacity - np.bincount(self.pp[self.locked], minlength=len(self.capacity))
        free = np.flatnonzero(~taken[self.pv] & (cap[self.pp] > 0))
        sol = max_score_assignment(self.n_v, cap, self.pv[free], self.pp[free], self.score[free])
        chosen = np.sort(np.concatenate([self.locked, free[sol.chosen]])).astype(np.int64)
        return chosen, int(self.score[chosen].sum())

    def network(self) -> tuple[ResidualNetwork, I64, int]:
        chosen, total = self.solved()
        net = ResidualNetwork(
            self.n_v, self.capacity, self.pv, self.pp, self.score, chosen, self.locked
        )
        return net, chosen, total


@st.composite
def instances(draw: st.DrawFn, max_v: int = 9, max_p: int = 5) -> Instance:
    n_v = draw(st.integers(1, max_v))
    n_p = draw(st.integers(1, max_p))
    cells = [(v, p) for v in range(n_v) for p in range(n_p)]
    chosen = draw(st.lists(st.sampled_from(cells), unique=True, max_size=len(cells)))
    chosen.sort(key=lambda c: (c[1], c[0]))  # grouped by placement, like prepared pairs
    # few distinct scores, so that ties (cost 0 that is no gain) are common
    score = [draw(st.sampled_from([500, 600, 700, 800, 1100])) for _ in chosen]
    capacity = np.array([draw(st.integers(1, 3)) for _ in range(n_p)], dtype=np.int64)
    pv = np.array([c[0] for c in chosen], dtype=np.int64)
    pp = np.array([c[1] for c in chosen], dtype=np.int64)
    locked: list[int] = []
    if len(chosen) and draw(st.booleans()):
        k = draw(st.integers(0, len(chosen) - 1))
        if capacity[pp[k]] >= 1:
            locked = [k]
    return Instance(
        n_v, capacity, pv, pp, np.array(score, dtype=np.int64), np.array(locked, dtype=np.int64)
    )


def _expected_regret(inst: Instance, total: int, pair: int) -> int:
    forced = inst.optimum(force_pair=pair)
    return UNREACHABLE if forced is None else total - forced


@given(instances())
def test_regret_of_every_pair_equals_the_forced_optimum(inst: Instance) -> None:
    net, _, total = inst.network()
    assert inst.optimum() == total
    for p in range(len(inst.capacity)):
        pairs, regret = net.regrets_at(p)
        assert sorted(pairs.tolist()) == np.flatnonzero(inst.pp == p).tolist()
        for k, r in zip(pairs.tolist(), regret.tolist(), strict=True):
            assert r == _expected_regret(inst, total, k), (p, k)


@given(instances())
def test_regrets_of_a_volunteer_agree_with_those_at_each_placement(inst: Instance) -> None:
    net, _, total = inst.network()
    by_pair: dict[int, int] = {}
    for p in range(len(inst.capacity)):
        pairs, regret = net.regrets_at(p)
        by_pair.update(zip(pairs.tolist(), regret.tolist(), strict=True))
    for v in range(inst.n_v):
        pairs, regret = net.regrets_of(v)
        assert sorted(pairs.tolist()) == np.flatnonzero(inst.pv == v).tolist()
        for k, r in zip(pairs.tolist(), regret.tolist(), strict=True):
            assert r == by_pair[k] == _expected_regret(inst, total, k)


@given(instances())
def test_cost_of_placing_an_unplaced_volunteer_is_its_least_regret(inst: Instance) -> None:
    net, chosen, total = inst.network()
    cost, best = net.unplaced_costs()
    placed = set(inst.pv[chosen].tolist())
    for v in range(inst.n_v):
        if v in placed:
            assert cost[v] == 0
            continue
        options = [
            k
            for k in np.flatnonzero(inst.pv == v).tolist()
            if inst.optimum(force_pair=k) is not None
        ]
        if not options:
            assert cost[v] == UNREACHABLE and best[v] == -1
            continue
        want = min(total - (inst.optimum(force_pair=k) or 0) for k in options)
        assert cost[v] == want
        assert inst.pv[best[v]] == v
        assert total - (inst.optimum(force_pair=int(best[v])) or 0) == want


@given(instances(), st.randoms(use_true_random=False))
def test_the_order_the_pairs_come_in_changes_no_cost(inst: Instance, rnd: Random) -> None:
    """The compiled passes read pairs grouped by placement through an order where they
    do not come so: the same costs, the same best pairs, the same open costs."""
    net, chosen, _ = inst.network()
    perm = np.arange(len(inst.pv))
    rnd.shuffle(perm)  # type: ignore[arg-type]
    back = np.argsort(perm)  # pair k of the round is pair back[k] of the shuffled one
    shuffled = ResidualNetwork(
        inst.n_v,
        inst.capacity,
        inst.pv[perm],
        inst.pp[perm],
        inst.score[perm],
        back[chosen],
        back[np.asarray(inst.locked, dtype=np.int64)],
    )
    cost, best = net.unplaced_costs()
    cost2, best2 = shuffled.unplaced_costs()
    assert np.array_equal(cost, cost2)
    assert [-1 if k < 0 else int(back[k]) for k in best.tolist()] == best2.tolist()
    assert np.array_equal(net.open_costs(), shuffled.open_costs())


@given(instances())
def test_cost_of_one_more_slot_equals_the_optimum_with_that_slot_filled(inst: Instance) -> None:
    net, chosen, total = inst.network()
    costs = net.open_costs()
    fill = np.bincount(inst.pp[chosen], minlength=len(inst.capacity))
    for p in range(len(inst.capacity)):
        if fill[p] >= inst.capacity[p]:
            assert costs[p] == 0
            continue
        more = inst.optimum(min_fill=(p, int(fill[p]) + 1))
        assert costs[p] == (UNREACHABLE if more is None else total - more), p


def test_a_tie_costs_nothing_and_a_worse_fit_costs_the_difference() -> None:
    # P0 has one slot; V0 and V1 both score 1100 there, V2 800; V1 took it.
    inst = Instance(
        3,
        np.array([1]),
        np.array([0, 1, 2]),
        np.array([0, 0, 0]),
        np.array([1100, 1100, 800]),
        np.zeros(0, np.int64),
    )
    net = ResidualNetwork(3, inst.capacity, inst.pv, inst.pp, inst.score, np.array([1]))
    pairs, regret = net.regrets_at(0)
    assert dict(zip(pairs.tolist(), regret.tolist(), strict=True)) == {0: 0, 1: 0, 2: 300}
    cost, best = net.unplaced_costs()
    assert cost.tolist() == [0, 0, 300] and best.tolist() == [0, 1, 2]


def test_a_vacancy_chain_is_priced_whole() -> None:
    # V0 at P0 (900) could also go to P1 (850); V1 waits, scores 1000 at P0 only.
    # Optimal: V1 at P0, V0 at P1. Forcing V0 back to P0 pushes V1 out: 1850 -> 900.
    pv, pp = np.array([0, 1, 0]), np.array([0, 0, 1])
    score = np.array([900, 1000, 850])
    inst = Instance(2, np.array([1, 1]), pv, pp, score, np.zeros(0, np.int64))
    net, chosen, total = inst.network()
    assert total == 1850 and sorted(chosen.tolist()) == [1, 2]
    pairs, regret = net.regrets_at(0)
    assert dict(zip(pairs.tolist(), regret.tolist(), strict=True)) == {0: 950, 1: 0}


def test_a_locked_volunteer_never_moves() -> None:
    pv, pp = np.array([0, 0]), np.array([0, 1])
    inst = Instance(1, np.array([1, 1]), pv, pp, np.array([500, 900]), np.array([0]))
    net, _, _ = inst.network()
    pairs, regret = net.regrets_of(0)
    assert dict(zip(pairs.tolist(), regret.tolist(), strict=True)) == {0: 0, 1: UNREACHABLE}


def test_a_non_optimal_assignment_is_refused() -> None:
    pv, pp = np.array([0, 0]), np.array([0, 1])
    with pytest.raises(NotOptimal):
        ResidualNetwork(1, np.array([1, 1]), pv, pp, np.array([500, 900]), np.array([0]))
