"""Each hard rule of the contract: a pair that passes it, one that fails it, and the
reason the explanation gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.helpers import doc, plc, vol
from volmatch.matching import compile_round, find_pairs, solve_round
from volmatch.matching.dates import add_months, months_fitting, to_days
from volmatch.matching.failures import pair_failure_details
from volmatch.models import parse_round


def eligible(d: dict[str, Any]) -> bool:
    return len(find_pairs(compile_round(parse_round(d)))) == 1


def failure(d: dict[str, Any]) -> dict[str, str]:
    c = compile_round(parse_round(d))
    return pair_failure_details(c, 0, 0)


CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
    # rule, passing (vol, plc), failing (vol, plc), words in the reason
    (
        "skills",
        {"skills": {"teaching": 3}},
        {"required_skills": {"teaching": 3}},
        {"skills": {"teaching": 2}},
        {"required_skills": {"teaching": 3}},
        "teaching 3 (has 2)",
    ),
    (
        "languages",
        {"languages": {"fr": "B2"}},
        {"required_languages": {"fr": "B2"}},
        {"languages": {"fr": "B1"}},
        {"required_languages": {"fr": "B2"}},
        "French B2 (has B1)",
    ),
    (
        "training",
        {"training": ["pre-deployment", "security"]},
        {"required_training": ["security"]},
        {"training": ["pre-deployment"]},
        {"required_training": ["security"]},
        "'security'",
    ),
    (
        "length",
        {"min_months": 6, "max_months": 9},
        {"min_months": 9, "max_months": 12},
        {"min_months": 6, "max_months": 8},
        {"min_months": 9, "max_months": 12},
        "serves 6-8 months",
    ),
    (
        "dates",
        {"available_until": "2027-10-01"},
        {"min_months": 6},
        {"available_until": "2027-09-30"},
        {"min_months": 6},
        "available 2027-03-01..2027-09-30",
    ),
    (
        "country",
        {"nationality": "CN"},
        {"country": "NP"},
        {"nationality": "NP"},
        {"country": "NP"},
        "own country (Nepal)",
    ),
    (
        "security",
        {"security_clearance": 2},
        {"security_level": 2},
        {"security_clearance": 1},
        {"security_level": 2},
        "clearance 2, has 1",
    ),
    (
        "age",
        {"birth_date": "1999-04-01"},
        {"age_max": 28},
        {"birth_date": "1999-03-31"},
        {"age_max": 27},
        "ages 0-27; they are 28",
    ),
]


@pytest.mark.parametrize(
    ("rule", "pv", "pp", "fv", "fp", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_rule_passes_and_fails_with_a_reason(
    rule: str,
    pv: dict[str, Any],
    pp: dict[str, Any],
    fv: dict[str, Any],
    fp: dict[str, Any],
    words: str,
) -> None:
    assert eligible(doc([vol(**pv)], [plc(**pp)]))
    bad = doc([vol(**fv)], [plc(**fp)])
    assert not eligible(bad)
    reasons = failure(bad)
    assert list(reasons) == [rule]
    assert words in reasons[rule]


def test_excluded_country_fails() -> None:
    d = doc([vol(excluded_countries=["NP"])], [plc(country="NP")])
    assert not eligible(d)
    assert "which they excluded" in failure(d)["country"]


def test_own_country_allowed_when_not_international_only() -> None:
    d = doc([vol(nationality="NP")], [plc(country="NP")], international_only=False)
    assert eligible(d)


def test_policy_training_is_required() -> None:
    d = doc([vol(training=[])], [plc()])
    assert not eligible(d)
    result = solve_round(parse_round(d))
    assert "'pre-deployment'" in result.unmatched_volunteers[0].reasons[0]


def test_age_needs_a_birth_date() -> None:
    d = doc([vol()], [plc(age_min=18)])
    assert not eligible(d)
    assert "no birth date" in failure(d)["age"]


def test_forbidden_pair_fails() -> None:
    d = doc([vol()], [plc()], forbidden=[{"volunteer": "V1", "placement": "P1"}])
    assert not eligible(d)
    assert list(failure(d)) == ["forbidden"]


def test_start_is_latest_of_both_and_months_the_longest_that_fit() -> None:
    d = doc(
        [vol(available_from="2027-04-15", available_until="2028-01-31", max_months=12)],
        [plc(start_earliest="2027-04-01", start_latest="2027-05-01", max_months=12)],
    )
    a = solve_round(parse_round(d)).assignments[0]
    assert str(a.start) == "2027-04-15" and a.months == 9  # 15 Jan + ... 15 Jan 2028 fits


def test_start_after_latest_start_fails() -> None:
    d = doc([vol(available_from="2027-05-02")], [plc(start_latest="2027-05-01")])
    assert list(failure(d)) == ["dates"]


def test_calendar_months_clamp_to_month_end() -> None:
    jan31 = np.array([to_days(__import__("datetime").date(2027, 1, 31))])
    feb28 = to_days(__import__("datetime").date(2027, 2, 28))
    assert int(add_months(jan31, np.array([1]))[0]) == feb28
    assert int(months_fitting(jan31, np.array([feb28]))[0]) == 1
    assert int(months_fitting(jan31, np.array([feb28 - 1]))[0]) == 0


def test_explanations_name_full_placements_and_missing_languages() -> None:
    d = doc(
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
    result = solve_round(parse_round(d))
    assert [a.volunteer for a in result.assignments] == ["V1"]
    why = {u.volunteer: " ".join(u.reasons) for u in result.unmatched_volunteers}
    assert "P1" in why["V2"] and "full" in why["V2"]
    assert "no placement accepts French below B2 (has A2)" in why["V3"]
    slot = {o.placement: " ".join(o.reasons) for o in result.open_slots}
    assert "no volunteer speaks French at C2 or above (best in pool: C1)" in slot["P2"]
