"""The benchmark generator and baselines: small and fast, part of the default run.

The generator feeds every published benchmark figure, so it must be reproducible, write
documents the contract accepts, and keep the eligibility density of real pools. The
baselines are compared with an independent LP so that the floor volmatch is measured
against is itself checked.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks import baselines as bl
from benchmarks.generate import generate_round, main, rules_policy
from volmatch.matching import compile_round, find_pairs, score_pairs
from volmatch.models import parse_round


def _pairs(doc: dict[str, object]) -> tuple[object, object, object]:
    c = compile_round(parse_round(doc))
    pairs = find_pairs(c)
    return c, pairs, score_pairs(c, pairs)


def test_same_seed_same_document_and_other_seed_differs() -> None:
    a = generate_round(300, 60, seed=7)
    b = generate_round(300, 60, seed=7)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert json.dumps(a, sort_keys=True) != json.dumps(generate_round(300, 60, seed=8),
                                                        sort_keys=True)


@pytest.mark.parametrize(("n_v", "n_p"), [(1, 1), (7, 2), (400, 80), (2000, 500)])
@pytest.mark.parametrize("rules", [False, True])
def test_documents_pass_the_contract(n_v: int, n_p: int, rules: bool) -> None:
    doc = generate_round(n_v, n_p, seed=3, rules=rules)
    r = parse_round(doc)
    assert len(r.volunteers) == n_v and len(r.placements) == n_p
    assert doc["volunteers"][0]["id"] == "V000001" and doc["placements"][0]["id"] == "P00001"


def test_programme_shape() -> None:
    """Nationalities lean to China, hosts are in Asia and Africa, most volunteers have
    done pre-deployment training: the South-South programme the issue describes."""
    doc = generate_round(5000, 1000, seed=1)
    nat = Counter(v["nationality"] for v in doc["volunteers"])
    assert nat.most_common(1)[0][0] == "CN" and 0.3 < nat["CN"] / 5000 < 0.5
    assert len(nat) > 15
    hosts = {p["country"] for p in doc["placements"]}
    assert {"NP", "MM", "TH", "KH", "KE"} <= hosts and "CN" not in hosts
    trained = sum("pre-deployment" in v["training"] for v in doc["volunteers"]) / 5000
    assert 0.88 < trained < 0.97
    assert all(p["sdg_targets"] for p in doc["placements"])
    assert any(v.get("preferences") for v in doc["volunteers"])
    assert any(p.get("ranking") for p in doc["placements"])


@pytest.mark.parametrize(("n_v", "n_p"), [(1000, 200), (5000, 1000)])
def test_eligibility_density_like_real_pools(n_v: int, n_p: int) -> None:
    _, pairs, _ = _pairs(generate_round(n_v, n_p, seed=0))
    per_volunteer = len(pairs) / n_v
    assert 15 <= per_volunteer <= 70, per_volunteer


def test_rules_variant_only_adds_groups() -> None:
    pure = generate_round(1000, 200, seed=2)
    rules = generate_round(1000, 200, seed=2, rules=True)
    groups = Counter(v["group"] for v in rules["volunteers"] if "group" in v)
    assert len(groups) == 10 and set(groups.values()) == {2}
    for a, b in zip(pure["volunteers"], rules["volunteers"], strict=True):
        b = {k: x for k, x in b.items() if k != "group"}
        assert a == b
    assert pure["placements"] == rules["placements"]
    assert rules.get("policy", {}) == rules_policy(2)


def test_cli_writes_a_round(tmp_path: Path) -> None:
    out = tmp_path / "round.json"
    assert main(["--volunteers", "50", "--placements", "10", "--seed", "4", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc == generate_round(50, 10, seed=4)


def _lp_optimum(pv: np.ndarray, pp: np.ndarray, score: np.ndarray, cap: np.ndarray,
                n_v: int) -> float:
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    k = len(pv)
    rows = np.concatenate([pv, n_v + pp])
    cols = np.concatenate([np.arange(k), np.arange(k)])
    a = coo_matrix((np.ones(2 * k), (rows, cols)), shape=(n_v + len(cap), k))
    res = linprog(-score, A_ub=a, b_ub=np.concatenate([np.ones(n_v), cap]), bounds=(0, 1),
                  method="highs")
    return float(-res.fun)


def test_flow_is_the_lp_optimum_and_greedy_is_below() -> None:
    c, pairs, scores = _pairs(generate_round(600, 120, seed=5))
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
    c, pairs, scores = _pairs(generate_round(200, 40, seed=6))
    none = np.full(len(pairs), -1)
    hr = bl.hospital_resident(pairs.v, pairs.p, scores.total, c.capacity, c.n_volunteers,
                              volunteer_pref_pos=none, placement_rank_pos=none)
    assert hr.status == "stable" and hr.matched > 0
    bl.check_assignment(pairs.v, pairs.p, c.capacity, hr.chosen, c.n_volunteers)
    # Both sides rank by the same score: the stable matching is the greedy one (ANCHORS).
    greedy = bl.greedy_by_score(pairs.v, pairs.p, scores.total, c.capacity, c.n_volunteers)
    assert hr.objective == greedy.objective
