"""The loader's exact error list for a document with many kinds of errors at once, and
the equality of what it builds with records validated one by one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from benchmarks.generate import generate_round
from tests.helpers import doc, plc, vol
from volmatch.models import (
    ErrorItem,
    InvalidRound,
    Placement,
    Policy,
    PreviousAssignment,
    Round,
    Volunteer,
    load_round,
    parse_round,
    parse_text,
)

ID_MSG = "is not a valid id: use 1-64 of letters, digits, '_', '.', '-'"
SLUG_MSG = "is not a code: use lower-case letters, digits, '_' and '-'"
SDG_MSG = "is not one of the 169 SDG targets (like '17.6' or '1.a')"
CEFR_MSG = "Input should be 'A1', 'A2', 'B1', 'B2', 'C1', 'C2' or 'native'"


def _many_errors() -> dict[str, Any]:
    d = doc(
        [
            vol("V1", nationality="cn", preferences=["P1", "P9", "P1"]),
            vol("bad id!", languages={"EN": "B2", "fr": "B7"}),
            vol("V3", skills={"Teaching!": 3, "nursing": 6}, shoe_size=42, group="g 1"),
            vol("V1", excluded_countries=["np", "XX"], available_until="2020-01-01"),
            vol("V5", languages={"en": "b2", "zh": " Native "}, skills={"teaching": 3}),
        ],
        [
            plc("P1", sdg_targets=["17.6", "18.1", "1.A"], ranking=["V1", "V7", "bad id!"]),
            plc("P2", required_skills={"Data Analysis": 2}, desired_languages={"Fr": "c1"}),
            plc("P2", start="2027-04-01", required_languages={"en": "native", "xx": "A1"}),
            plc("p 3", min_months=12, max_months=6, age_min=30, age_max=20),
        ],
        locked=[{"volunteer": "V9", "placement": "P1"}],
        forbidden=[{"volunteer": "V1", "placement": "P8"}],
    )
    d["placements"][0]["country"] = "ZZ"
    d["placements"][1]["host"] = "h 1"
    d["previous"] = [{"volunteer": "V5", "placement": "P4"}, {"volunteer": "V5", "placement": "P1"}]
    return d


EXPECTED = [
    ErrorItem(
        "volunteers",
        "V1",
        "nationality",
        "'cn' is not an ISO 3166-1 alpha-2 country code (codes are upper case)",
    ),
    ErrorItem("volunteers", "bad id!", "id", f"'bad id!' {ID_MSG}"),
    ErrorItem(
        "volunteers",
        "bad id!",
        "languages.EN",
        "bad key: 'EN' is not an ISO 639-1 language code (codes are lower case)",
    ),
    ErrorItem("volunteers", "bad id!", "languages.fr", CEFR_MSG),
    ErrorItem("volunteers", "V3", "skills.Teaching!", f"bad key: 'Teaching!' {SLUG_MSG}"),
    ErrorItem("volunteers", "V3", "skills.nursing", "Input should be less than or equal to 5"),
    ErrorItem("volunteers", "V3", "group", f"'g 1' {ID_MSG}"),
    ErrorItem(
        "volunteers", "V3", "shoe_size", "unknown field (a typo? unknown keys are not allowed)"
    ),
    ErrorItem(
        "volunteers",
        "V1",
        "available_until",
        "available_until 2020-01-01 is before available_from 2027-03-01",
    ),
    ErrorItem(
        "volunteers",
        "V1",
        "excluded_countries[0]",
        "'np' is not an ISO 3166-1 alpha-2 country code (codes are upper case)",
    ),
    ErrorItem(
        "volunteers",
        "V1",
        "excluded_countries[1]",
        "'XX' is not an ISO 3166-1 alpha-2 country code",
    ),
    ErrorItem("placements", "P1", "country", "'ZZ' is not an ISO 3166-1 alpha-2 country code"),
    ErrorItem("placements", "P1", "sdg_targets[1]", f"'18.1' {SDG_MSG}"),
    ErrorItem("placements", "P1", "sdg_targets[2]", f"'1.A' {SDG_MSG}"),
    ErrorItem("placements", "P1", "ranking[2]", f"'bad id!' {ID_MSG}"),
    ErrorItem("placements", "P2", "host", f"'h 1' {ID_MSG}"),
    ErrorItem(
        "placements", "P2", "required_skills.Data Analysis", f"bad key: 'Data Analysis' {SLUG_MSG}"
    ),
    ErrorItem(
        "placements",
        "P2",
        "desired_languages.Fr",
        "bad key: 'Fr' is not an ISO 639-1 language code (codes are lower case)",
    ),
    ErrorItem(
        "placements", "P2", "start", "give either start or start_earliest/start_latest, not both"
    ),
    ErrorItem("placements", "p 3", "id", f"'p 3' {ID_MSG}"),
    ErrorItem("placements", "p 3", "max_months", "max_months 6 is less than min_months 12"),
    ErrorItem("placements", "p 3", "age_max", "age_max 20 is less than age_min 30"),
    ErrorItem("volunteers", "V1", "id", "duplicate id: 2 volunteers share it"),
    ErrorItem("placements", "P2", "id", "duplicate id: 2 placements share it"),
    ErrorItem("volunteers", "V1", "preferences[1]", "unknown placement id 'P9'"),
    ErrorItem("volunteers", "V1", "preferences[2]", "'P1' is listed twice"),
    ErrorItem("placements", "P1", "ranking[1]", "unknown volunteer id 'V7'"),
    ErrorItem("policy", "policy", "locked[0].volunteer", "unknown volunteer id 'V9'"),
    ErrorItem("policy", "policy", "forbidden[0].placement", "unknown placement id 'P8'"),
    ErrorItem("previous", "previous[0]", "placement", "unknown placement id 'P4'"),
    ErrorItem("previous", "previous[1]", "volunteer", "volunteer 'V5' appears twice"),
]


def test_every_kind_of_error_is_reported_exactly() -> None:
    with pytest.raises(InvalidRound) as exc:
        parse_round(_many_errors())
    assert exc.value.errors == EXPECTED


def test_a_file_with_every_kind_of_error_is_reported_exactly(tmp_path: Path) -> None:
    path = tmp_path / "round.json"
    path.write_text(json.dumps(_many_errors()), encoding="utf-8")
    with pytest.raises(InvalidRound) as exc:
        load_round(path)
    assert exc.value.errors == EXPECTED


def test_one_bad_record_in_a_large_round_is_reported_alone() -> None:
    d = generate_round(300, 60, seed=3)
    d["volunteers"][123]["nationality"] = "cn"
    d["placements"][7]["sdg_targets"] = ["17.6", "18.1"]
    vid, pid = d["volunteers"][123]["id"], d["placements"][7]["id"]
    with pytest.raises(InvalidRound) as exc:
        parse_round(d)
    assert exc.value.errors == [
        ErrorItem(
            "volunteers",
            vid,
            "nationality",
            "'cn' is not an ISO 3166-1 alpha-2 country code (codes are upper case)",
        ),
        ErrorItem("placements", pid, "sdg_targets[1]", f"'18.1' {SDG_MSG}"),
    ]


def test_invalid_json_names_the_position() -> None:
    with pytest.raises(InvalidRound) as exc:
        parse_text('{"volunteers": [}', fmt="json", source="r.json")
    assert exc.value.errors == [
        ErrorItem(
            "round",
            "r.json",
            "",
            "not valid JSON/YAML: Expecting value: line 1 column 17 (char 16)",
        )
    ]


def test_nan_and_big_integers_are_read_as_json_reads_them() -> None:
    text = '{"volunteers": [], "placements": [], "policy": {"seed": 7, "time_limit_s": 1e1}}'
    assert parse_text(text).policy.time_limit_s == 10.0
    with pytest.raises(InvalidRound) as exc:
        parse_text('{"volunteers": [], "placements": [], "policy": {"seed": 99999999999999999999}}')
    assert [e.field for e in exc.value.errors] == ["seed"]
    nan = '{"volunteers": [], "placements": [], "policy": {"time_limit_s": NaN}}'
    with pytest.raises(InvalidRound) as exc:
        parse_text(nan)
    assert [e.field for e in exc.value.errors] == ["time_limit_s"]


def test_loaded_round_equals_records_validated_one_by_one() -> None:
    d = generate_round(400, 80, seed=5, rules=True)
    d["volunteers"][0]["languages"] = {"en": " b2 ", "fr": "Native"}
    d["volunteers"][1]["name"] = "  Ann Example\n"  # texts are trimmed (ids are not)
    d["placements"][0]["required_skills"] = {" teaching ": 3}
    r = parse_round(d)
    expected = Round.model_construct(
        volunteers=tuple(Volunteer.model_validate(v) for v in d["volunteers"]),
        placements=tuple(Placement.model_validate(p) for p in d["placements"]),
        policy=Policy.model_validate(d.get("policy") or {}),
        previous=tuple(PreviousAssignment.model_validate(a) for a in d.get("previous") or []),
    )
    assert r == expected
    for got, want in zip(
        r.volunteers + r.placements, expected.volunteers + expected.placements, strict=True
    ):
        assert got.model_fields_set == want.model_fields_set
    assert dict(r.volunteers[0].languages) == {"en": "B2", "fr": "native"}


def _unusual_but_valid(start: bool) -> str:
    """JSON text of a valid round written in every unusual way the contract allows."""
    d = generate_round(60, 12, seed=8, rules=True)
    v, w, p, q = d["volunteers"][0], d["volunteers"][1], d["placements"][0], d["placements"][1]
    v["name"] = " Ann Example\t"  # texts are trimmed (ids are taken as written)
    v["nationality"] = v["nationality"] + " "
    v["languages"] = {" en": "b2", "fr ": " Native ", "es": "c1"}
    v["skills"] = {"teaching": "3", "nursing": 4.0}
    v["min_months"], v["max_months"] = "6", 12.0
    v["available_from"] = v["available_from"] + "T00:00:00"
    w["birth_date"] = None
    w["excluded_countries"] = [" KE", "NP"]
    if start:
        p["start"] = p.pop("start_earliest")
        del p["start_latest"]
    p["needs_assessment"] = {"big": 10**30, "tiny": 5e-324, "list": [1, [2.5, None]], "s": "é😀"}
    p["age_min"], p["age_max"] = 20, 20
    q["sdg_targets"] = ["17.6 ", "1.a"]
    q["required_training"] = ["pre-deployment", "pre-deployment"]
    text = json.dumps(d, ensure_ascii=False)
    # a key given twice: the last one counts, in JSON as in `json.loads`
    return text.replace('"gender": ', '"gender": "nobody", "gender": ', 1)


@pytest.mark.parametrize("start", [False, True])
def test_json_text_loads_as_the_parsed_document_does(start: bool) -> None:
    from volmatch.models.load import built_document

    text = _unusual_but_valid(start)
    # without `start`, the text is read by the quick path (records built from the JSON)
    assert (built_document(text) is None) == start
    parsed = json.loads(text)
    r = parse_text(text, fmt="json")
    assert r == parse_round(parsed)
    one_by_one = [Volunteer.model_validate(v) for v in parsed["volunteers"]] + [
        Placement.model_validate(p) for p in parsed["placements"]
    ]
    assert list(r.volunteers + r.placements) == one_by_one
    for got, want in zip(r.volunteers + r.placements, one_by_one, strict=True):
        assert type(got) is type(want)
        assert got.model_fields_set == want.model_fields_set
    assert r.placements[0].needs_assessment == parsed["placements"][0]["needs_assessment"]


def test_fields_out_of_order_are_reported_from_json_text() -> None:
    d = doc(
        [vol("V1"), vol("V2", available_until="2027-01-31"), vol("V3", min_months=9, max_months=8)],
        [plc("P1"), plc("P2", age_min=30, age_max=29), plc("P3", start_latest="2027-03-31")],
    )
    expected = [
        ErrorItem(
            "volunteers",
            "V2",
            "available_until",
            "available_until 2027-01-31 is before available_from 2027-03-01",
        ),
        ErrorItem("volunteers", "V3", "max_months", "max_months 8 is less than min_months 9"),
        ErrorItem("placements", "P2", "age_max", "age_max 29 is less than age_min 30"),
        ErrorItem(
            "placements",
            "P3",
            "start_latest",
            "start_latest 2027-03-31 is before start_earliest 2027-04-01",
        ),
    ]
    for load in (lambda: parse_text(json.dumps(d)), lambda: parse_round(d)):
        with pytest.raises(InvalidRound) as exc:
            load()
        assert exc.value.errors == expected


def test_records_given_built_are_taken_as_they_are() -> None:
    # As before: parse_round does not validate records that are already models again.
    v = Volunteer.model_validate(vol("V1"))
    odd = v.model_copy(update={"max_months": 1})  # not validated: out of order
    r = parse_round({"volunteers": [odd], "placements": [plc("P1")]})
    assert r.volunteers == (odd,)


def test_the_loader_checks_ids_and_codes_natively() -> None:
    # Guards the speed of the loader: its validators must be pydantic-core's own checks,
    # not the models' Python ones (which pydantic-core would reuse if it could).
    from volmatch.models.load import NATIVE_VALIDATORS

    with pytest.raises(ValidationError) as exc:
        NATIVE_VALIDATORS["volunteers"].validate_python(
            [vol("bad id!", nationality="cn", skills={"X": 1})]
        )
    assert {e["type"] for e in exc.value.errors()} == {"string_pattern_mismatch", "literal_error"}


def test_long_lived_round_is_frozen_out_of_the_collector(tmp_path: Path) -> None:
    import gc

    from benchmarks.generate import generate_round
    from volmatch.models import load_round

    doc = generate_round(40, 8, seed=2)
    f = tmp_path / "round.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    before = gc.get_freeze_count()
    try:
        plain = load_round(f)
        assert gc.get_freeze_count() == before
        kept = load_round(f, long_lived=True)
        assert gc.get_freeze_count() > before
        assert kept == plain
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_yaml_booleans_and_numbers_where_text_is_asked_say_why(tmp_path: Path) -> None:
    """An unquoted NO (Norway) in YAML is false: the error said only "Input should be a
    valid string", which a coordinator cannot act on."""
    path = tmp_path / "r.yaml"
    path.write_text(
        "volunteers:\n- id: 123\n  nationality: NO\n  available_from: 2027-01-01\n"
        "  available_until: 2028-12-31\nplacements: []\n"
    )
    with pytest.raises(InvalidRound) as err:
        load_round(path)
    said = {e.field: e.message for e in err.value.errors}
    assert "got false" in said["nationality"] and "quotes ('NO')" in said["nationality"]
    assert said["id"] == "expected text, got the number 123: write it in quotes"
