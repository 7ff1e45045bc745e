"""Bad request bodies are 4xx naming the record and the field, never a 5xx: fuzzed
values in every field, random bytes, deep nesting. And the limits the OpenAPI document
states are exactly those the service enforces: at the limit accepted, one past refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.service.helpers import make_keys, settings_for
from tests.helpers import plc, vol
from tests.models.test_fuzz_loaders import PLACEMENT_FIELDS, VOLUNTEER_FIELDS, values
from volmatch.models import limits

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    db = Path(tmp_path_factory.mktemp("bodies")) / "b.db"
    app = create_app(settings_for(f"sqlite:///{db}", max_body_bytes=3_000_000))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, make_keys(app).auth("coordinator")


def _post(api: tuple[Any, dict[str, str]], path: str, body: bytes | Any) -> Any:
    client, headers = api
    content = body if isinstance(body, bytes) else json.dumps(body, allow_nan=True).encode()
    return client.post(
        path, content=content, headers={**headers, "content-type": "application/json"}
    )


def _assert_clear(resp: Any, record: str | None = None, field: str | None = None) -> None:
    assert resp.status_code < 500, resp.text[:500]
    if resp.status_code >= 400:
        assert 400 <= resp.status_code < 500
        body = resp.json()
        assert body["detail"]
        if record is not None and resp.status_code == 422:
            named = [(e["record"], e["field"]) for e in body.get("errors", [])]
            assert any(r == record and f.startswith(field or "") for r, f in named), named
        assert len(resp.text) < 50_000


@settings(FUZZ)
@given(data=st.data(), value=values)
def test_any_value_in_a_placement_is_4xx_naming_it_or_stored(
    api: tuple[Any, dict[str, str]], data: st.DataObject, value: Any
) -> None:
    field = data.draw(st.sampled_from([f for f in PLACEMENT_FIELDS if f != "id"]))
    body = {**plc("PF", host="H01"), field: value}  # `host` is one of the fields drawn
    resp = _post(api, "/placements", body)
    _assert_clear(resp, "PF", field)


@settings(FUZZ)
@given(data=st.data(), value=values)
def test_any_value_in_a_volunteer_is_4xx_naming_it_or_stored(
    api: tuple[Any, dict[str, str]], data: st.DataObject, value: Any
) -> None:
    field = data.draw(st.sampled_from([f for f in VOLUNTEER_FIELDS if f != "id"]))
    resp = _post(api, "/volunteers", {"volunteers": [vol("VF", **{field: value})]})
    _assert_clear(resp, "VF", field)


@settings(FUZZ, max_examples=25)
@given(
    body=st.one_of(
        st.binary(min_size=1, max_size=2000),
        st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(0, 20_000).map(
            lambda n: b'{"document": ' + b'{"a": ' * n + b"1" + b"}" * n + b"}"
        ),
        st.text(max_size=300).map(lambda t: t.encode("utf-16")),
    ),
    path=st.sampled_from(["/placements", "/volunteers", "/rounds"]),
)
def test_bytes_and_nesting_are_4xx(api: tuple[Any, dict[str, str]], body: bytes, path: str) -> None:
    resp = _post(api, path, body)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])


def test_an_empty_round_is_solved_by_the_service(api: tuple[Any, dict[str, str]]) -> None:
    from tests.api.service.helpers import wait_round

    client, headers = api
    resp = _post(api, "/rounds", {"document": {"volunteers": [], "placements": []}})
    assert resp.status_code == 202, resp.text
    wait_round(client, resp.json()["id"], headers)
    result = client.get(f"/rounds/{resp.json()['id']}/result", headers=headers).json()
    assert result["assignments"] == [] and "kpis" in result


# (component, field, JSON-schema keyword, the limit, a body at the limit + `over` past it)
LIMITS = [
    ("Placement", "title", "maxLength", limits.MAX_TITLE_LENGTH, lambda n: "t" * n),
    (
        "Placement",
        "required_skills",
        "maxProperties",
        limits.MAX_SKILLS,
        lambda n: {f"s{i}": 1 for i in range(n)},
    ),
    (
        "Placement",
        "desired_languages",
        "maxProperties",
        limits.MAX_LANGUAGES,
        lambda n: dict.fromkeys(sorted(_languages())[:n], "A1"),
    ),
    (
        "Placement",
        "required_training",
        "maxItems",
        limits.MAX_TRAINING,
        lambda n: [f"m{i}" for i in range(n)],
    ),
    ("Placement", "ranking", "maxItems", limits.MAX_RANKING, lambda n: [f"V{i}" for i in range(n)]),
    ("Placement", "slots", "maximum", limits.MAX_SLOTS, lambda n: n),
    (
        "Placement",
        "needs_assessment",
        "maxProperties",
        limits.MAX_ASSESSMENT_KEYS,
        lambda n: {f"k{i}": i for i in range(n)},
    ),
    ("Volunteer", "name", "maxLength", limits.MAX_NAME_LENGTH, lambda n: "n" * n),
    (
        "Volunteer",
        "skills",
        "maxProperties",
        limits.MAX_SKILLS,
        lambda n: {f"s{i}": 1 for i in range(n)},
    ),
    (
        "Volunteer",
        "languages",
        "maxProperties",
        limits.MAX_LANGUAGES,
        lambda n: dict.fromkeys(sorted(_languages())[:n], "A1"),
    ),
    (
        "Volunteer",
        "training",
        "maxItems",
        limits.MAX_TRAINING,
        lambda n: [f"m{i}" for i in range(n)],
    ),
    (
        "Volunteer",
        "preferences",
        "maxItems",
        limits.MAX_PREFERENCES,
        lambda n: [f"P{i}" for i in range(n)],
    ),
]


def _languages() -> frozenset[str]:
    from volmatch.models.codes import language_codes

    return language_codes()


def _component(api: tuple[Any, dict[str, str]], name: str) -> dict[str, Any]:
    client, _ = api
    comps = client.get("/openapi.json").json()["components"]["schemas"]
    return dict(comps.get(name) or comps[f"{name}-Input"])


def _find(node: Any, keyword: str) -> Any:
    """The keyword's value in a property schema (possibly inside `anyOf` with null)."""
    if keyword in node:
        return node[keyword]
    for branch in node.get("anyOf", []):
        if keyword in branch:
            return branch[keyword]
    raise KeyError(keyword)


@pytest.mark.parametrize(
    ("component", "field", "keyword", "limit", "make"),
    LIMITS,
    ids=[f"{c}.{f}" for c, f, *_ in LIMITS],
)
def test_the_schema_states_the_limits_the_service_enforces(
    api: tuple[Any, dict[str, str]],
    component: str,
    field: str,
    keyword: str,
    limit: int,
    make: Any,
) -> None:
    prop = _component(api, component)["properties"][field]
    assert _find(prop, keyword) == limit
    for n, ok in ((limit, True), (limit + 1, False)):
        if component == "Placement":
            rid = f"P-{field}-{n}"
            resp = _post(api, "/placements", plc(rid, host="H01", **{field: make(n)}))
        else:
            rid = f"V-{field}-{n}"
            resp = _post(api, "/volunteers", {"volunteers": [vol(rid, **{field: make(n)})]})
        if ok:
            assert resp.status_code in (200, 201), resp.text[:300]
        else:
            assert resp.status_code == 422, resp.text[:300]
            errors = resp.json()["errors"]
            assert [(e["record"], e["field"]) for e in errors] == [(rid, field)]


@pytest.mark.parametrize(
    ("component", "field", "pattern"),
    [
        ("Placement", "id", limits.ID_PATTERN),
        ("Placement", "host", limits.ID_PATTERN),
        ("Volunteer", "id", limits.ID_PATTERN),
        ("Volunteer", "group", limits.ID_PATTERN),
    ],
)
def test_the_schema_states_the_id_patterns(
    api: tuple[Any, dict[str, str]], component: str, field: str, pattern: str
) -> None:
    assert _find(_component(api, component)["properties"][field], "pattern") == pattern


def test_the_schema_states_the_skill_code_pattern(api: tuple[Any, dict[str, str]]) -> None:
    skills = _component(api, "Volunteer")["properties"]["skills"]
    assert skills["propertyNames"] == {"pattern": limits.SLUG_PATTERN}
    resp = _post(api, "/volunteers", {"volunteers": [vol("VS", skills={"s" * 65: 1})]})
    assert resp.status_code == 422
    named = [(e["record"], e["field"]) for e in resp.json()["errors"]]
    assert named == [("VS", f"skills.{'s' * 65}")]


def test_an_id_with_spaces_around_it_is_a_422_as_the_schema_says(
    api: tuple[Any, dict[str, str]],
) -> None:
    import re

    client, headers = api
    for path, body, record, field in (
        ("/volunteers", {"volunteers": [vol(" VW1")]}, " VW1", "id"),
        ("/placements", plc("PW1", host=" H01"), "PW1", "host"),
        ("/placements", plc("PW2 ", host="H01"), "PW2 ", "id"),
    ):
        resp = _post(api, path, body)
        assert resp.status_code == 422, resp.text[:300]
        assert [(e["record"], e["field"]) for e in resp.json()["errors"]] == [(record, field)]
    pattern = _component(api, "Volunteer")["properties"]["id"]["pattern"]
    assert re.fullmatch(pattern, " VW1") is None
    for rid in ("VW1", "PW2"):
        assert client.get(f"/volunteers/{rid}", headers=headers).status_code == 404
        assert client.get(f"/placements/{rid}", headers=headers).status_code == 404
    resp = _post(api, "/rounds", {"volunteers": ["VW1 "]})
    assert resp.status_code == 422, resp.text[:300]


@pytest.mark.parametrize("large", [False, True])
def test_a_json_body_that_repeats_a_key_is_a_422_naming_it(
    api: tuple[Any, dict[str, str]], large: bool
) -> None:
    """The body was read keeping the last value of a repeated key: a volunteer sent with
    `skills` twice was stored with the second only, and a 200."""
    vid = f"VDUP{int(large)}"
    fields = json.dumps(vol(vid))[1:-1]
    pad = [vol(f"VPAD{i}") for i in range(600 if large else 0)]  # parsed off the event loop
    body = (
        '{"volunteers": ['
        + "".join(json.dumps(v) + ", " for v in pad)
        + "{"
        + fields
        + ', "skills": {"nursing": 4}}]}'
    ).encode()
    resp = _post(api, "/volunteers", body)
    assert resp.status_code == 422, resp.text[:300]
    [err] = resp.json()["errors"]
    assert (err["record"], err["field"]) == (vid, "skills") and "twice" in err["message"]
    client, headers = api
    assert client.get(f"/volunteers/{vid}", headers=headers).status_code == 404
    assert _post(api, "/volunteers", {"volunteers": [vol(vid)]}).status_code == 200


@pytest.mark.parametrize("ctype", [None, "application/json; charset=utf-8", "application/x+json"])
def test_a_repeated_key_is_refused_whatever_json_type_the_body_says(
    api: tuple[Any, dict[str, str]], ctype: str | None
) -> None:
    """FastAPI reads a body without a type, or of any ...+json type, as JSON too."""
    client, headers = api
    fields = json.dumps(vol("VTYPE"))[1:-1]
    body = ('{"volunteers": [{' + fields + ', "skills": {"nursing": 4}}]}').encode()
    sent = {**headers, **({"content-type": ctype} if ctype else {})}
    resp = client.post("/volunteers", content=body, headers=sent)
    assert resp.status_code == 422 and "given twice" in resp.text, resp.text[:300]
