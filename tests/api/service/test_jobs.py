"""Durable round jobs, on SQLite and PostgreSQL: claiming, leases, fencing, a worker
killed mid-solve, progress of the solver's incumbents."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.service.helpers import Db, round_doc, store

VOLMATCH = str(Path(sys.executable).with_name("volmatch"))


def _add_round(db: Any) -> str:
    import uuid

    from volmatch.api.service.jobs import new_job
    from volmatch.api.service.tables import RoundRow

    rid = uuid.uuid4().hex
    with db.write() as s:
        s.add(
            RoundRow(
                id=rid,
                name="t",
                source="document",
                created_by="test",
                n_volunteers=5,
                n_placements=3,
                document=round_doc(),
            )
        )
        s.flush()
        new_job(s, rid)
    return rid


def _job(db: Any, rid: str) -> Any:
    from volmatch.api.service.tables import Job

    with db.read() as s:
        return s.get(Job, rid)


def _results(db: Any, rid: str) -> int:
    from volmatch.api.service.tables import ResultRow

    with db.read() as s:
        return int(s.scalar(select(func.count()).where(ResultRow.round_id == rid)) or 0)


def test_claim_lease_and_fencing(db: Db) -> None:
    from volmatch.api.service.jobs import Worker

    database, settings = store(db.url, lease_s=1.0)  # long enough on a busy machine
    rid = _add_round(database)
    a, b = Worker(database, settings, "A"), Worker(database, settings, "B")
    claim_a = a.claim()
    assert claim_a is not None and claim_a.attempt == 1
    assert b.claim() is None  # A's lease holds
    time.sleep(1.1)  # A stops heart-beating: its lease expires
    claim_b = b.claim()
    assert claim_b is not None and claim_b.round_id == rid and claim_b.attempt == 2
    # A wakes up and finishes: its outcome is dropped (fencing token), B's is kept.
    a._finish(
        claim_a,
        "done",
        started=time.perf_counter(),
        result={"objective": 1, "bound": 1, "status": "optimal"},
    )
    assert _job(database, rid).status == "running"
    assert _results(database, rid) == 0
    b._solve(claim_b)
    job = _job(database, rid)
    assert (job.status, job.worker, job.attempts) == ("done", "B", 2)
    assert _results(database, rid) == 1
    assert a.claim() is None and b.claim() is None
    _assert_view_stored(database, rid)
    database.dispose()


def _assert_view_stored(database: Any, rid: str) -> None:
    """The result is stored laid out for paging too: its page reads that, not the result."""
    from volmatch.api.service.result_pages import ResultViews, stored_result
    from volmatch.api.service.tables import Job

    def no_build(*_: Any) -> Any:
        raise AssertionError("the result was parsed")

    with database.read() as s:
        view = ResultViews(build=no_build).get(s, rid)
        result = stored_result(s, rid, s.get(Job, rid))
    assert view.assignments == result["assignments"]
    assert view.unmatched == result["unmatched_volunteers"]


def test_job_whose_workers_keep_dying_fails_after_max_attempts(db: Db) -> None:
    from volmatch.api.service.jobs import Worker

    database, settings = store(db.url, lease_s=0.05, max_attempts=2)
    rid = _add_round(database)
    w = Worker(database, settings, "W")
    assert w.claim() is not None
    time.sleep(0.1)
    assert w.claim() is not None
    time.sleep(0.1)
    assert w.claim() is None
    job = _job(database, rid)
    assert job.status == "failed" and job.error["kind"] == "worker_lost"
    database.dispose()


def test_concurrent_workers_solve_each_round_once(db: Db) -> None:
    import threading

    from volmatch.api.service.jobs import Worker

    database, settings = store(db.url, poll_s=0.02)
    rids = [_add_round(database) for _ in range(6)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=Worker(database, settings, f"W{i}").run, args=(stop,))
        for i in range(3)
    ]
    for t in threads:
        t.start()
    end = time.monotonic() + 30
    while time.monotonic() < end and any(_job(database, r).status != "done" for r in rids):
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    for r in rids:
        assert _job(database, r).status == "done"
        assert _job(database, r).attempts == 1
        assert _results(database, r) == 1
    database.dispose()


def _worker(url: str, env: dict[str, str], lease: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [VOLMATCH, "worker", "--db", url, "--lease", str(lease), "--heartbeat", "0.2"],
        env={**os.environ, "VOLMATCH_POLL_S": "0.05", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_worker_killed_mid_solve_loses_nothing(db: Db) -> None:
    database, _ = store(db.url)
    rid = _add_round(database)
    slow = _worker(db.url, {"VOLMATCH_WORKER_TEST_DELAY_S": "60"}, lease=1.5)
    try:
        end = time.monotonic() + 30
        while _job(database, rid).progress.get("stage") != "solve":
            assert time.monotonic() < end, "the worker never started solving"
            assert slow.poll() is None, slow.stderr.read() if slow.stderr else ""
            time.sleep(0.05)
        first = _job(database, rid)
        assert first.status == "running" and first.attempts == 1
    finally:
        slow.send_signal(signal.SIGKILL)
        slow.wait()
    assert _results(database, rid) == 0
    second = _worker(db.url, {}, lease=1.5)
    try:
        end = time.monotonic() + 30
        while _job(database, rid).status != "done":
            assert time.monotonic() < end, "the round was not re-claimed"
            time.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
    job = _job(database, rid)
    assert job.attempts == 2 and job.worker != first.worker
    assert _results(database, rid) == 1
    database.dispose()


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # bookkeeping, not storage
def test_solver_incumbents_show_as_best_bound_and_gap(db: Db, monkeypatch: Any) -> None:
    from volmatch import matching
    from volmatch.api.service.jobs import Worker

    database, settings = store(db.url)
    rid = _add_round(database)
    seen: list[dict[str, Any]] = []
    real = matching.solve_round

    def solve_reporting(r: Any, progress: Any = None, **kw: Any) -> Any:
        progress("solve")
        progress({"stage": "solve", "objective": 90, "bound": 100})
        seen.append(dict(_job(database, rid).progress))
        return real(r, **kw)

    monkeypatch.setattr(matching, "solve_round", solve_reporting)
    assert Worker(database, settings, "W").run_once()
    mid = seen[0]
    assert (mid["stage"], mid["best_objective"], mid["bound"], mid["gap"]) == (
        "solve",
        90,
        100,
        0.1,
    )
    final = _job(database, rid).progress
    assert final["stage"] == "done" and final["gap"] == 0.0
    database.dispose()
