"""The reasons a result gives (`matching.explain`, and `matching.stable.reasons` for
stable mode): hand-made rounds with known reasons, and on random and generated rounds
every reason agrees with the independent validator (`matching.validate`), which checks
each rule pair by pair without the solver's arrays."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import volmatch.matching.explain as explain_mod
from benchmarks.generate import generate_round
from tests.helpers import doc, plc, vol
from tests.strategies import MODULES, round_docs
from volmatch.matching.explain import (
    explain_open,
    explain_unmatched,
    explain_volunteer,
    pair_failure_details,
    placements_without_pairs,
    volunteers_without_pairs,
)
from volmatch.matching.prepared import Prepared, Solution, prepare
from volmatch.matching.solve import solve_prepared, solve_round
from volmatch.matching.to_result import build_result
from volmatch.matching.validate import pair_violations, validate_result
from volmatch.models import Result, Round, parse_round

TRADE_OFF = (
    "placing this volunteer would lower the round's total score: the slots they fit are "
    "worth more to the round with the candidates who hold them"
)

# --- hand-made rounds with known reasons ----------------------------------------------


def reasons_of(d: dict[str, Any]) -> tuple[Result, dict[str, list[str]], dict[str, list[str]]]:
    result = solve_round(parse_round(d))
    why_v = {u.volunteer: u.reasons for u in result.unmatched_volunteers}
    why_p = {o.placement: o.reasons for o in result.open_slots}
    return result, why_v, why_p


def test_a_volunteer_no_placement_accepts_is_told_the_rules_and_the_closest() -> None:
    _result, why_v, why_p = reasons_of(doc(
        [vol("V1", skills={"teaching": 3}), vol("V2", skills={"teaching": 5})],
        [plc("P1", required_skills={"teaching": 4}),
         plc("P2", required_skills={"teaching": 4}, security_level=2)],
    ))
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


def test_an_eligible_volunteer_left_out_is_told_who_holds_the_slot() -> None:
    result, why_v, why_p = reasons_of(doc(
        [vol("V1", skills={"teaching": 5}), vol("V2", skills={"teaching": 3})],
        [plc("P1", desired_skills={"teaching": 5})],
    ))
    held = {a.volunteer: a.score for a in result.assignments}
    assert list(held) == ["V1"]
    assert why_v["V2"] == [
        f"eligible for 1 placement(s): P1 (would score 980; full, its 1 slot(s) went to "
        f"candidates scoring {held['V1']})",
        TRADE_OFF,
    ]
    assert why_p == {}


def test_an_open_slot_names_the_eligible_volunteers_placed_where_they_score_more() -> None:
    result, _why_v, why_p = reasons_of(doc(
        [vol("V1", skills={"teaching": 5})],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", country="KE")],
    ))
    (a,) = result.assignments
    assert (a.volunteer, a.placement) == ("V1", "P1")
    assert why_p["P2"] == [
        "1 eligible volunteer(s) are placed where they score more for the round: "
        f"V1 at P1 (scores {a.score} there, 1100 here)",
    ]


def test_an_open_slot_with_too_few_eligible_volunteers_says_so() -> None:
    _result, _why_v, why_p = reasons_of(doc(
        [vol("V1", skills={"teaching": 5}), vol("V2", skills={"teaching": 3})],
        [plc("P1", desired_skills={"teaching": 5}),
         plc("P2", slots=2, required_skills={"teaching": 5})],
    ))
    assert why_p == {"P2": ["only 1 volunteer(s) are eligible for its 2 slot(s)"]}


def test_missing_policy_training_is_the_one_reason() -> None:
    _result, why_v, why_p = reasons_of(doc([vol("V1", training=[])], [plc("P1")]))
    assert why_v["V1"] == [
        "has not completed the training every volunteer needs: 'pre-deployment'"
    ]
    assert why_p["P1"][-1] == (
        "closest: V1 fails only training: has not completed training 'pre-deployment'"
    )


def test_a_group_no_placement_takes_whole_is_named_first() -> None:
    _result, why_v, why_p = reasons_of(doc(
        [vol("V1", group="g"), vol("V2", group="g", languages={"fr": "B2"})],
        [plc("P1", required_languages={"en": "B1"}),
         plc("P2", required_languages={"fr": "B1"})],
    ))
    assert why_v["V1"] == [
        "group 'g': no placement accepts all 2 members (V1, V2)",
        "eligible for 1 placement(s): P1 (would score 1100; 1 slot(s) open, kept open by a "
        "policy rule)",
        TRADE_OFF,
    ]
    assert why_p["P2"] == [
        "1 eligible volunteer(s) stay unplaced because a policy rule keeps them out: V2"
    ]


def test_explanations_name_full_placements_and_missing_languages() -> None:
    result, why_v, why_p = reasons_of(doc(
        [
            vol("V1", languages={"fr": "C1"}),
            vol("V2", languages={"fr": "B2"}),
            vol("V3", languages={"fr": "A2"}),
        ],
        [
            plc("P1", required_languages={"fr": "B2"}, desired_languages={"fr": "C1"}),
            plc("P2", required_languages={"fr": "C2"}),
        ],
    ))
    assert [a.volunteer for a in result.assignments] == ["V1"]
    assert "P1" in why_v["V2"][0] and "full" in why_v["V2"][0]
    assert "no placement accepts French below B2 (has A2)" in " ".join(why_v["V3"])
    assert "no volunteer speaks French at C2 or above (best in pool: C1)" in " ".join(
        why_p["P2"]
    )


def test_a_volunteer_explained_alone_gets_every_placement() -> None:
    d = doc(
        [vol("V1", skills={"teaching": 3}), vol("V2", skills={"teaching": 5})],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", required_skills={"teaching": 4})],
    )
    prep = prepare(parse_round(d))
    sol = solve_prepared(prep)
    args = (prep.compiled, prep.pairs, prep.scores, sol.chosen)
    assert explain_volunteer(*args, 0) == [
        {"placement": "P1", "eligible": True, "score": 980,
         "breakdown": {"placed": 500, "skills": 180, "languages": 200, "priority": 100},
         "outcome": "assigned here"},
        {"placement": "P2", "eligible": False,
         "failed_rules": {"skills": "P2 requires skills teaching 4 (has 3)"}},
    ]
    assert [row["outcome"] for row in explain_volunteer(*args, 1)] == [
        "not chosen: assigned to P2 (score 1100), which gives the round a higher total",
        "assigned here",
    ]


# --- every reason agrees with the validator ---------------------------------------------


def eligible_for(r: Round) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per volunteer the placements it is eligible for, per placement its eligible
    volunteers, by the validator's rule-by-rule check."""
    by_v: dict[str, set[str]] = {v.id: set() for v in r.volunteers}
    by_p: dict[str, set[str]] = {p.id: set() for p in r.placements}
    for v in r.volunteers:
        for p in r.placements:
            if not pair_violations(r, v, p):
                by_v[v.id].add(p.id)
                by_p[p.id].add(v.id)
    return by_v, by_p


def check_closest(r: Round, line: str, mine: str, kind: str) -> None:
    """A "closest: X fails only a, b: ..." line names exactly the rules the pair breaks."""
    m = re.match(r"closest: (\S+) fails only (.*?): ", line)
    assert m, line
    other, rules = m.group(1), m.group(2).split(", ")
    vid, pid = (mine, other) if kind == "volunteer" else (other, mine)
    v = next(x for x in r.volunteers if x.id == vid)
    p = next(x for x in r.placements if x.id == pid)
    assert rules == pair_violations(r, v, p), line


def check_volunteer_reasons(
    r: Round, result: Result, vid: str, reasons: list[str], eligible: set[str]
) -> None:
    load = {p.id: 0 for p in r.placements}
    for a in result.assignments:
        load[a.placement] += 1
    slots = {p.id: p.slots for p in r.placements}
    v = next(x for x in r.volunteers if x.id == vid)
    # the rules solver's own reasons (a group no placement takes whole) come first
    reasons = [x for x in reasons if not x.startswith("group '")]
    if not eligible:
        missing = [m for m in r.policy.required_training if m not in v.training]
        if not r.placements:
            assert reasons == ["the round has no placements"]
        elif missing:
            assert reasons == [
                "has not completed the training every volunteer needs: "
                + ", ".join(repr(m) for m in missing)
            ]
        else:
            assert reasons[0] == f"no placement accepts this volunteer (of {len(slots)} placements)"
            closest = [x for x in reasons if x.startswith("closest: ")]
            assert closest
            for line in closest:
                check_closest(r, line, vid, "volunteer")
        return
    for line in reasons:
        if line.startswith("stable mode: each of the "):
            n = int(re.match(r"stable mode: each of the (\d+) placement", line).group(1))  # type: ignore[union-attr]
            assert n == len(eligible), line
        if line.startswith("eligible for "):
            n = int(re.match(r"eligible for (\d+) placement", line).group(1))  # type: ignore[union-attr]
            assert n == len(eligible), line
            for pid in re.findall(r"(\S+) \(would score", line):
                assert pid in eligible, line
            for pid, k in re.findall(r"(\S+) \(would score -?\d+; full, its (\d+) slot", line):
                assert load[pid] == slots[pid] == int(k), line
            for pid, n_open in re.findall(r"(\S+) \(would score -?\d+; (\d+) slot\(s\) open", line):
                assert slots[pid] - load[pid] == int(n_open) > 0, line
    assert reasons[0].startswith((
        "stable mode: ", "eligible for ", "group ", "a member of group ", "no placement takes ",
        "no country takes ",
    )), reasons


def check_slot_reasons(
    r: Round, result: Result, pid: str, reasons: list[str], eligible: set[str]
) -> None:
    at = {a.volunteer: a.placement for a in result.assignments}
    p = next(x for x in r.placements if x.id == pid)
    if not eligible:
        if not r.volunteers:
            assert reasons == ["the pool has no volunteers"]
            return
        assert reasons[0] == f"no volunteer of the pool ({len(r.volunteers)}) is eligible"
        closest = [x for x in reasons if x.startswith("closest: ")]
        assert len(closest) == 1
        check_closest(r, closest[0], pid, "placement")
        return
    elsewhere = {v for v in eligible if v in at and at[v] != pid}
    unplaced = {v for v in eligible if v not in at}
    for line in reasons:
        m = re.match(r"only (\d+) volunteer\(s\) are eligible for its (\d+) slot", line)
        if m:
            assert (int(m.group(1)), int(m.group(2))) == (len(eligible), p.slots), line
        m = re.match(r"(\d+) eligible volunteer\(s\) are placed where they score more", line)
        if m:
            assert int(m.group(1)) == len(elsewhere), line
            for who, where in re.findall(r"(\S+) at (\S+) \(scores", line):
                assert at[who] == where != pid, line
        m = re.match(r"(\d+) eligible volunteer\(s\) stay unplaced", line)
        if m:
            assert int(m.group(1)) == len(unplaced), line
        m = re.match(r"stable mode: its (\d+) other eligible volunteer", line)
        if m:
            assert int(m.group(1)) == len(eligible - {v for v, q in at.items() if q == pid})
    if len(eligible) < p.slots:
        assert any(x.startswith("only ") or x.startswith("stable mode: ") for x in reasons)


def check_reasons(r: Round, result: Result) -> None:
    """Every reason of `result` against the validator."""
    assert validate_result(r, result) == []
    by_v, by_p = eligible_for(r)
    for u in result.unmatched_volunteers:
        check_volunteer_reasons(r, result, u.volunteer, u.reasons, by_v[u.volunteer])
    for o in result.open_slots:
        check_slot_reasons(r, result, o.placement, o.reasons, by_p[o.placement])


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
    c, pairs, scores, chosen = prep.compiled, prep.pairs, prep.scores, sol.chosen
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    every_p = np.arange(c.n_placements, dtype=np.int64)
    result = build_result(prep, sol, mode)
    return [
        result.model_dump(mode="json", exclude={"stats"}),
        explain_unmatched(c, pairs, scores, chosen, everyone),
        explain_open(c, pairs, scores, chosen, every_p),
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
