"""The round document (`models.round`): every bad field is reported at once and names
its record and field; records are frozen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import doc, plc, vol
from volmatch.models import InvalidRound, Round, parse_round, round_to_dict
from volmatch.models.codes import SDG_TARGETS


def errors_of(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidRound) as exc:
        parse_round(d)
    return [(e.section, e.record, e.field) for e in exc.value.errors]


def test_valid_document_round_trips() -> None:
    p1 = plc("P1", ranking=["V1"], start="2027-04-01")
    del p1["start_earliest"], p1["start_latest"]
    d = doc([vol("V1", preferences=["P1"])], [p1], locked=[{"volunteer": "V1", "placement": "P1"}])
    r = parse_round(d)
    assert isinstance(r, Round)
    assert r.placements[0].start_earliest == r.placements[0].start_latest
    assert parse_round(round_to_dict(r)) == r


def test_sdg_list_has_169_targets() -> None:
    assert len(SDG_TARGETS) == 169 and "17.6" in SDG_TARGETS and "1.a" in SDG_TARGETS


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["volunteers"][0].update(nationality="XX"),
            ("volunteers", "V1", "nationality"),
        ),
        (
            lambda d: d["volunteers"][0].update(languages={"xx": "B2"}),
            ("volunteers", "V1", "languages.xx"),
        ),
        (
            lambda d: d["volunteers"][0].update(languages={"en": "B3"}),
            ("volunteers", "V1", "languages.en"),
        ),
        (
            lambda d: d["volunteers"][0].update(skills={"Teaching!": 3}),
            ("volunteers", "V1", "skills.Teaching!"),
        ),
        (
            lambda d: d["volunteers"][0].update(skills={"teaching": 6}),
            ("volunteers", "V1", "skills.teaching"),
        ),
        (
            lambda d: d["volunteers"][0].update(available_until="2026-01-01"),
            ("volunteers", "V1", "available_until"),
        ),
        (
            lambda d: d["volunteers"][0].update(min_months=12, max_months=6),
            ("volunteers", "V1", "max_months"),
        ),
        (lambda d: d["volunteers"][0].update(shoe_size=42), ("volunteers", "V1", "shoe_size")),
        (
            lambda d: d["volunteers"][0].update(preferences=["P9"]),
            ("volunteers", "V1", "preferences[0]"),
        ),
        (lambda d: d["volunteers"][0].update(id="bad id!"), ("volunteers", "bad id!", "id")),
        (lambda d: d["placements"][0].update(country="ZZ"), ("placements", "P1", "country")),
        (
            lambda d: d["placements"][0].update(start_latest="2027-01-01"),
            ("placements", "P1", "start_latest"),
        ),
        (
            lambda d: d["placements"][0].update(sdg_targets=["18.1"]),
            ("placements", "P1", "sdg_targets[0]"),
        ),
        (lambda d: d["placements"][0].update(priority=6), ("placements", "P1", "priority")),
        (lambda d: d["placements"][0].update(ranking=["V7"]), ("placements", "P1", "ranking[0]")),
        (
            lambda d: d["placements"][0].update(age_min=30, age_max=20),
            ("placements", "P1", "age_max"),
        ),
        (lambda d: d["placements"][0].pop("host"), ("placements", "P1", "host")),
        (lambda d: d["placements"].append(plc("P1")), ("placements", "P1", "id")),
        (
            lambda d: d.update(policy={"locked": [{"volunteer": "V9", "placement": "P1"}]}),
            ("policy", "policy", "locked[0].volunteer"),
        ),
        (
            lambda d: d.update(policy={"forbidden": [{"volunteer": "V1", "placement": "P9"}]}),
            ("policy", "policy", "forbidden[0].placement"),
        ),
        (
            lambda d: d.update(policy={"weights": {"skils": 3}}),
            ("policy", "policy", "weights.skils"),
        ),
        (lambda d: d.update(policy={"mode": "fast"}), ("policy", "policy", "mode")),
        (
            lambda d: d.update(previous=[{"volunteer": "V1", "placement": "P7"}]),
            ("previous", "previous[0]", "placement"),
        ),
        (lambda d: d.update(volunteer=[]), ("round", "round", "volunteer")),
    ],
)
def test_each_bad_field_is_named(mutate: Any, expected: tuple[str, str, str]) -> None:
    d = doc([vol("V1")], [plc("P1")])
    mutate(d)
    assert expected in errors_of(d)


def test_all_errors_are_reported_at_once() -> None:
    d = doc(
        [
            vol("V1", nationality="XX", preferences=["P9"]),
            vol("V1"),
            vol("V2", available_until="2020-01-01", languages={"en": "Z1"}),
        ],
        [plc("P1", country="ZZ", ranking=["V9"])],
        locked=[{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V1", "placement": "P2"}],
    )
    d["extra"] = 1
    found = errors_of(d)
    for want in [
        ("round", "round", "extra"),
        ("volunteers", "V1", "nationality"),
        ("volunteers", "V1", "preferences[0]"),
        ("volunteers", "V1", "id"),
        ("volunteers", "V2", "available_until"),
        ("volunteers", "V2", "languages.en"),
        ("placements", "P1", "country"),
        ("placements", "P1", "ranking[0]"),
        ("policy", "policy", "locked[1].placement"),
    ]:
        assert want in found, (want, found)


def test_start_and_start_earliest_together_is_an_error() -> None:
    assert ("placements", "P1", "start") in errors_of(doc([vol()], [plc("P1", start="2027-04-01")]))


def test_cefr_levels_accept_any_case_and_store_the_contract_spelling() -> None:
    r = parse_round(doc([vol("V1", languages={"fr": "b2", "zh": "Native"})], [plc("P1")]))
    assert dict(r.volunteers[0].languages) == {"fr": "B2", "zh": "native"}


def test_models_are_frozen() -> None:
    r = parse_round(doc([vol("V1")], [plc("P1")]))
    with pytest.raises(ValueError):
        r.volunteers[0].id = "V2"  # type: ignore[misc]


def test_the_lifecycle_policy_numbers_have_bounds_in_the_model_and_schema() -> None:
    from volmatch.models import limits
    from volmatch.models.lifecycle import Event
    from volmatch.models.round import Policy

    schema = Policy.model_json_schema()
    props, defs = schema["properties"], schema["$defs"]
    assert props["bonus"]["maxItems"] == limits.MAX_PAIRS
    assert (props["offer_days"]["minimum"], props["offer_days"]["maximum"]) == (1, 365)
    bonus_points = defs["PairBonus"]["properties"]["points"]
    assert (bonus_points["minimum"], bonus_points["maximum"]) == (1, 100_000)
    for field in ("host", "country"):
        prop = defs["ContinuityBonus"]["properties"][field]
        assert (prop["minimum"], prop["maximum"]) == (0, limits.MAX_POINTS)
    wave = Event.model_json_schema()["properties"]["wave"]
    assert (wave["minimum"], wave["maximum"]) == (1, limits.MAX_WAVES)

    v1, p1 = vol("V1"), plc("P1")
    at_limit = {"host": limits.MAX_POINTS, "country": limits.MAX_POINTS}
    assert parse_round(doc([v1], [p1], continuity_bonus=at_limit)).policy.continuity_bonus
    for field in ("host", "country"):
        past = {**at_limit, field: limits.MAX_POINTS + 1}
        assert errors_of(doc([v1], [p1], continuity_bonus=past)) == [
            ("policy", "policy", f"continuity_bonus.{field}")
        ]
    for days in (0, 366):
        assert errors_of(doc([v1], [p1], offer_days=days)) == [("policy", "policy", "offer_days")]
    pair = {"volunteer": "V1", "placement": "P1", "points": 100_001}
    assert errors_of(doc([v1], [p1], bonus=[pair])) == [("policy", "policy", "bonus[0].points")]


def test_an_id_with_spaces_around_it_is_invalid_wherever_an_id_stands() -> None:
    d = doc(
        [vol(" V1"), vol("V2", preferences=["P1 "]), vol("V3\n")],
        [plc("P1", host=" H1", ranking=["V2\t"])],
        locked=[{"volunteer": "V2 ", "placement": "P1"}],
    )
    assert errors_of(d) == [
        ("volunteers", " V1", "id"),
        ("volunteers", "V2", "preferences[0]"),
        ("volunteers", "volunteers[2]", "id"),
        ("placements", "P1", "host"),
        ("placements", "P1", "ranking[0]"),
        ("policy", "policy", "locked[0].volunteer"),
    ]
    with pytest.raises(InvalidRound) as exc:
        parse_round(doc([vol(" V1")], [plc("P1")]))
    assert "without the spaces around it" in exc.value.errors[0].message
    # Other texts are still trimmed; valid ids are kept exactly as sent.
    r = parse_round(doc([vol("V.1_a-B", name="  Ann  ")], [plc("P1", title=" Teacher ")]))
    assert (r.volunteers[0].id, r.volunteers[0].name, r.placements[0].title) == (
        "V.1_a-B",
        "Ann",
        "Teacher",
    )
