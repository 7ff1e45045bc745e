"""The reasons a result gives (`matching.explain`, and `matching.stable.reasons` for
stable mode): hand-made rounds with known reasons, and on random and generated rounds
every claim holds by the independent checker (`matching.claims`), which re-derives each
one from the round (rules pair by pair through `matching.validate`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import volmatch.matching.explain.no_pairs as explain_mod
from benchmarks.generate import generate_round
from tests.helpers import doc, plc, vol
from tests.strategies import MODULES, round_docs
from volmatch.matching.claims import check_claims
from volmatch.matching.explain import (
    explain_volunteer,
    is_pure_optimum,
    pair_failure_details,
    placements_without_pairs,
    pricing,
    volunteers_without_pairs,
)
from volmatch.matching.prepared import Prepared, Solution, prepare
from volmatch.matching.solve import solve_prepared, solve_round
from volmatch.matching.to_result import build_result
from volmatch.matching.validate import pair_violations, validate_result
from volmatch.models import Result, Round, parse_round
from volmatch.models.reasons import text_of

# --- hand-made rounds with known reasons ----------------------------------------------


def reasons_of(d: dict[str, Any]) -> tuple[Result, dict[str, list[str]], dict[str, list[str]]]:
    result = solve_round(parse_round(d))
    why_v = {u.volunteer: u.reasons for u in result.unmatched_volunteers}
    why_p = {o.placement: o.reasons for o in result.open_slots}
    return result, why_v, why_p


def test_a_volunteer_no_placement_accepts_is_told_the_rules_and_the_closest() -> None:
    _result, why_v, why_p = reasons_of(
        doc(
            [vol("V1", skills={"teaching": 3}), vol("V2", skills={"teaching": 5})],
            [
                plc("P1", required_skills={"teaching": 4}),
                plc("P2", required_skills={"teaching": 4}, security_level=2),
            ],
        )
    )
    skills = "has every required skill at the level asked"
    assert why_v["V1"] == [
        "no placement accepts this volunteer (of 2 placements)",
        f"every placement fails the rule 'skills' ({skills})",
        f"2 of 2 placements fail the rule 'skills' ({skills})",
        "1 of 2 placements fail the rule 'security' (has the security clearance asked)",
        "closest: P1 fails only skills: P1 requires skills teaching 4 (has 3)",
        "closest: P2 fails only skills, security: P2 requires skills teaching 4 (has 3); "
        "P2 needs security clearance 2, has 0",
    ]
    assert why_p["P2"] == [
        "no volunteer of the pool (2) is eligible",
        "2 of 2 volunteers fail the rule 'security' (has the security clearance asked)",
        f"1 of 2 volunteers fail the rule 'skills' ({skills})",
        "closest: V2 fails only security: P2 needs security clearance 2, has 0",
    ]


def test_an_eligible_volunteer_left_out_is_told_what_placing_them_costs() -> None:
    result, why_v, why_p = reasons_of(
        doc(
            [vol("V1", skills={"teaching": 5}), vol("V2", skills={"teaching": 3})],
            [plc("P1", desired_skills={"teaching": 5})],
        )
    )
    held = {a.volunteer: a.score for a in result.assignments}
    assert held == {"V1": 1100}
    assert why_v["V2"] == [
        "eligible for 1 placement(s), 1 of them full",
        "placing V2 anywhere lowers the round's best total by at least 120 points; the "
        "cheapest place is P1, where they would score 980: V1 leaves P1 (scored 1100) and "
        "goes unplaced",
    ]
    (u,) = result.unmatched_volunteers
    assert (u.cost, u.best_placement) == (120, "P1")
    assert why_p == {}


def test_an_open_slot_an_equally_good_round_fills_is_a_tie() -> None:
    result, _why_v, why_p = reasons_of(
        doc(
            [vol("V1", skills={"teaching": 5})],
            [plc("P1", desired_skills={"teaching": 5}), plc("P2", country="KE")],
        )
    )
    (a,) = result.assignments
    assert (a.volunteer, a.placement, a.score) == ("V1", "P1", 1100)
    assert why_p["P2"] == [
        "an equally good round fills one more slot: V1 moves from P1 (scores 1100) to P2 "
        "(scores 1100); between equally good rounds the solver's choice is arbitrary",
    ]
    (o,) = result.open_slots
    assert (o.cost, o.nearest) == (0, "V1")


def test_an_open_slot_with_too_few_eligible_volunteers_says_so() -> None:
    _result, _why_v, why_p = reasons_of(
        doc(
            [vol("V1", skills={"teaching": 5}), vol("V2", skills={"teaching": 3})],
            [
                plc("P1", desired_skills={"teaching": 5}),
                plc("P2", slots=2, required_skills={"teaching": 5}),
            ],
        )
    )
    assert why_p == {
        "P2": [
            "only 1 volunteer(s) are eligible for its 2 slot(s)",
            "nobody else can come: every volunteer eligible for it is placed here or locked",
        ]
    }


def test_missing_policy_training_is_the_one_reason() -> None:
    _result, why_v, why_p = reasons_of(doc([vol("V1", training=[])], [plc("P1")]))
    assert why_v["V1"] == ["has not completed the training every volunteer needs: 'pre-deployment'"]
    assert why_p["P1"][-1] == (
        "closest: V1 fails only training: has not completed training 'pre-deployment'"
    )


def test_a_group_no_placement_takes_whole_is_named_first() -> None:
    _result, why_v, why_p = reasons_of(
        doc(
            [vol("V1", group="g"), vol("V2", group="g", languages={"fr": "B2"})],
            [
                plc("P1", required_languages={"en": "B1"}),
                plc("P2", required_languages={"fr": "B1"}),
            ],
        )
    )
    assert why_v["V1"] == [
        "group 'g': no placement accepts all 2 members (V1, V2)",
        "eligible for 1 placement(s), 0 of them full",
        "under the hard rules alone, an equally good round places V1 at P1, where they score 1100",
        "policy rules in force: groups",
    ]
    assert why_p["P2"] == [
        "under the hard rules alone, the best round fills all 1 slot(s) here",
        "1 eligible volunteer(s) are unplaced, and the policy rules keep them out: placing "
        "one here would break a rule or not raise the proven-optimal total: V2",
    ]


def test_explanations_name_full_placements_and_missing_languages() -> None:
    result, why_v, why_p = reasons_of(
        doc(
            [
                vol("V1", languages={"fr": "C1"}),
                vol("V2", languages={"fr": "B2"}),
                vol("V3", languages={"fr": "A2"}),
            ],
            [
                plc("P1", required_languages={"fr": "B2"}, desired_languages={"fr": "C1"}),
                plc("P2", required_languages={"fr": "C2"}),
            ],
        )
    )
    assert [a.volunteer for a in result.assignments] == ["V1"]
    assert why_v["V2"][0] == "eligible for 1 placement(s), 1 of them full"
    assert "the cheapest place is P1" in why_v["V2"][1]
    assert "no placement accepts French below B2 (has A2)" in " ".join(why_v["V3"])
    assert "no volunteer speaks French at C2 or above (best in pool: C1)" in " ".join(why_p["P2"])


def test_a_volunteer_explained_alone_gets_every_placement() -> None:
    d = doc(
        [vol("V1", skills={"teaching": 3}), vol("V2", skills={"teaching": 5})],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", required_skills={"teaching": 4})],
    )
    prep = prepare(parse_round(d))
    sol = solve_prepared(prep)
    pr = pricing(prep, sol.chosen, is_pure_optimum(prep, sol.status, "optimal"))
    v1 = explain_volunteer(pr, sol.chosen, 0)
    assert v1[0] == {
        "placement": "P1",
        "eligible": True,
        "score": 980,
        "breakdown": {"placed": 500, "skills": 180, "languages": 200, "priority": 100},
        "regret": 0,
        "outcome": "assigned here",
        "reason": {"code": "pair_assigned", "params": {}},
    }
    assert v1[1]["eligible"] is False
    assert v1[1]["failed_rules"] == {"skills": "P2 requires skills teaching 4 (has 3)"}
    v2 = explain_volunteer(pr, sol.chosen, 1)
    # V2 at P1 instead of P2: V1 would have to leave P1 (980), V2 scores 1100 there too
    assert [(row["regret"], row["outcome"]) for row in v2] == [
        (
            980,
            "not chosen: giving this volunteer this placement lowers the round's best "
            "total by 980 points",
        ),
        (0, "assigned here"),
    ]


# --- every reason agrees with the validator ---------------------------------------------


def check_reasons(r: Round, result: Result) -> None:
    """Every reason of `result` is a true claim, by the independent checker, and its
    sentence is that of its structured part (the sentences made from pieces, for speed,
    say what `text_of` says)."""
    assert validate_result(r, result) == []
    assert check_claims(r, result) == []
    for record in [*result.unmatched_volunteers, *result.open_slots]:
        assert record.reasons == [text_of(d) for d in record.details]


def tweak(d: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Policy variations the explanations branch on: required training, stable mode and
    side, groups."""
    pol = d.setdefault("policy", {})
    pol["required_training"] = data.draw(st.lists(st.sampled_from(MODULES), unique=True))
    pol["mode"] = data.draw(st.sampled_from(["optimal", "stable"]))
    pol["stable_side"] = data.draw(st.sampled_from(["volunteers", "hosts"]))
    if data.draw(st.booleans()):
        for v in d["volunteers"]:
            if data.draw(st.integers(0, 3)) == 0:
                v["group"] = f"g{data.draw(st.integers(0, 1))}"
        pol["group_together"] = data.draw(st.sampled_from(["placement", "country"]))
    return d


@settings(max_examples=40)
@given(round_docs(max_volunteers=12, max_placements=7))
def test_failure_details_name_exactly_the_rules_the_validator_finds(d: dict[str, Any]) -> None:
    r = parse_round(d)
    c = prepare(r).compiled
    for vi, v in enumerate(c.volunteers):
        for pi, p in enumerate(c.placements):
            assert list(pair_failure_details(c, vi, pi)) == pair_violations(r, v, p)


@settings(max_examples=80)
@given(round_docs(max_volunteers=12, max_placements=7), st.data())
def test_every_reason_agrees_with_the_validator(d: dict[str, Any], data: st.DataObject) -> None:
    r = parse_round(tweak(d, data))
    check_reasons(r, solve_round(r))


def same_explanations(prep: Prepared, sol: Solution, mode: str) -> list[Any]:
    """The explanations of every volunteer and placement, as the result and alone."""
    c = prep.compiled
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    every_p = np.arange(c.n_placements, dtype=np.int64)
    result = build_result(prep, sol, mode)
    return [
        result.model_dump(mode="json", exclude={"stats"}),
        volunteers_without_pairs(c, everyone.tolist()),
        placements_without_pairs(c, every_p.tolist()),
    ]


@settings(max_examples=25)
@given(round_docs(max_volunteers=12, max_placements=7), st.data())
def test_explanations_do_not_depend_on_the_batch_size(
    d: dict[str, Any], data: st.DataObject
) -> None:
    r = parse_round(tweak(d, data))
    prep = prepare(r)
    sol = solve_prepared(prep)
    whole = same_explanations(prep, sol, r.policy.mode)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(explain_mod, "BATCH_CELLS", data.draw(st.integers(1, 40)))
        assert same_explanations(prep, sol, r.policy.mode) == whole


def generated(seed: int, rules: bool, variant: str) -> dict[str, Any]:
    d = generate_round(400, 80, seed=seed, rules=rules)
    pol = d.setdefault("policy", {})
    if variant == "forbidden":
        vids = [v["id"] for v in d["volunteers"]]
        pids = [p["id"] for p in d["placements"]]
        pol["forbidden"] = [
            {"volunteer": vids[i * 7 % len(vids)], "placement": pids[i * 3 % len(pids)]}
            for i in range(60)
        ]
    if variant == "training":
        mods = sorted({m for v in d["volunteers"] for m in v.get("training", [])})
        pol["required_training"] = mods[:2]
    if variant == "hosts":
        pol["stable_side"] = "hosts"
    return d


@pytest.mark.parametrize("mode", ["optimal", "stable"])
@pytest.mark.parametrize(
    ("seed", "rules", "variant"),
    [(0, False, ""), (1, False, "forbidden"), (2, False, "training"), (3, True, "hosts")],
)
def test_generated_rounds_explain_every_volunteer_and_slot_truthfully(
    seed: int, rules: bool, variant: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = generated(seed, rules, variant)
    d["policy"]["mode"] = mode
    d["policy"]["time_limit_s"] = 5
    r = parse_round(d)
    prep = prepare(r)
    sol = solve_prepared(prep)
    check_reasons(r, build_result(prep, sol, mode))
    whole = same_explanations(prep, sol, mode)
    monkeypatch.setattr(explain_mod, "BATCH_CELLS", 997)
    assert same_explanations(prep, sol, mode) == whole


def test_argpartition_of_a_batch_is_that_of_each_row() -> None:
    """The batched closest placements rely on `np.argpartition(..., axis=1)` picking, row
    by row, what it picks for the row alone (ties included), also past the small-array
    case."""
    rng = np.random.default_rng(0)
    for width in (5, 300, 3000):
        rows = rng.integers(1, 5, (40, width)).astype(np.int64)
        batch = np.argpartition(rows, 1, axis=1)[:, :2]
        for row, picked in zip(rows, batch, strict=True):
            assert np.array_equal(np.argpartition(row, 1)[:2], picked)
