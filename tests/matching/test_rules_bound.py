"""The relaxation bound of rounds with rules (`matching.rules.bound` over the networks
of `matching.rules.network`) never cuts off the proven optimum, with the gender
balance network and the budget multiplier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.matching.rounds import proven_score_round
from tests.strategies import SHAPES, ruled_docs, shaped_docs
from volmatch.matching import solve_round
from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.prepared import locked_pair_indices, prepare
from volmatch.matching.rules.bound import PricedStart, priced_start, relaxation
from volmatch.models import parse_round


@settings(max_examples=40, deadline=None)
@given(ruled_docs(), st.sampled_from([0, 50, 400]), st.booleans())
def test_relaxation_bounds_the_proven_optimum(d: dict[str, Any], pen: int, gender: bool) -> None:
    got = proven_score_round(d, pen, gender)
    if got is None:
        return  # rules that cannot hold together, or no proof: nothing to compare
    r, result = got
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    relax = relaxation(prep, r.policy, none, none, 0)
    assert relax.bound >= result.objective


def test_gender_network_is_tighter_than_leaving_the_rule_out() -> None:
    from tests.helpers import doc, plc, vol

    # two slots, only women score well: the flow without the rule fills both with women
    vols = [vol(f"F{i}", gender="female", skills={"teaching": 5}) for i in range(3)]
    vols += [vol("M1", gender="male")]
    d = doc(
        vols,
        [plc("P1", slots=2, desired_skills={"teaching": 5})],
        gender_balance=True,
        gender_balance_penalty=10_000,
    )
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    with_rule = relaxation(prep, r.policy, none, none, 0).bound
    without = relaxation(
        prep, r.policy.model_copy(update={"gender_balance": False}), none, none, 0
    ).bound
    result = solve_round(r)
    assert result.objective <= with_rule < without
    assert with_rule == result.objective  # two slots: the stand-in is exact


@pytest.mark.parametrize("slots", [3, 4])
def test_gender_network_bounds_teams_with_the_other_class(slots: int) -> None:
    """The first volunteer of neither declared gender earns only the per-volunteer
    charge in the network (the rule never rewards that class): still a bound, for every
    mix of four candidates at one placement of three or four slots."""
    import itertools

    from tests.helpers import doc, plc, vol

    pen = 3_000
    none = np.zeros(0, dtype=np.intp)
    mixes = list(itertools.product(["female", "male", "other"], repeat=4))[::3]
    for genders in mixes:
        vols = [
            vol(f"V{i}", gender=g, skills={"teaching": 5 if i < 3 else 3})
            for i, g in enumerate(genders)
        ]
        d = doc(
            vols,
            [plc("P1", slots=slots, desired_skills={"teaching": 5})],
            gender_balance=True,
            gender_balance_penalty=pen,
        )
        r = parse_round(d)
        result = solve_round(r)
        bound = relaxation(prepare(r), r.policy, none, none, 0).bound
        assert result.objective <= bound, genders


def _relaxation_of(r: Any, decompose: bool) -> int:
    """The relaxation's bound of a round, its previous pairs and locks in."""
    from volmatch.matching.prepared import locked_pair_indices
    from volmatch.matching.previous import previous_pairs

    prep = prepare(r)
    prev = previous_pairs(prep.compiled, prep.pairs)
    prev_idx = np.array([i for i in prev.values() if i >= 0], dtype=np.intp)
    locked = locked_pair_indices(prep)
    return relaxation(prep, r.policy, locked, prev_idx, len(r.previous), decompose=decompose).bound


@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_relaxation_bounds_the_optimum_on_every_shape(shape: str, data: st.DataObject) -> None:
    """On small rounds of every shape of the benchmark family, the flows' bound and the
    placement-by-placement bound (groups' reach, locks, caps, budget) are at least
    CP-SAT's proven optimum of the whole round."""
    d = data.draw(shaped_docs(shape))
    r = parse_round(d)
    result = solve_round(r)
    tiers = getattr(result, "tiers", {}) or {}
    proven = result.status == "optimal" or tiers.get("score", {}).get("optimal")
    if getattr(result, "conflicts", None) or not proven:
        return  # rules that cannot hold together, or no proof: nothing to compare
    for decompose in (False, True):
        assert _relaxation_of(r, decompose) >= result.objective, decompose
    assert result.bound >= result.objective
    priced = _priced_of(r)
    if priced is not None:
        # every flow of the priced start's search bounds the round too
        assert priced.bound >= result.objective


def _priced_of(r: Any) -> PricedStart | None:
    """The priced start of a round, its previous pairs and locks in."""
    from volmatch.matching.prepared import locked_pair_indices
    from volmatch.matching.previous import previous_pairs

    prep = prepare(r)
    prev = previous_pairs(prep.compiled, prep.pairs)
    prev_idx = np.array([i for i in prev.values() if i >= 0], dtype=np.intp)
    return priced_start(prep, r.policy, locked_pair_indices(prep), prev_idx, len(r.previous))


@settings(max_examples=40, deadline=None)
@given(ruled_docs(), st.integers(0, 3000))
def test_priced_start_keeps_the_budget_and_bounds_the_optimum(
    d: dict[str, Any], total: int
) -> None:
    """The priced flows either side of the budget: the one that overspent is trimmed
    to the budget, the other keeps it as it is, and each flow's bound is at least
    CP-SAT's proven optimum."""
    countries = sorted({p["country"] for p in d["placements"]})
    d["policy"]["budget"] = {
        "total": total,
        "cost": {c: 200 + 100 * i for i, c in enumerate(countries)},
    }
    got = proven_score_round(d, 0, False)
    if got is None:
        return
    r, result = got
    priced = _priced_of(r)
    if priced is None:
        return  # no pair scores above zero: no multiplier to search
    assert priced.flows >= 1
    if not getattr(result, "conflicts", None):
        assert priced.bound >= result.objective
    prep = prepare(r)
    cost = placement_costs(prep.compiled, r.policy)[prep.pairs.p]
    locked = locked_pair_indices(prep)
    for start in (priced.over, priced.under):
        if start is None:
            continue
        assert len(np.unique(prep.pairs.v[start])) == len(start)  # one pair a volunteer
        spent = int(cost[start].sum())
        # locks stay whatever they cost; the rest keeps the budget
        assert spent <= total or set(locked.tolist()) >= set(start.tolist())


def test_priced_start_finds_the_trade_the_greedy_misses() -> None:
    """Two volunteers, one slot each at a dear and a cheap placement, money for one
    dear or two cheap: the best scores first spend it all on the dear placement; the
    priced flows place both cheaply, which is the optimum."""
    from tests.helpers import doc, plc, vol

    d = doc(
        [vol("V1", skills={"teaching": 5}), vol("V2", skills={"teaching": 4})],
        [
            plc("P1", slots=1, country="NP", desired_skills={"teaching": 5}),
            plc("P2", host="H2", slots=2, country="KE"),
        ],
        budget={"total": 1000, "cost": {"NP": 1000, "KE": 500}},
    )
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    priced = priced_start(prep, r.policy, none, none, 0)
    assert priced is not None
    starts = [s for s in (priced.over, priced.under) if s is not None]
    best = max(starts, key=lambda s: int(prep.scores.total[s].sum()))
    assert len(best) == 2 and set(prep.pairs.p[best].tolist()) == {1}
    result = solve_round(r)
    assert int(prep.scores.total[best].sum()) == result.objective <= priced.bound


def test_couples_bound_leaves_out_pairs_the_couple_cannot_share() -> None:
    """A couple by country whose members are eligible in different countries only can
    never be placed: the flows' bound leaves their pairs out (the plain flow would
    count both)."""
    from tests.helpers import doc, plc, vol

    d = doc(
        [vol("V1", group="c1"), vol("V2", group="c1", languages={"fr": "C1"}), vol("V3")],
        [
            plc("P1", country="NP"),
            plc("P2", host="H2", country="KE", required_languages={"fr": "B2"}),
        ],
        group_together="country",
        max_same_nationality_per_placement=1,
    )
    r = parse_round(d)
    result = solve_round(r)
    placed = {a.volunteer for a in result.assignments}
    assert "V1" not in placed and "V2" not in placed
    bound = _relaxation_of(r, decompose=False)
    assert result.objective <= bound
    # only V3 can be placed: the bound is V3's best score, not the three volunteers'
    assert bound == result.objective
