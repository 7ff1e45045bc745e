"""Stable-mode reasons (`matching.stable.reasons`): they speak of ranks, not of the
round's total score."""

from __future__ import annotations

from typing import Any

from tests.matching.stable_rounds import doc, solve
from volmatch.matching import solve_round, validate_result
from volmatch.matching.stable import solve_stable, stable_reasons
from volmatch.models import parse_round
from volmatch.models.reasons import text_of


def test_stable_reasons_speak_of_ranks_not_of_the_total_score() -> None:
    d = doc(
        [
            {"id": "A", "preferences": ["P1", "P2"], "skills": {"ict": 2}},
            {"id": "B", "preferences": ["P1"]},
            {"id": "C", "training": []},
        ],
        [
            {"id": "P1", "ranking": ["A", "B"]},
            {"id": "P2", "slots": 2, "required_skills": {"ict": 1}},
        ],
    )
    _r, prep, match, _info = solve(d)
    assert match == {"A": "P1"}
    c = prep.compiled
    why_v, why_p = stable_reasons(prep, solve_stable(prep).chosen)
    # B: P1 is full with A, whom it ranks higher; C has no eligible placement (left to
    # the core's explanations)
    assert set(why_v) == {c.vindex["B"]}
    (part,) = why_v[c.vindex["B"]]
    assert part["code"] == "stable_full"
    reason = text_of(part)
    assert "P1 ranks this volunteer 2nd of 2" in reason
    assert "lowest-ranked holder is its 1st" in reason
    # P2 keeps both slots open: A holds P1, its first choice
    assert set(why_p) == {c.pindex["P2"]}
    assert "A holds P1 (their 1st choice; this is their 2nd)" in text_of(why_p[c.pindex["P2"]][0])


def reasons_of(d: dict[str, Any]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    result = solve_round(parse_round(d))
    assert validate_result(parse_round(d), result) == []
    return (
        {u.volunteer: u.reasons for u in result.unmatched_volunteers},
        {o.placement: o.reasons for o in result.open_slots},
    )


def test_a_couple_no_placement_keeps_together_is_told_so() -> None:
    why_v, why_p = reasons_of(
        doc(
            [{"id": "A", "group": "G1"}, {"id": "B", "group": "G1"}, {"id": "S"}],
            [{"id": "P1", "slots": 2, "ranking": ["S", "A", "B"]}, {"id": "P2", "slots": 1}],
        )
    )
    note = (
        "group G1 is placed together or not at all, and none of its 1 joint choice(s) kept "
        "every member among a placement's highest-ranked candidates"
    )
    # the stable-mode reason first, then what placing them costs under the hard rules
    assert {v: r[0] for v, r in why_v.items()} == {"A": note, "B": note}
    assert all("under the hard rules alone" in r[-1] for r in why_v.values())
    assert why_p["P2"][:1] == [
        "stable mode: its 3 other eligible volunteer(s) hold placements they rank higher or "
        f"cannot come without their group: A: {note}; B: {note}; "
        "S holds P1 (their 1st choice; this is their 2nd)"
    ]


def test_locked_slots_and_a_partner_locked_elsewhere_are_named() -> None:
    why_v, _why_p = reasons_of(
        doc(
            [{"id": "A", "group": "G1"}, {"id": "B", "group": "G1"}, {"id": "S"}],
            [{"id": "P1", "slots": 1}],
            locked=[{"volunteer": "A", "placement": "P1"}],
        )
    )
    locked_out = (
        "every placement this volunteer is eligible for (P1) has its slots held by locked "
        "volunteers"
    )
    assert why_v == {
        "B": [
            "a member of group G1 is locked elsewhere, so it cannot join them",
            "eligible for 1 placement(s), 1 of them full",
            locked_out,
        ],
        "S": [
            "stable mode: each of the 1 placement(s) this volunteer is eligible for is full "
            "with volunteers it ranks higher: P1: every slot is locked",
            "eligible for 1 placement(s), 1 of them full",
            locked_out,
        ],
    }
