"""A round written to a workbook reads back equal to itself: the fixture and demo
rounds, every policy setting, and (property) any valid round; and it solves like its
JSON."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.api.sheets.helpers import ROUND_JSON
from tests.strategies import round_docs
from volmatch.api.sheets import (
    POLICY,
    read_workbook_bytes,
    round_workbook,
    round_workbook_bytes,
)
from volmatch.matching import solve_round
from volmatch.matching.validate import validate_result
from volmatch.models import Policy, load_round, parse_round
from volmatch.scenarios.demo import demo_round_path


def test_round_trip_of_the_fixture_round_is_exact(fixture_round) -> None:  # type: ignore[no-untyped-def]
    assert read_workbook_bytes(round_workbook_bytes(fixture_round)) == fixture_round


def test_round_trip_of_the_demo_round_is_exact() -> None:
    r = load_round(demo_round_path())
    back = read_workbook_bytes(round_workbook_bytes(r, reference_sheets=False))
    assert back == r


def test_a_round_read_from_a_workbook_solves_like_its_json(fixture_round) -> None:  # type: ignore[no-untyped-def]
    from_sheet = read_workbook_bytes(round_workbook_bytes(fixture_round))
    a, b = solve_round(fixture_round), solve_round(from_sheet)
    assert a.assignments == b.assignments and a.objective == b.objective
    assert validate_result(from_sheet, b) == []


# Settings the policy-rules work adds; only those the Policy model has are tried, so the
# test follows the contract as it grows.
POLICY_RULES = {
    "group_together": "country",
    "max_same_nationality_per_placement": 2,
    "max_nationality_share_per_country": 0.4,
    "gender_balance": True,
    "min_fill": {"5": 1},
    "max_per_host": 3,
    "objective": ["urgent_coverage", "score"],
    "objective_tolerance": 0.05,
    "budget": {"total": 100000, "cost": {"KE": 9000, "SN": 8000}, "default_cost": 10000},
    "move_cost": 50,
    "max_moves": 2,
    "frozen_stages": ["visa", "travel_booked"],
    "rule_costs": False,
}


def test_every_policy_setting_survives_the_policy_sheet() -> None:
    d = load_round(ROUND_JSON).model_dump(mode="json")
    d["policy"].update({k: v for k, v in POLICY_RULES.items() if k in Policy.model_fields})
    r = parse_round(d)
    assert read_workbook_bytes(round_workbook_bytes(r, reference_sheets=False)) == r
    keys = [row[0] for row in round_workbook(r)[POLICY].iter_rows(min_row=2, values_only=True)]
    for name in Policy.model_fields:
        assert name in keys or any(k.startswith(f"{name}.") for k in keys), name


# Text a coordinator could type: any printable character, formula starters, separators of
# the cell syntax, tabs and line feeds inside; never blank (a blank cell is "not given").
# A carriage return comes back as a line feed (see test_writer.py).
_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), whitelist_characters='\t\n=+-@;:>[]{}"'
    ),
    min_size=1,
    max_size=20,
).filter(lambda s: s.strip() != "")


_SCALAR = st.one_of(
    _TEXT.map(str.strip),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(float),
)


_JSON = st.recursive(
    st.one_of(st.none(), _SCALAR),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


_KEY = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)


@st.composite
def rich_round_docs(draw: st.DrawFn) -> dict[str, Any]:
    d = draw(round_docs(max_volunteers=5, max_placements=4))
    for v in d["volunteers"]:
        if draw(st.booleans()):
            v["name"] = draw(_TEXT)
        if draw(st.booleans()):
            v["training"] = [*v["training"], draw(_TEXT.map(lambda s: s.strip()[:60] or "x"))]
    for p in d["placements"]:
        p["title"] = draw(st.one_of(st.just(""), _TEXT))
        choice = draw(st.integers(0, 2))
        if choice == 1:
            p["needs_assessment"] = draw(st.dictionaries(_KEY, _SCALAR, max_size=3))
        elif choice == 2:
            p["needs_assessment"] = draw(st.dictionaries(st.text(max_size=6), _JSON, max_size=3))
    policy = d["policy"]
    policy["mode"] = draw(st.sampled_from(["optimal", "stable"]))
    policy["required_training"] = draw(
        st.lists(st.sampled_from(["pre-deployment", "security", "a;b", "[x]"]), unique=True)
    )
    policy["time_limit_s"] = draw(st.floats(0.5, 100, allow_nan=False))
    policy["seed"] = draw(st.integers(0, 2**31 - 1))
    nv, npl = len(d["volunteers"]), len(d["placements"])
    if draw(st.booleans()):
        vi, pi = draw(st.integers(0, nv - 1)), draw(st.integers(0, npl - 1))
        pair = {"volunteer": f"V{vi:02d}", "placement": f"P{pi:02d}"}
        if pair not in policy.get("forbidden", []):
            policy["locked"] = [pair]
        d["previous"] = [
            {
                **pair,
                "score": draw(st.integers(0, 2000)),
                "start": "2027-03-01",
                "months": 6,
                "breakdown": {"placed": 500, "skills": draw(st.integers(0, 300))},
                "stage": draw(st.one_of(st.none(), _TEXT)),
            }
        ]
    return d


@settings(max_examples=25)
@given(rich_round_docs())
def test_any_round_survives_a_round_trip_through_a_workbook(d: dict[str, Any]) -> None:
    r = parse_round(d)
    assert read_workbook_bytes(round_workbook_bytes(r, reference_sheets=False)) == r
