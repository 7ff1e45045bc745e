"""Fuzzing the loaders: random bytes, encodings, nesting, huge numbers, NaN and
infinities, wrong types. A loader returns a round or raises `InvalidRound` whose errors
name the record and the field, never anything else."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import doc, plc, vol
from volmatch.models import InvalidRound, Round, load_round, parse_round, parse_text
from volmatch.models.limits import MAX_SHOWN_CHARS

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

BASE = doc([vol("V1", name="Zoë"), vol("V2")], [plc("P1", slots=2, title="Teacher")])
VOLUNTEER_FIELDS = sorted(
    {
        *vol(),
        "name",
        "gender",
        "birth_date",
        "min_months",
        "max_months",
        "preferences",
        "excluded_countries",
        "security_clearance",
        "group",
    }
)
PLACEMENT_FIELDS = sorted(
    {
        *plc(),
        "title",
        "slots",
        "required_skills",
        "desired_skills",
        "required_languages",
        "desired_languages",
        "required_training",
        "min_months",
        "max_months",
        "priority",
        "sdg_targets",
        "security_level",
        "age_min",
        "age_max",
        "ranking",
        "needs_assessment",
    }
)

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**18, max_value=10**80),
    st.integers(min_value=-(10**80), max_value=-(10**18)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(max_size=80),
    st.sampled_from(
        ["", " ", "2027-02-30", "9999-12-31", "0001-01-01", "A1", "native", "x" * 5000]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _nested(depth: int, leaf: Any, kind: str) -> Any:
    """`leaf` inside `depth` lists or objects, built without recursion."""
    out = leaf
    for _ in range(depth):
        out = [out] if kind == "list" else {"k": out}
    return out


def _assert_named(exc: InvalidRound, record: str | None = None, field: str | None = None) -> None:
    assert exc.errors
    for e in exc.errors:
        assert e.section and e.record and e.message
        assert len(str(e)) < 400, str(e)[:400]  # no huge value quoted back
    if record is not None:
        assert any(e.record == record and e.field.startswith(field or "") for e in exc.errors), (
            record,
            field,
            [str(e) for e in exc.errors],
        )


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".json", ".yaml", ".yml", ".txt"]))
def test_random_bytes_load_or_fail_clearly(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"round{suffix}"
        path.write_bytes(data)
        try:
            load_round(path)
        except InvalidRound as exc:
            _assert_named(exc)


@FUZZ
@given(
    encoding=st.sampled_from(
        ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"]
    ),
    as_yaml=st.booleans(),
)
def test_every_encoding_people_save_in_loads_the_same_round(encoding: str, as_yaml: bool) -> None:
    import yaml

    text = (
        yaml.safe_dump(BASE, allow_unicode=True)
        if as_yaml
        else json.dumps(BASE, ensure_ascii=False)
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("round.yaml" if as_yaml else "round.json")
        path.write_bytes(text.encode(encoding))
        assert load_round(path) == parse_round(BASE)


@settings(FUZZ, max_examples=25)
@given(
    depth=st.integers(min_value=0, max_value=3000),
    kind=st.sampled_from(["list", "dict"]),
    where=st.sampled_from(["top", "volunteer", "placement", "assessment", "policy"]),
    as_yaml=st.booleans(),
)
def test_any_nesting_loads_or_fails_clearly(
    depth: int, kind: str, where: str, as_yaml: bool
) -> None:
    d = json.loads(json.dumps(BASE))
    deep = _nested(depth, 1, kind)
    if where == "top":
        d["extra"] = deep
    elif where == "volunteer":
        d["volunteers"][0]["skills"] = deep
    elif where == "placement":
        d["placements"][0]["required_training"] = deep
    elif where == "assessment":
        d["placements"][0]["needs_assessment"] = {"notes": deep}
    else:
        d["policy"] = {"weights": deep}
    # Dumped by hand: the dumpers recurse as deep as the document.
    text = _dump_deep(d, deep)
    if as_yaml:  # JSON flow style is YAML too
        text = "# yaml\n" + text
    try:
        parse_text(text, fmt="yaml" if as_yaml else "json")
    except InvalidRound as exc:
        _assert_named(exc)


def _dump_deep(d: dict[str, Any], deep: Any) -> str:
    """`json.dumps(d)` where `deep` (a nesting of one-item lists or objects) may be too
    deep for `json.dumps`: written as a placeholder, then spelled out."""
    depth, leaf, opener, closer = 0, deep, "", ""
    while isinstance(leaf, list | dict):
        if isinstance(leaf, list):
            opener, closer, leaf = opener + "[", "]" + closer, leaf[0]
        else:
            opener, closer, leaf = opener + '{"k": ', "}" + closer, leaf["k"]
        depth += 1
    marker = '"@@DEEP@@"'

    def swap(node: Any) -> Any:
        if node is deep:
            return "@@DEEP@@"
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    return json.dumps(swap(d)).replace(marker, f"{opener}{json.dumps(leaf)}{closer}", 1)


@FUZZ
@given(
    section=st.sampled_from(["volunteers", "placements"]),
    data=st.data(),
    value=values,
)
def test_any_value_in_any_field_is_accepted_or_named(
    section: str, data: st.DataObject, value: Any
) -> None:
    d = json.loads(json.dumps(BASE))
    fields = VOLUNTEER_FIELDS if section == "volunteers" else PLACEMENT_FIELDS
    field = data.draw(st.sampled_from([f for f in fields if f != "id"]))
    record = d[section][0]
    record[field] = value
    try:
        r = parse_round(d)
    except InvalidRound as exc:
        _assert_named(exc, record["id"])
        return
    assert isinstance(r, Round)
    # What was accepted is stored and returned as JSON (no NaN, nothing unserialisable).
    json.loads(r.model_dump_json())


@FUZZ
@given(
    value=values,
    key=st.sampled_from(
        [
            "weights",
            "budget",
            "seed",
            "time_limit_s",
            "min_fill",
            "max_per_host",
            "locked",
            "objective",
            "move_cost",
            "frozen_stages",
        ]
    ),
)
def test_any_policy_value_is_accepted_or_named(value: Any, key: str) -> None:
    d = {**json.loads(json.dumps(BASE)), "policy": {key: value}}
    try:
        parse_round(d)
    except InvalidRound as exc:
        _assert_named(exc, "policy", key)


@settings(FUZZ, max_examples=3)
@given(size=st.integers(min_value=1, max_value=3), junk=st.text(min_size=1, max_size=40))
def test_huge_values_are_refused_naming_record_and_field(size: int, junk: str) -> None:
    d = json.loads(json.dumps(BASE))
    big = (junk * (2_000_000 // len(junk) + 1))[: size * 1_000_000]
    d["placements"][0]["title"] = big
    d["volunteers"][0]["id"] = big
    d["volunteers"][1]["skills"] = {f"s{i}": 3 for i in range(size * 50_000)}
    try:
        parse_round(d)
    except InvalidRound as exc:
        _assert_named(exc, "P1", "title")
        _assert_named(exc, "V2", "skills")
        assert any(e.record == "volunteers[0]" and e.field == "id" for e in exc.errors)
        assert all(len(e.message) < 200 + MAX_SHOWN_CHARS for e in exc.errors)
    else:
        raise AssertionError("a 1 MB title was accepted")
