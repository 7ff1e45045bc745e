"""A 2xx means committed: a real `volmatch serve` is killed (SIGKILL) right after each
kind of successful write, started again on the same database, and the write is there;
on SQLite and PostgreSQL. The server's stderr never carries the planted personal data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.service.helpers import Db, Server, placements, round_doc, store, volunteers

SECRETS = ("Ana Lima", "Ben Okafor", "2000-01-02")


def _keys(url: str) -> tuple[dict[str, str], dict[str, str]]:
    from volmatch.api.service.auth import create_key

    database, _ = store(url)
    with database.write() as s:
        co = create_key(s, "coordinator")[1]
        host = create_key(s, "host", "H01")[1]
    database.dispose()
    return {"Authorization": f"Bearer {co}"}, {"Authorization": f"Bearer {host}"}


def _wait_done(base: str, rid: str, co: dict[str, str], timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while httpx.get(f"{base}/rounds/{rid}", headers=co).json()["status"] != "done":
        assert time.monotonic() < end, "the round was not solved after the restart"
        time.sleep(0.1)


def test_every_acknowledged_write_survives_a_kill(db: Db, tmp_path: Path) -> None:
    co, host = _keys(db.url)
    # First without a job worker, so that a round stays queued until it is cancelled.
    server = Server(db.url, tmp_path, args=("--embedded-workers", "0"))
    base = server.base
    checked: list[str] = []

    def acked(method: str, path: str, status: int, auth: dict[str, str], **kw: Any) -> Any:
        """Send, expect `status`, and kill the server the moment the answer is in."""
        r = httpx.request(
            method, f"{base}{path}", headers={**auth, **kw.pop("headers", {})}, timeout=30, **kw
        )
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        server.restart()
        checked.append(f"{method} {path.split('/')[1]}")
        return r

    try:
        r = httpx.post(f"{base}/rounds", json={"document": round_doc()}, headers=co)
        assert r.status_code == 202
        acked("DELETE", f"/rounds/{r.json()['id']}", 200, co)
        assert (
            httpx.get(f"{base}/rounds/{r.json()['id']}", headers=co).json()["status"] == "cancelled"
        )
        server.args = ()

        p1, p2 = placements()[0], placements()[1]
        acked("POST", "/placements", 201, host, json=p1)
        assert httpx.get(f"{base}/placements/P1", headers=host).status_code == 200

        acked("PUT", "/placements/P1", 200, host, json={**p1, "title": "Head teacher"})
        got = httpx.get(f"{base}/placements/P1", headers=host).json()
        assert got["placement"]["title"] == "Head teacher"

        assert httpx.put(f"{base}/placements/P2", json=p2, headers=host).status_code == 201
        acked("DELETE", "/placements/P2", 204, host)
        assert httpx.get(f"{base}/placements/P2", headers=host).status_code == 404
        assert httpx.put(f"{base}/placements/P2", json=p2, headers=host).status_code == 201

        acked("POST", "/volunteers", 200, co, json={"volunteers": volunteers()})
        assert len(httpx.get(f"{base}/volunteers", headers=co).json()) == 5

        acked("PUT", "/volunteers/V9", 201, co, json={**volunteers()[1], "id": "V9"})
        assert httpx.get(f"{base}/volunteers/V9", headers=co).status_code == 200

        r = acked(
            "POST",
            "/rounds",
            202,
            co,
            json={"name": "spring"},
            headers={"Idempotency-Key": "spring"},
        )
        rid = r.json()["id"]
        # The replay after the restart is the first answer, headers included.
        again = httpx.post(
            f"{base}/rounds", json={"name": "spring"}, headers={**co, "Idempotency-Key": "spring"}
        )
        assert again.status_code == 202 and again.json()["id"] == rid
        assert again.headers["location"] == r.headers["location"] == f"/rounds/{rid}"
        assert again.headers["idempotent-replayed"] == "true"
        _wait_done(base, rid, co)

        acked("POST", f"/rounds/{rid}/publish", 201, co)
        assert httpx.get(f"{base}/rounds/{rid}", headers=co).json()["published"] is True
        assert httpx.get(f"{base}/assignments", headers=host).json()

        acked("DELETE", "/volunteers/V1", 200, co)
        assert httpx.get(f"{base}/volunteers/V1", headers=co).status_code == 404
        result = httpx.get(f"{base}/rounds/{rid}/result", headers=co).text
        assert '"V1"' not in result

        made = acked("POST", "/keys", 201, co, json={"role": "planner", "label": "p"}).json()
        planner = {"Authorization": f"Bearer {made['token']}"}
        assert httpx.get(f"{base}/me", headers=planner).json()["role"] == "planner"

        rotated = acked("POST", f"/keys/{made['key']['id']}/rotate", 200, co).json()
        assert httpx.get(f"{base}/me", headers=planner).status_code == 401
        planner = {"Authorization": f"Bearer {rotated['token']}"}
        assert httpx.get(f"{base}/me", headers=planner).status_code == 200

        acked("POST", f"/keys/{made['key']['id']}/revoke", 200, co)
        assert httpx.get(f"{base}/me", headers=planner).status_code == 401
    finally:
        server.stop()
    assert len(checked) == 12
    for secret in SECRETS:
        assert secret not in server.log, f"{secret!r} in the server's log"
