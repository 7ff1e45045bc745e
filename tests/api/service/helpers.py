"""Helpers of the service tests (their fixtures are in conftest.py): settings for a test
database, a key per role, a small pool and round, waiting for a round's job, seeding."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import plc, vol

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str | None:
    """The PostgreSQL URL to test against, or None when there is none."""
    url = os.environ.get("VOLMATCH_TEST_PG_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return PG_DEFAULT
    except OSError:
        return None


def with_schema(url: str, schema: str) -> str:
    """`url` with `schema` as the search path: one PostgreSQL schema per test."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@dataclass
class Db:
    """One empty database for one test: an SQLite file or a PostgreSQL schema."""

    backend: str
    url: str


def settings_for(url: str, **kw: Any) -> Any:
    """Service settings on `url` with short polls, heartbeats and leases (tests wait less)."""
    from volmatch.api.service import Settings

    base: dict[str, Any] = {
        "db_url": url,
        "poll_s": 0.05,
        "heartbeat_s": 0.2,
        "lease_s": 5.0,
        "log_level": "WARNING",
    }
    base.update(kw)
    return Settings(**base)


@dataclass
class Keys:
    """One API key per role: a coordinator, a planner, and hosts H01 and H02."""

    coordinator: str
    planner: str
    host1: str
    host2: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, who)}"}


def make_keys(app: Any) -> Keys:
    """Create the `Keys` in a started app's database."""
    from volmatch.api.service.auth import create_key

    with app.state.db.write() as s:
        return Keys(
            coordinator=create_key(s, "coordinator")[1],
            planner=create_key(s, "planner")[1],
            host1=create_key(s, "host", "H01")[1],
            host2=create_key(s, "host", "H02")[1],
        )


def volunteers() -> list[dict[str, Any]]:
    """A small pool with personal data (names, a birth date) that must never leak."""
    return [
        vol("V1", name="Ana Lima", birth_date="2000-01-02", nationality="BR", preferences=["P1"]),
        vol("V2", name="Ben Okafor", nationality="NG", skills={"teaching": 4, "nursing": 3}),
        vol("V3", name="Chen Wei", nationality="CN", languages={"en": "C1", "fr": "B2"}),
        vol("V4", name="Dara Kim", nationality="KR", skills={"nursing": 5}),
        vol("V5", name="Eli Sato", nationality="JP", training=[]),  # untrained: never placed
    ]


def placements() -> list[dict[str, Any]]:
    """Two needs of host H01 and one of H02."""
    return [
        plc(
            "P1",
            host="H01",
            title="Teacher",
            slots=2,
            required_skills={"teaching": 2},
            needs_assessment={"beneficiaries": 120},
        ),
        plc("P2", host="H01", title="Nurse", country="KE", required_skills={"nursing": 3}),
        plc("P3", host="H02", title="French tutor", country="SN", required_languages={"fr": "B1"}),
    ]


def round_doc() -> dict[str, Any]:
    """The pool and the needs as one round document."""
    return {"volunteers": volunteers(), "placements": placements()}


def wait_round(client: Any, rid: str, headers: dict[str, str], timeout: float = 30) -> Any:
    """Poll round `rid` until its job has finished; return its state."""
    end = time.monotonic() + timeout
    while True:
        r = client.get(f"/rounds/{rid}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("done", "failed", "cancelled"):
            return r.json()
        if time.monotonic() > end:
            raise AssertionError(f"round {rid} still {r.json()['status']} after {timeout}s")
        time.sleep(0.05)


# HTTP behaviour that does not depend on the database runs on SQLite only; the tests of
# storage, jobs, idempotency and erasure run on both backends (keeps the suite fast).
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def seed(c: Any) -> None:
    """Host H01 and H02 submit their needs, the coordinator uploads the pool."""
    for p in placements():
        who = "host1" if p["host"] == "H01" else "host2"
        r = c.post("/placements", json=p, headers=c.keys.auth(who))
        assert r.status_code == 201, r.text
    r = c.post("/volunteers", json={"volunteers": volunteers()}, headers=c.keys.auth("coordinator"))
    assert r.status_code == 200, r.text


def solved_round(c: Any, publish: bool = False) -> str:
    """Launch a round from the stored records, wait until it is solved (and published);
    return its id."""
    co = c.keys.auth("coordinator")
    r = c.post("/rounds", json={"name": "spring"}, headers=co)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert r.headers["location"] == f"/rounds/{rid}"
    assert wait_round(c, rid, co)["status"] == "done"
    if publish:
        assert c.post(f"/rounds/{rid}/publish", headers=co).status_code == 201
    return str(rid)


def store(url: str, **kw: Any) -> Any:
    """A migrated database on `url` (a `Database`) and service settings for it."""
    from volmatch.api.service.db import database_for, migrate

    settings = settings_for(url, **kw)
    db = database_for(settings)
    migrate(db)
    return db, settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers_health(base: str, proc: Any, timeout: float, poll: float = 0.1) -> bool:
    """Wait until the server at `base` answers `/health` (True), or its process `proc`
    ends or `timeout` seconds pass (False)."""
    import httpx

    end = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > end:
            return False
        time.sleep(poll)


class Server:
    """A real `volmatch serve` subprocess on `url`, started again on the same port and
    database by `restart`. Its stderr goes to a file as it runs (`log` reads it at any
    time): a pipe nobody drains fills up once the server has logged 64 KB, and the
    server then blocks in its next log call; reading a pipe to its end waits for a
    process that still runs."""

    def __init__(
        self, url: str, cwd: Any, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        import sys
        import tempfile
        import weakref
        from pathlib import Path

        self.url, self.cwd, self.args = url, cwd, args
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VOLMATCH_POLL_S": "0.05",
            "VOLMATCH_HEARTBEAT_S": "0.2",
            "VOLMATCH_LEASE_S": "1.5",
            **(env or {}),
        }
        self.env.pop("VOLMATCH_DB_URL", None)
        self.exe = str(Path(sys.executable).with_name("volmatch"))
        fd, name = tempfile.mkstemp(prefix="volmatch-serve-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        weakref.finalize(self, self.log_path.unlink, missing_ok=True)
        self.proc: Any = None
        self.start()

    @property
    def log(self) -> str:
        """Everything the server (every start of it) wrote to stderr so far."""
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def start(self, timeout: float = 30) -> None:
        import subprocess

        # Appending, one file across restarts; the child keeps its own descriptor.
        with self.log_path.open("ab") as err:
            self.proc = subprocess.Popen(
                [self.exe, "serve", "--port", str(self.port), "--db", self.url, *self.args],
                cwd=self.cwd,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        if not answers_health(self.base, self.proc, timeout, poll=0.05):
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            raise AssertionError(f"the server did not start:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed."""
        import signal

        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self, timeout: float = 15) -> float:
        """SIGTERM; return how long the server took to exit."""
        import signal

        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        return time.monotonic() - t0


def held_scenario_run(run_id: str, round_id: str, name: str, done: int, total: int) -> Any:
    """A `running` scenario run held by a worker elsewhere (its lease valid for an hour),
    so that it stays running while a test cancels it."""
    import datetime as dt

    from volmatch.api.service.tables import ScenarioRun, utcnow

    return ScenarioRun(
        id=run_id,
        round_id=round_id,
        created_by="k",
        name=name,
        status="running",
        attempts=1,
        progress={"done": done, "total": total, "name": "base"},
        scenario={"name": name, "variants": []},
        claim_token="elsewhere",
        heartbeat_at=utcnow(),
        lease_until=utcnow() + dt.timedelta(hours=1),
    )
