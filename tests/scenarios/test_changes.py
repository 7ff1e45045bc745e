"""Changes of a variant: each kind of change with its exact effect, and invalid changes
named by variant, change and record."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import plc, vol
from tests.scenarios.helpers import make_variant, placements_by_id, sample_round
from volmatch.models import Round, parse_round, round_to_dict
from volmatch.scenarios.changes import VariantInvalid, apply_variant


def _apply(*changes: dict[str, Any]) -> Round:
    r = apply_variant(sample_round(), make_variant(*changes), 0)
    # a variant is a valid round document: it reads back to itself
    assert parse_round(round_to_dict(r)) == r
    return r


def _vols(r: Round) -> dict[str, Any]:
    return {v.id: v for v in r.volunteers}


def test_update_set_selects_by_field_and_never_mutates_the_base() -> None:
    base = sample_round()
    r = apply_variant(
        base,
        make_variant(
            {
                "update": "placements",
                "where": {"country": "NP"},
                "set": {"required_languages.en": "A2"},
            }
        ),
        0,
    )
    assert placements_by_id(r)["P1"].required_languages == {"en": "A2"}
    assert placements_by_id(base)["P1"].required_languages == {"en": "B1"}
    # untouched records are the very same objects (what incremental preparation relies on)
    assert placements_by_id(r)["P2"] is placements_by_id(base)["P2"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"skills.teaching": ">= 3"}, {"V1"}),
        ({"skills.teaching": "< 3"}, {"V2", "V3"}),  # no skill counts as level 0
        ({"languages.fr": ">= B2"}, {"V3"}),
        ({"languages.fr": "< b2"}, {"V1", "V2"}),  # CEFR in any case
        ({"nationality": "!= CN"}, {"V2"}),
        ({"nationality": ["KE", "CN"]}, {"V1", "V2", "V3"}),
        ({"training": "security"}, {"V3"}),  # a list field "contains"
        ({"available_from": ">= 2027-03-01", "skills.nursing": 3}, {"V3"}),
    ],
)
def test_where_conditions(where: dict[str, Any], expected: set[str]) -> None:
    r = _apply({"update": "volunteers", "where": where, "set": {"security_clearance": 3}})
    assert {v.id for v in r.volunteers if v.security_clearance == 3} == expected


def test_scale_rounds_half_up_and_unset_drops_a_map_entry() -> None:
    r = _apply(
        {"update": "placements", "where": {"host": "H01"}, "scale": {"slots": 1.5}},
        {"update": "placements", "ids": ["P1"], "unset": ["required_languages.en"]},
    )
    assert placements_by_id(r)["P1"].slots == 5  # 4.5 rounds up
    assert placements_by_id(r)["P3"].slots == 2  # 1.5 rounds up
    assert placements_by_id(r)["P1"].required_languages == {}
    assert placements_by_id(r)["P2"].slots == 1


def test_sample_is_seeded_and_takes_exactly_that_many() -> None:
    ch = {"update": "volunteers", "sample": 2, "set": {"security_clearance": 2}}
    a = apply_variant(sample_round(), make_variant(ch), 0)
    b = apply_variant(sample_round(), make_variant(ch), 0)
    picked = [v.id for v in a.volunteers if v.security_clearance == 2]
    assert len(picked) == 2
    assert picked == [v.id for v in b.volunteers if v.security_clearance == 2]


def test_remove_drops_references_to_the_removed_records() -> None:
    base = parse_round(
        {**round_to_dict(sample_round()), "previous": [{"volunteer": "V1", "placement": "P2"}]}
    )
    r = apply_variant(base, make_variant({"remove": "placements", "where": {"country": "MM"}}), 0)
    assert set(placements_by_id(r)) == {"P1", "P3"}
    assert _vols(r)["V1"].preferences == ("P1",)
    assert r.policy.locked == ()
    assert r.previous == ()
    r2 = _apply({"remove": "volunteers", "ids": ["V1"]})
    assert set(_vols(r2)) == {"V2", "V3"}
    assert placements_by_id(r2)["P3"].ranking == ("V3",)


def test_add_records_and_duplicate_ids_name_the_variant_and_change() -> None:
    r = _apply({"add": "placements", "records": [plc("P9", country="TZ", slots=2)]})
    assert placements_by_id(r)["P9"].slots == 2
    with pytest.raises(VariantInvalid) as exc:
        _apply({"policy": {"weights.priority": 300}}, {"add": "volunteers", "records": [vol("V2")]})
    (err,) = exc.value.errors
    assert (err.variant, err.change) == ("v", 2)
    assert "V2" in err.message


def test_generate_volunteers_from_a_profile() -> None:
    ch = {
        "generate": "volunteers",
        "count": 12,
        "id_prefix": "FR",
        "like": {"training": "security"},
        "set": {"skills.teaching": 5},
        "choose": {"languages.fr": ["B1", "C1"]},
    }
    r = _apply(ch)
    new = [v for v in r.volunteers if v.id.startswith("FR")]
    assert [v.id for v in new] == [f"FR{i:03d}" for i in range(1, 13)]
    assert all(v.languages["fr"] in ("B1", "C1") for v in new)
    assert {v.languages["fr"] for v in new} == {"B1", "C1"}  # 12 draws hit both
    assert all(v.skills["teaching"] == 5 and "security" in v.training for v in new)
    assert all(v.name is None and v.preferences == () for v in new)
    assert r == _apply(ch)  # seeded


def test_policy_fields_by_path() -> None:
    r = _apply({"policy": {"weights.priority": 400, "international_only": False}})
    assert r.policy.weights.priority == 400
    assert r.policy.weights.skills == 300
    assert r.policy.international_only is False
    assert r.volunteers == sample_round().volunteers


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"update": "placements", "where": {"country": "NP"}, "set": {"priority": 6}},
            "placements P1: priority",
        ),
        ({"policy": {"weights.prio": 1}}, "policy.weights.prio"),
        (
            {"update": "placements", "where": {"country": "FR"}, "set": {"slots": 2}},
            "matches no placements",
        ),
        ({"update": "volunteers", "ids": ["V9"], "set": {"min_months": 7}}, "V9"),
        ({"policy": {"locked": [{"volunteer": "V9", "placement": "P1"}]}}, "unknown volunteer"),
    ],
)
def test_invalid_changes_name_variant_change_and_record(
    change: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(VariantInvalid) as exc:
        apply_variant(sample_round(), make_variant({"policy": {"seed": 3}}, change, name="bad"), 0)
    assert exc.value.errors
    for err in exc.value.errors:
        assert err.variant == "bad"
        assert err.change == 2
    assert fragment in str(exc.value)
