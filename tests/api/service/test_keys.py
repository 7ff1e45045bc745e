"""API keys: coordinators list, create, revoke and rotate them through the API; keys
expire; an expired, revoked or rotated-away key is a 401; last use is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.service.helpers import SQLITE_ONLY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_list_rotate_revoke(client: Any) -> None:
    co = client.keys.auth("coordinator")
    r = client.post(
        "/keys",
        json={"role": "host", "host_id": "H05", "label": "new partner", "expires_in_days": 30},
        headers=co,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    kid, token = made["key"]["id"], made["token"]
    assert r.headers["location"] == f"/keys/{kid}"
    assert made["key"]["state"] == "active" and made["key"]["host_id"] == "H05"
    expires = dt.datetime.fromisoformat(made["key"]["expires_at"])
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=30)
    assert client.get("/me", headers=_auth(token)).json()["host_id"] == "H05"

    listed = client.get("/keys", headers=co).json()
    assert kid in {k["id"] for k in listed}
    assert "token" not in str(listed) and token.split("_", 2)[2] not in str(listed)

    rotated = client.post(f"/keys/{kid}/rotate", headers=co).json()
    assert rotated["key"]["id"] == kid and rotated["key"]["rotated_at"]
    assert client.get("/me", headers=_auth(token)).status_code == 401
    assert client.get("/me", headers=_auth(rotated["token"])).status_code == 200

    revoked = client.post(f"/keys/{kid}/revoke", headers=co)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert client.get("/me", headers=_auth(rotated["token"])).status_code == 401
    assert kid not in {k["id"] for k in client.get("/keys", headers=co).json()}
    assert kid in {k["id"] for k in client.get("/keys?all=true", headers=co).json()}
    # A revoked key cannot be rotated back to life; unknown ids are 404.
    assert client.post(f"/keys/{kid}/rotate", headers=co).status_code == 409
    assert client.post(f"/keys/{'0' * 12}/revoke", headers=co).status_code == 404


@SQLITE_ONLY
def test_only_coordinators_manage_keys(client: Any) -> None:
    planner, host = client.keys.auth("planner"), client.keys.auth("host1")
    assert client.get("/keys", headers=planner).status_code == 403
    assert client.post("/keys", json={"role": "planner"}, headers=host).status_code == 403
    own = client.keys.host1.split("_")[1]
    # An id route is a 404 to anyone else: key ids are not probed.
    assert client.post(f"/keys/{own}/revoke", headers=host).status_code == 404
    assert client.get("/me", headers=host).status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("body", "field_text"),
    [
        ({"role": "host"}, "host_id"),
        ({"role": "planner", "host_id": "H01"}, "host_id"),
        ({"role": "planner", "expires_in_days": 0}, "expires_in_days"),
        ({"role": "admin"}, "role"),
    ],
)
def test_bad_key_requests_are_422(client: Any, body: dict[str, Any], field_text: str) -> None:
    r = client.post("/keys", json=body, headers=client.keys.auth("coordinator"))
    assert r.status_code == 422
    assert field_text in r.text


@SQLITE_ONLY
def test_a_bad_key_id_is_one_error_not_two(client: Any) -> None:
    """The id is read by the route and by its coordinators-only dependency: each
    reported the same error."""
    co = client.keys.auth("coordinator")
    for method, path in (("GET", "/keys/bad"), ("POST", "/keys/bad/revoke")):
        r = client.request(method, path, headers=co)
        assert r.status_code == 422
        [err] = r.json()["errors"]
        assert err["field"] == "key_id"


def test_expired_key_is_401(client: Any) -> None:
    from volmatch.api.service.tables import ApiKey

    co = client.keys.auth("coordinator")
    made = client.post("/keys", json={"role": "planner", "expires_in_days": 1}, headers=co).json()
    assert client.get("/me", headers=_auth(made["token"])).status_code == 200
    with client.app.state.db.write() as s:
        s.get(ApiKey, made["key"]["id"]).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(
            seconds=1
        )
    r = client.get("/me", headers=_auth(made["token"]))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    listed = client.get("/keys?all=true", headers=co).json()
    assert {k["id"]: k["state"] for k in listed}[made["key"]["id"]] == "expired"


@SQLITE_ONLY
def test_last_use_is_written_in_batches(client: Any) -> None:
    co = client.keys.auth("coordinator")
    kid = client.keys.planner.split("_")[1]
    before = {k["id"]: k for k in client.get("/keys", headers=co).json()}[kid]
    assert before["last_used_at"] is None
    assert client.get("/me", headers=client.keys.auth("planner")).status_code == 200
    with client.app.state.db.write() as s:  # what the housekeeping thread does
        assert client.app.state.key_usage.flush(s) >= 1
    after = {k["id"]: k for k in client.get("/keys", headers=co).json()}[kid]
    assert after["last_used_at"] is not None
