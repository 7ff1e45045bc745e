"""Scenario files and changes: each kind of change with its exact effect."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import doc, plc, vol
from volmatch.matching import prepare
from volmatch.models import Round, parse_round, round_to_dict
from volmatch.scenarios.changes import VariantInvalid, apply_variant, check_scenario
from volmatch.scenarios.demo import demo_round_path
from volmatch.scenarios.incremental import prepare_variant
from volmatch.scenarios.model import ScenarioError, Variant, load_scenario, parse_scenario


def _round() -> Round:
    return parse_round(
        doc(
            [
                vol("V1", languages={"en": "B2", "fr": "A2"}, skills={"teaching": 4},
                    preferences=["P1", "P2"]),
                vol("V2", languages={"en": "B1"}, skills={"teaching": 2}, nationality="KE"),
                vol("V3", languages={"en": "C1", "fr": "C1"}, skills={"nursing": 3},
                    training=["pre-deployment", "security"]),
            ],
            [
                plc("P1", country="NP", host="H01", slots=3, required_languages={"en": "B1"}),
                plc("P2", country="MM", host="H02", required_skills={"teaching": 3}),
                plc("P3", country="KE", host="H01", priority=5, ranking=["V1", "V3"]),
            ],
            locked=[{"volunteer": "V1", "placement": "P2"}],
        )
    )


def _variant(*changes: dict[str, Any], name: str = "v") -> Variant:
    s = parse_scenario({"base": "x.json", "variants": [{"name": name, "changes": list(changes)}]})
    return s.variants[0]


def _apply(*changes: dict[str, Any]) -> Round:
    r = apply_variant(_round(), _variant(*changes), 0)
    # a variant is a valid round document: it reads back to itself
    assert parse_round(round_to_dict(r)) == r
    return r


def _vols(r: Round) -> dict[str, Any]:
    return {v.id: v for v in r.volunteers}


def _pls(r: Round) -> dict[str, Any]:
    return {p.id: p for p in r.placements}


def test_update_set_selects_by_field_and_never_mutates_the_base() -> None:
    base = _round()
    r = apply_variant(base, _variant({"update": "placements", "where": {"country": "NP"},
                                      "set": {"required_languages.en": "A2"}}), 0)
    assert _pls(r)["P1"].required_languages == {"en": "A2"}
    assert _pls(base)["P1"].required_languages == {"en": "B1"}
    # untouched records are the very same objects (what incremental preparation relies on)
    assert _pls(r)["P2"] is _pls(base)["P2"]


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
    assert _pls(r)["P1"].slots == 5  # 4.5 rounds up
    assert _pls(r)["P3"].slots == 2  # 1.5 rounds up
    assert _pls(r)["P1"].required_languages == {}
    assert _pls(r)["P2"].slots == 1


def test_sample_is_seeded_and_takes_exactly_that_many() -> None:
    ch = {"update": "volunteers", "sample": 2, "set": {"security_clearance": 2}}
    a = apply_variant(_round(), _variant(ch), 0)
    b = apply_variant(_round(), _variant(ch), 0)
    picked = [v.id for v in a.volunteers if v.security_clearance == 2]
    assert len(picked) == 2
    assert picked == [v.id for v in b.volunteers if v.security_clearance == 2]


def test_remove_drops_references_to_the_removed_records() -> None:
    base = parse_round({**round_to_dict(_round()),
                        "previous": [{"volunteer": "V1", "placement": "P2"}]})
    r = apply_variant(base, _variant({"remove": "placements", "where": {"country": "MM"}}), 0)
    assert set(_pls(r)) == {"P1", "P3"}
    assert _vols(r)["V1"].preferences == ("P1",)
    assert r.policy.locked == ()
    assert r.previous == ()
    r2 = _apply({"remove": "volunteers", "ids": ["V1"]})
    assert set(_vols(r2)) == {"V2", "V3"}
    assert _pls(r2)["P3"].ranking == ("V3",)


def test_add_records_and_duplicate_ids_name_the_variant_and_change() -> None:
    r = _apply({"add": "placements", "records": [plc("P9", country="TZ", slots=2)]})
    assert _pls(r)["P9"].slots == 2
    with pytest.raises(VariantInvalid) as exc:
        _apply({"policy": {"weights.priority": 300}},
               {"add": "volunteers", "records": [vol("V2")]})
    (err,) = exc.value.errors
    assert (err.variant, err.change) == ("v", 2)
    assert "V2" in err.message


def test_generate_volunteers_from_a_profile() -> None:
    ch = {"generate": "volunteers", "count": 12, "id_prefix": "FR",
          "like": {"training": "security"}, "set": {"skills.teaching": 5},
          "choose": {"languages.fr": ["B1", "C1"]}}
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
    assert r.volunteers == _round().volunteers


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"update": "placements", "where": {"country": "NP"}, "set": {"priority": 6}},
         "placements P1: priority"),
        ({"policy": {"weights.prio": 1}}, "policy.weights.prio"),
        ({"update": "placements", "where": {"country": "FR"}, "set": {"slots": 2}},
         "matches no placements"),
        ({"update": "volunteers", "ids": ["V9"], "set": {"min_months": 7}}, "V9"),
        ({"policy": {"locked": [{"volunteer": "V9", "placement": "P1"}]}}, "unknown volunteer"),
    ],
)
def test_invalid_changes_name_variant_change_and_record(
    change: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(VariantInvalid) as exc:
        apply_variant(_round(), _variant({"policy": {"seed": 3}}, change, name="bad"), 0)
    assert exc.value.errors
    for err in exc.value.errors:
        assert err.variant == "bad"
        assert err.change == 2
    assert fragment in str(exc.value)


def test_scenario_errors_are_collected_with_variant_and_change() -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario({
            "base": "x.json",
            "variants": [
                {"name": "a", "changes": [{"policy": {"seed": 1}}, {"frobnicate": 1}]},
                {"name": "b", "changes": [{"update": "volunteers", "set": {}}]},
                {"name": "a", "changes": []},
            ],
        })
    text = [str(e) for e in exc.value.errors]
    assert any(t.startswith("variant 'a' change 2: a change needs exactly one") for t in text)
    assert any(t.startswith("variant 'b' change 1:") for t in text)
    assert any("two variants share this name" in t for t in text)
    s = parse_scenario({"base": "x.json", "variants": [
        {"name": "c", "changes": [{"update": "volunteers", "where": {"colour": "red"},
                                   "set": {"min_months": 7}}]}]})
    with pytest.raises(ScenarioError, match="variant 'c' change 1: colour: volunteers have no"):
        check_scenario(s)


def test_sweeps_expand_to_named_variants() -> None:
    s = parse_scenario({
        "base": "x.json",
        "sweeps": [
            {"name": "w", "parameter": "policy.weights.priority",
             "range": {"start": 0, "stop": 980, "step": 20}},
            {"name": "en", "values": ["A1", "A2"], "changes": [
                {"update": "placements", "where": {"country": "NP"},
                 "set": {"required_languages.en": "$value"}}]},
        ],
    })
    assert len(s.variants) == 52
    assert s.variants[0].name == "w=0" and s.variants[49].name == "w=980"
    assert [v.name for v in s.variants[50:]] == ["en=A1", "en=A2"]
    r = apply_variant(_round(), s.variants[51], 0)
    assert _pls(r)["P1"].required_languages == {"en": "A2"}
    assert apply_variant(_round(), s.variants[7], 0).policy.weights.priority == 140
    with pytest.raises(ScenarioError, match="exactly one of values and range"):
        parse_scenario({"base": "x.json", "sweeps": [{"name": "z", "parameter": "policy.seed"}]})


def test_example_files_load_and_apply_to_the_demo_round() -> None:
    from pathlib import Path

    from volmatch.models import load_round

    base = load_round(demo_round_path())
    for path in sorted(Path(demo_round_path()).parents[1].glob("examples/*.yaml")):
        s = load_scenario(path)
        assert s.base_path() == demo_round_path()
        check_scenario(s)
        for v in s.variants:
            try:
                apply_variant(base, v, s.seed)
            except VariantInvalid:
                assert path.name == "infeasible.yaml"


# ------------------------------------------------------------------ incremental preparation


def _same_prepared(a: Any, b: Any) -> None:
    for f in ("v", "p", "start", "months"):
        assert np.array_equal(getattr(a.pairs, f), getattr(b.pairs, f)), f
    assert np.array_equal(a.scores.total, b.scores.total)
    for k, comp in a.scores.components.items():
        assert np.array_equal(comp, b.scores.components[k]), k


_DEMO_CHANGES: list[dict[str, Any]] = [
    {"policy": {"weights.priority": 400}},
    {"policy": {"international_only": False}},
    {"update": "placements", "where": {"country": "NP"}, "set": {"required_languages.en": "A2"}},
    {"remove": "placements", "where": {"country": "MM"}},
    {"remove": "volunteers", "where": {"nationality": "KH"}},
    {"generate": "volunteers", "count": 20, "choose": {"languages.fr": ["B1", "C1"]}},
    {"update": "volunteers", "where": {"skills.teaching": ">= 3"}, "set": {"max_months": 18}},
    {"update": "volunteers", "sample": 30, "set": {"security_clearance": 3}},
]


@pytest.fixture(scope="module")
def demo_prepared() -> Any:
    from volmatch.models import load_round

    return prepare(load_round(demo_round_path()))


@pytest.mark.parametrize("change", _DEMO_CHANGES, ids=lambda c: next(iter(c)))
def test_incremental_preparation_equals_a_fresh_one(
    demo_prepared: Any, change: dict[str, Any]
) -> None:
    r = apply_variant(demo_prepared.compiled.round, _variant(change), 0)
    reused, _ = prepare_variant(demo_prepared, r)
    _same_prepared(reused, prepare(r))


def test_weights_only_variants_are_only_rescored(demo_prepared: Any) -> None:
    r = apply_variant(demo_prepared.compiled.round, _variant(_DEMO_CHANGES[0]), 0)
    reused, how = prepare_variant(demo_prepared, r)
    assert how == "rescored"
    assert reused.pairs is demo_prepared.pairs


@given(
    picks=st.lists(st.integers(0, 299), min_size=1, max_size=25, unique=True),
    level=st.sampled_from(["A1", "B1", "B2", "C2"]),
    clearance=st.integers(0, 3),
    placements=st.lists(st.integers(0, 95), max_size=6, unique=True),
    slots=st.integers(1, 3),
)
def test_incremental_equals_fresh_for_random_edits(
    demo_prepared: Any, picks: list[int], level: str, clearance: int,
    placements: list[int], slots: int,
) -> None:
    base = demo_prepared.compiled.round
    vids = [base.volunteers[i].id for i in picks]
    changes: list[dict[str, Any]] = [{"update": "volunteers", "ids": vids,
                                      "set": {"languages.en": level,
                                              "security_clearance": clearance}}]
    if placements:
        changes.append({"update": "placements", "ids": [base.placements[i].id for i in placements],
                        "set": {"slots": slots, "required_languages.en": level}})
    r = apply_variant(base, _variant(*changes), 0)
    reused, how = prepare_variant(demo_prepared, r)
    assert how == "incremental"
    _same_prepared(reused, prepare(r))
