"""The baselines volmatch is measured against, checked themselves: min-cost flow is the
LP optimum, greedy is below it, bare CP-SAT reaches it, the hospital-resident baseline is
stable, preference lists follow the contract's order."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import baselines as bl
from benchmarks.generate import generate_round
from tests.benchmarks.helpers import candidate_pairs


def _lp_optimum(
    pv: np.ndarray, pp: np.ndarray, score: np.ndarray, cap: np.ndarray, n_v: int
) -> float:
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    k = len(pv)
    rows = np.concatenate([pv, n_v + pp])
    cols = np.concatenate([np.arange(k), np.arange(k)])
    a = coo_matrix((np.ones(2 * k), (rows, cols)), shape=(n_v + len(cap), k))
    res = linprog(
        -score, A_ub=a, b_ub=np.concatenate([np.ones(n_v), cap]), bounds=(0, 1), method="highs"
    )
    return float(-res.fun)


def test_flow_is_the_lp_optimum_and_greedy_is_below() -> None:
    c, pairs, scores = candidate_pairs(generate_round(600, 120, seed=5))
    args = (pairs.v, pairs.p, scores.total, c.capacity, c.n_volunteers)
    flow = bl.min_cost_flow(*args)
    greedy = bl.greedy_by_score(*args)
    assert flow.status == "optimal" and flow.objective == flow.bound
    assert flow.objective == pytest.approx(_lp_optimum(*args))
    assert greedy.objective is not None and flow.objective is not None
    assert 0.85 * flow.objective < greedy.objective <= flow.objective
    for b in (flow, greedy):
        bl.check_assignment(pairs.v, pairs.p, c.capacity, b.chosen, c.n_volunteers)
        assert int(scores.total[b.chosen].sum()) == b.objective


def test_cpsat_bare_solves_a_tiny_model_to_the_flow_optimum() -> None:
    rng = np.random.default_rng(0)
    pv = np.repeat(np.arange(12), 3)
    pp = rng.integers(0, 5, len(pv))
    keep = np.unique(pv * 5 + pp, return_index=True)[1]
    pv, pp = pv[keep], pp[keep]
    score = rng.integers(500, 1000, len(pv))
    cap = np.array([1, 2, 1, 1, 2])
    flow = bl.min_cost_flow(pv, pp, score, cap, 12)
    cp = bl.cpsat_bare(pv, pp, score, cap, 12, time_limit_s=10)
    assert cp.status == "optimal"
    assert cp.objective == flow.objective == cp.bound


def test_check_assignment_rejects_overfilled_placements() -> None:
    pv, pp = np.array([0, 1]), np.array([0, 0])
    bl.check_assignment(pv, pp, np.array([2]), np.array([0, 1]), 2)
    with pytest.raises(AssertionError):
        bl.check_assignment(pv, pp, np.array([1]), np.array([0, 1]), 2)


def test_preference_lists_follow_the_contract_order() -> None:
    """Named preferences first, then descending score, ties by index (= id order)."""
    pv = np.array([0, 0, 0, 1, 1])
    pp = np.array([0, 1, 2, 0, 1])
    score = np.array([900, 700, 900, 600, 600])
    vpos = np.array([-1, 0, -1, -1, -1])  # volunteer 0 names placement 1 first
    ppos = np.array([-1, -1, -1, 0, -1])  # placement 0 names volunteer 1 first
    residents, hospitals = bl.preference_lists(pv, pp, score, vpos, ppos)
    assert residents == {0: [1, 0, 2], 1: [0, 1]}
    assert hospitals == {0: [1, 0], 1: [0, 1], 2: [0]}


def test_hospital_resident_matches_a_stable_outcome() -> None:
    c, pairs, scores = candidate_pairs(generate_round(200, 40, seed=6))
    none = np.full(len(pairs), -1)
    hr = bl.hospital_resident(
        pairs.v,
        pairs.p,
        scores.total,
        c.capacity,
        c.n_volunteers,
        volunteer_pref_pos=none,
        placement_rank_pos=none,
    )
    assert hr.status == "stable" and hr.matched > 0
    bl.check_assignment(pairs.v, pairs.p, c.capacity, hr.chosen, c.n_volunteers)
    # Both sides rank by the same score: the stable matching is the greedy one (ANCHORS).
    greedy = bl.greedy_by_score(pairs.v, pairs.p, scores.total, c.capacity, c.n_volunteers)
    assert hr.objective == greedy.objective
