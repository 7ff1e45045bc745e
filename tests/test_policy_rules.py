"""Each policy rule: a round where it binds and is kept (checked without the solver),
a round where it cannot be kept and the result says why, and a property over random
rounds that it is never broken."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import doc, plc, vol
from tests.strategies import round_docs
from volmatch.matching import solve_round, validate_result
from volmatch.matching.validate import rule_violations
from volmatch.models import InfeasibleRound, Result, parse_round


def solve(d: dict[str, Any]) -> Result:
    r = parse_round(d)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    return result


def placed(result: Result) -> dict[str, str]:
    return {a.volunteer: a.placement for a in result.assignments}


# groups ------------------------------------------------------------------------------


def test_group_goes_together_even_at_a_lower_score() -> None:
    d = doc(
        [vol("V1", group="g", skills={"teaching": 5}), vol("V2", group="g")],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", slots=2)],
    )
    assert placed(solve(d)) == {"V1": "P2", "V2": "P2"}
    # without the group, V1 would take P1
    d2 = doc(
        [vol("V1", skills={"teaching": 5}), vol("V2")],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", slots=2)],
    )
    assert placed(solve(d2))["V1"] == "P1"


def test_group_together_by_country() -> None:
    d = doc(
        [vol("V1", group="g"), vol("V2", group="g")],
        [plc("P1"), plc("P2"), plc("P3", country="KE")],
        group_together="country",
    )
    where = placed(solve(d))
    assert set(where) == {"V1", "V2"} and {where["V1"], where["V2"]} == {"P1", "P2"}


def test_group_no_placement_takes_whole_stays_out_with_reason() -> None:
    d = doc(
        [vol("V1", group="g"), vol("V2", group="g", languages={"fr": "B2"})],
        [plc("P1", required_languages={"en": "B1"}), plc("P2", required_languages={"fr": "B1"})],
    )
    result = solve(d)
    assert result.assignments == []
    why = {u.volunteer: u.reasons for u in result.unmatched_volunteers}
    assert "group 'g': no placement accepts all 2 members" in why["V1"][0]


# nationality mix -------------------------------------------------------------------


def test_nationality_cap_per_placement_binds() -> None:
    d = doc(
        [vol(f"V{i}") for i in range(3)] + [vol("V9", nationality="KE", skills={})],
        [plc("P1", slots=3, desired_skills={"teaching": 3})],
        max_same_nationality_per_placement=2,
    )
    result = solve(d)
    assert sorted(placed(result)) in (["V0", "V1", "V9"], ["V0", "V2", "V9"], ["V1", "V2", "V9"])
    assert result.rules["costs"]["nationality_per_placement"] > 0  # type: ignore[attr-defined]


def test_nationality_share_per_country_binds() -> None:
    d = doc(
        [vol(f"V{i}") for i in range(4)] + [vol("V9", nationality="KE")],
        [plc("P1", slots=5)],
        max_nationality_share_per_country=0.5,
        nationality_share_allowance=0,
    )
    result = solve(d)
    nats = [p for v, p in placed(result).items() if v != "V9"]
    assert len(nats) == 1 and "V9" in placed(result)


# gender balance (soft) -------------------------------------------------------------


def test_gender_balance_prefers_a_mixed_team() -> None:
    vols = [
        vol("F1", gender="female", skills={"teaching": 5}),
        vol("F2", gender="female", skills={"teaching": 5}),
        vol("M1", gender="male", skills={"teaching": 4}),
    ]
    pls = [plc("P1", slots=2, desired_skills={"teaching": 5})]
    assert set(placed(solve(doc(vols, pls)))) == {"F1", "F2"}
    result = solve(doc(vols, pls, gender_balance=True))
    assert "M1" in placed(result)
    assert result.rules["gender_balance"]["penalty"] == 0  # type: ignore[attr-defined]


def test_gender_balance_that_cannot_hold_is_a_named_penalty() -> None:
    vols = [
        vol("F1", gender="female"),
        vol("F2", gender="female"),
        vol("M1", gender="male", training=[]),
    ]
    result = solve(doc(vols, [plc("P1", slots=2)], gender_balance=True))
    # the pool of P1 offers no eligible man: the rule does not apply, no penalty
    assert result.rules["gender_balance"]["penalty"] == 0  # type: ignore[attr-defined]
    assert set(placed(result)) == {"F1", "F2"}


# urgent coverage -------------------------------------------------------------------


def test_min_fill_covers_the_urgent_need_first() -> None:
    vols = [
        vol("V1", skills={"teaching": 5}),
        vol("V2", training=["pre-deployment"], languages={"en": "A2"}),
    ]
    pls = [
        plc("P1", priority=5, required_languages={"en": "B1"}, desired_skills={"health": 3}),
        plc("P2", priority=1, slots=2, desired_skills={"teaching": 5}),
    ]
    d = doc(vols, pls, weights={"priority": 0})
    assert placed(solve(d))["V1"] == "P2"
    d["policy"]["min_fill"] = {5: 1}
    assert placed(solve(d))["V1"] == "P1"


def test_min_fill_no_pool_can_meet_is_reported() -> None:
    d = doc(
        [vol("V1")],
        [plc("P1", priority=5, required_languages={"fr": "C1"}), plc("P2")],
        min_fill={5: 1},
    )
    result = solve(d)
    short = result.rules["min_fill"]["short"]  # type: ignore[attr-defined]
    assert short == [{"placement": "P1", "priority": 5, "needed": 1, "got": 0}]
    assert placed(result) == {"V1": "P2"}


def test_urgent_coverage_tier_comes_before_score() -> None:
    vols = [vol("V1", skills={"teaching": 5})]
    pls = [
        plc("P1", priority=4, desired_skills={"health": 3}),
        plc("P2", priority=1, desired_skills={"teaching": 5}),
    ]
    d = doc(vols, pls, weights={"priority": 0})
    assert placed(solve(d)) == {"V1": "P2"}
    d["policy"]["objective"] = ["urgent_coverage", "score"]
    assert placed(solve(d)) == {"V1": "P1"}


# caps and budget -------------------------------------------------------------------


def test_max_per_host_binds() -> None:
    d = doc(
        [vol(f"V{i}") for i in range(3)],
        [plc("P1", slots=2), plc("P2", slots=2), plc("P3", host="H2")],
        max_per_host=1,
    )
    where = placed(solve(d))
    assert len(where) == 2 and {"P3"} <= set(where.values())


def test_budget_binds_and_prefers_cheaper_countries() -> None:
    d = doc(
        [vol("V1"), vol("V2")],
        [plc("P1", country="NP"), plc("P2", country="KE")],
        budget={"total": 500, "cost": {"NP": 400, "KE": 300}},
    )
    assert len(solve(d).assignments) == 1


def test_lock_beyond_budget_is_infeasible_and_names_both() -> None:
    d = doc(
        [vol("V1")],
        [plc("P1")],
        budget={"total": 100, "cost": {"NP": 400}},
        locked=[{"volunteer": "V1", "placement": "P1"}],
    )
    with pytest.raises(InfeasibleRound) as exc:
        solve_round(parse_round(d))
    assert {c.rule for c in exc.value.conflicts} >= {"locked", "budget"}


# re-matching -----------------------------------------------------------------------


def test_rematch_with_nothing_changed_moves_nobody() -> None:
    d = doc([vol(f"V{i}") for i in range(4)], [plc("P1", slots=2), plc("P2", slots=2)])
    first = solve(d)
    # a previous result that is optimal but not the one the solver picks on its own
    swapped = {"P1": "P2", "P2": "P1"}
    d["previous"] = [a.model_dump(mode="json") | {"placement": swapped[a.placement]}
                     for a in first.assignments]
    for cost in (0, 100):
        d["policy"] = {"move_cost": cost}
        again = solve(d)
        assert again.moves == []  # type: ignore[attr-defined]
        assert placed(again) == {a["volunteer"]: a["placement"] for a in d["previous"]}
        assert again.objective == first.objective


def test_rematch_keeps_previous_over_a_slightly_better_fit() -> None:
    d = doc(
        [vol("V1", skills={"teaching": 4})],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", desired_skills={"teaching": 4})],
    )
    d["previous"] = [{"volunteer": "V1", "placement": "P1"}]
    d["policy"] = {"move_cost": 100}
    assert placed(solve(d)) == {"V1": "P1"}
    d["policy"] = {"move_cost": 0}
    result = solve(d)
    assert placed(result) == {"V1": "P2"}
    assert result.moves[0]["from"] == "P1" and result.moves[0]["to"] == "P2"  # type: ignore[attr-defined]


def test_max_moves_and_frozen_stage() -> None:
    vols = [vol("V1", skills={"teaching": 1}), vol("V2", skills={"teaching": 1})]
    pls = [plc("P1"), plc("P2"), plc("P3", desired_skills={"teaching": 1}, slots=2)]
    prev = [
        {"volunteer": "V1", "placement": "P1", "stage": "travel_booked"},
        {"volunteer": "V2", "placement": "P2"},
    ]
    d = doc(vols, pls, move_cost=0, frozen_stages=["travel_booked"])
    d["previous"] = prev
    where = placed(solve(d))
    assert where["V1"] == "P1" and where["V2"] == "P3"
    d["policy"]["max_moves"] = 0
    assert placed(solve(d)) == {"V1": "P1", "V2": "P2"}


def test_frozen_pair_that_breaks_a_rule_now_is_infeasible() -> None:
    d = doc(
        [vol("V1", security_clearance=0)], [plc("P1", security_level=2)], frozen_stages=["visa"]
    )
    d["previous"] = [{"volunteer": "V1", "placement": "P1", "stage": "visa"}]
    with pytest.raises(InfeasibleRound) as exc:
        solve_round(parse_round(d))
    assert exc.value.conflicts[0].rule == "frozen_stages"


# properties -------------------------------------------------------------------------


@st.composite
def ruled_docs(draw: st.DrawFn) -> dict[str, Any]:
    d = draw(round_docs(max_volunteers=9, max_placements=5))
    for v in d["volunteers"]:
        if draw(st.integers(0, 3)) == 0:
            v["group"] = f"g{draw(st.integers(0, 2))}"
    pol = d.setdefault("policy", {})
    pol["time_limit_s"] = 5
    pol["rule_costs"] = False
    if draw(st.booleans()):
        pol["max_same_nationality_per_placement"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        pol["max_nationality_share_per_country"] = draw(st.sampled_from([0.3, 0.5, 0.8]))
        pol["nationality_share_allowance"] = draw(st.integers(0, 1))
    if draw(st.booleans()):
        pol["max_per_host"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        pol["budget"] = {
            "total": draw(st.integers(0, 1500)),
            "cost": {"NP": 300, "KE": 200},
            "default_cost": 250,
        }
    if draw(st.booleans()):
        pol["gender_balance"] = True
    if draw(st.booleans()):
        pol["min_fill"] = {5: 1, 4: 1}
    pol["group_together"] = draw(st.sampled_from(["placement", "country"]))
    return d


@settings(max_examples=40)
@given(ruled_docs())
def test_random_rounds_with_rules_break_none(d: dict[str, Any]) -> None:
    r = parse_round(d)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    assert result.objective <= result.bound


@settings(max_examples=25)
@given(ruled_docs())
def test_adding_a_lower_tier_never_worsens_a_higher_one(d: dict[str, Any]) -> None:
    d["policy"]["objective"] = ["urgent_coverage"]
    alone = solve_round(parse_round(d))
    d["policy"]["objective"] = ["urgent_coverage", "score"]
    both = solve_round(parse_round(d))
    assert both.tiers["urgent_coverage"]["value"] >= alone.tiers["urgent_coverage"]["value"]  # type: ignore[attr-defined]


@settings(max_examples=20)
@given(ruled_docs())
def test_rules_are_deterministic(d: dict[str, Any]) -> None:
    a = solve_round(parse_round(d)).model_dump(mode="json", exclude={"stats", "solver"})
    b = solve_round(parse_round(d)).model_dump(mode="json", exclude={"stats", "solver"})
    a.get("solver", {}).pop("seconds", None)
    b.get("solver", {}).pop("seconds", None)
    assert a == b


def test_fairness_tier_raises_the_worst_served_nationality() -> None:
    # Two KE volunteers score a little lower; score alone places the three CN
    vols = [vol(f"C{i}", skills={"teaching": 5}) for i in range(3)] + [
        vol("K1", nationality="KE", skills={"teaching": 4}),
    ]
    pls = [plc("P1", slots=3, desired_skills={"teaching": 5})]
    by_score = placed(solve(doc(vols, pls)))
    assert "K1" not in by_score
    fair = solve(doc(vols, pls, objective=["fairness", "score"]))
    assert "K1" in placed(fair)
    assert fair.tiers["fairness"]["value"] > 0  # type: ignore[attr-defined]
