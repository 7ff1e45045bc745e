"""Scenario runs as durable jobs: progress, the stored comparison, a run whose worker
died taken over by another (and failed after `max_attempts`), the fencing token."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.api.service.helpers import round_doc, store
from volmatch.api.service.scenario_runs import claim, read_run, recent_runs, run_one, start_run
from volmatch.api.service.settings import Settings
from volmatch.api.service.tables import RoundRow, ScenarioRun, utcnow
from volmatch.scenarios.model import parse_scenario

RAW = {
    "name": "q",
    "variants": [{"name": "urgent", "changes": [{"policy": {"weights.priority": 400}}]}],
}


def _db(tmp_path: Path) -> object:
    db, _ = store(f"sqlite:///{tmp_path / 'runs.db'}")
    with db.write() as s:
        s.add(
            RoundRow(
                id="R1",
                name="spring",
                source="document",
                created_by="k",
                n_volunteers=5,
                n_placements=3,
                document=round_doc(),
            )
        )
    return db


def test_a_run_records_progress_and_its_comparison(tmp_path: Path) -> None:
    db = _db(tmp_path)
    scenario = parse_scenario({**RAW, "base": {"round_id": "R1"}})
    run_id = start_run(db, "R1", scenario, RAW, "k", background=False)
    with db.read() as s:
        run = read_run(s, run_id)
        assert [r.id for r in recent_runs(s)] == [run_id]
    assert run is not None and run.status == "done" and run.finished
    assert (run.done, run.total) == (2, 2)
    assert run.comparison is not None
    assert [v["name"] for v in run.comparison["variants"]] == ["urgent"]


def test_a_run_whose_worker_died_is_taken_over_and_finished(tmp_path: Path) -> None:
    db = _db(tmp_path)
    settings = Settings(lease_s=30, max_attempts=3)
    scenario = parse_scenario({**RAW, "base": {"round_id": "R1"}})
    run_id = start_run(db, "R1", scenario, RAW, "k")  # queued: no worker yet
    with db.read() as s:
        assert read_run(s, run_id).status == "queued"  # type: ignore[union-attr]
    dead = claim(db, settings, "dead-worker")
    assert dead is not None and dead.run_id == run_id and dead.attempt == 1
    # While its lease holds, nobody else takes it.
    assert run_one(db, settings, "other") is False
    with db.write() as s:  # the dead worker's lease runs out
        s.get(ScenarioRun, run_id).lease_until = utcnow() - dt.timedelta(seconds=1)  # type: ignore[union-attr]
    assert run_one(db, settings, "other") is True
    with db.read() as s:
        run = read_run(s, run_id)
        row = s.get(ScenarioRun, run_id)
        assert row is not None and row.worker == "other" and row.claim_token is None
    assert run is not None and run.status == "done" and run.attempts == 2
    assert run.comparison is not None


def test_a_run_lost_max_attempts_times_fails_saying_so(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.write() as s:
        s.add(
            ScenarioRun(
                id="X",
                round_id="R1",
                created_by="k",
                name="",
                status="running",
                progress={"done": 1, "total": 3},
                scenario=RAW,
                attempts=2,
                lease_until=utcnow() - dt.timedelta(seconds=1),
            )
        )
    assert run_one(db, Settings(max_attempts=2), "w") is False
    with db.read() as s:
        run = read_run(s, "X")
    assert run is not None and run.status == "failed" and run.finished
    assert "stopped 2 time(s)" in run.errors[0]


def test_an_erasure_reaches_the_stored_runs(tmp_path: Path) -> None:
    from volmatch.api.service.privacy import erase_volunteer

    db = _db(tmp_path)
    raw = {
        "name": "q",
        "variants": [
            {
                "name": "lock",
                "changes": [{"policy": {"locked": [{"volunteer": "V1", "placement": "P1"}]}}],
            }
        ],
    }
    scenario = parse_scenario({**raw, "base": {"round_id": "R1"}})
    run_id = start_run(db, "R1", scenario, raw, "k", background=False)
    with db.write() as s:
        out = erase_volunteer(s, "V1")
    assert out["changed"]["scenario_runs"] == 1
    with db.read() as s:
        row = s.get(ScenarioRun, run_id)
        assert row is not None
        assert '"V1"' not in json.dumps([row.scenario, row.comparison, row.error])
        assert out["pseudonym"] in json.dumps(row.scenario)


def test_a_run_left_running_before_leases_existed_is_taken_over(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with db.write() as s:
        s.add(
            ScenarioRun(
                id="old",
                round_id="R1",
                created_by="k",
                name="",
                status="running",
                progress={"done": 1, "total": 2},
                scenario=RAW,
                heartbeat_at=utcnow() - dt.timedelta(hours=1),
            )
        )
    assert run_one(db, Settings(), "w") is True
    with db.read() as s:
        run = read_run(s, "old")
    assert run is not None and run.status == "done" and run.comparison is not None


def test_a_queued_run_cancelled_is_never_claimed_and_cannot_be_cancelled_twice(
    tmp_path: Path,
) -> None:
    import pytest

    from volmatch.api.service.scenario_runs import RunFinished, cancel

    db = _db(tmp_path)
    scenario = parse_scenario({**RAW, "base": {"round_id": "R1"}})
    run_id = start_run(db, "R1", scenario, RAW, "k")
    with db.write() as s:
        run = cancel(s, run_id)
        assert cancel(s, "nope") is None
    assert run is not None and run.status == "cancelled" and run.finished
    assert run_one(db, Settings(), "w") is False  # nothing to claim
    with db.write() as s, pytest.raises(RunFinished):
        cancel(s, run_id)
    with db.read() as s:
        run = read_run(s, run_id)
    assert run is not None and run.status == "cancelled" and run.comparison is None


def test_a_running_run_cancelled_stops_at_its_next_variant_and_keeps_nothing(
    tmp_path: Path, monkeypatch: object
) -> None:
    """The worker is solving variant after variant (each slowed to `SLOW_S`); once the
    run is cancelled it stops at the next variant solved, well within a few seconds,
    and stores no comparison: the run stays cancelled."""
    import threading
    import time

    import pytest

    from volmatch.api.service.scenario_runs import cancel
    from volmatch.scenarios import runner

    slow_s = 0.3
    real = runner.run_variant
    solved: list[str] = []

    def slowly(bundle: object, variant: object, stop: object = None) -> dict[str, object]:
        time.sleep(slow_s)
        out = real(bundle, variant, stop)  # type: ignore[arg-type]
        solved.append(str(out["name"]))
        return out

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(runner, "run_variant", slowly)
    db = _db(tmp_path)
    raw = {
        "name": "long",
        "variants": [
            {"name": f"w{k}", "changes": [{"policy": {"weights.priority": 100 + k}}]}
            for k in range(40)
        ],
    }
    run_id = start_run(db, "R1", parse_scenario({**raw, "base": {"round_id": "R1"}}), raw, "k")
    worker = threading.Thread(target=run_one, args=(db, Settings(heartbeat_s=0.2), "w"))
    worker.start()
    deadline = time.monotonic() + 60
    while len(solved) < 2:
        assert time.monotonic() < deadline and worker.is_alive(), "the run did not start"
        time.sleep(0.02)
    with db.write() as s:
        cancel(s, run_id)
    t0 = time.monotonic()
    worker.join(timeout=30)
    stopped_after = time.monotonic() - t0
    assert not worker.is_alive()
    assert stopped_after < 3.0, stopped_after
    assert len(solved) < len(raw["variants"])
    with db.read() as s:
        run = read_run(s, run_id)
        row = s.get(ScenarioRun, run_id)
        assert row is not None and row.claim_token is not None  # nobody finished it
    assert run is not None and run.status == "cancelled" and run.comparison is None


def test_a_volunteer_erased_while_a_run_solves_is_not_in_its_comparison(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The run has read the round (with V2) when V2 is erased: what it stores afterwards
    names V2's pseudonym (its comparison lists V2 as moved), as a round's result stored
    after an erasure does."""
    from volmatch.api.service.privacy import erase_volunteer
    from volmatch.scenarios import runner

    db = _db(tmp_path)
    raw = {
        "name": "q",
        "variants": [
            {
                "name": "lock",
                "changes": [{"policy": {"locked": [{"volunteer": "V2", "placement": "P2"}]}}],
            }
        ],
    }
    real = runner.run_scenario
    erased: dict[str, Any] = {}

    def erase_meanwhile(*args: Any, **kw: Any) -> Any:
        with db.write() as s:  # type: ignore[attr-defined]
            erased.update(erase_volunteer(s, "V2"))
        return real(*args, **kw)

    monkeypatch.setattr(runner, "run_scenario", erase_meanwhile)
    scenario = parse_scenario({**raw, "base": {"round_id": "R1"}})
    run_id = start_run(db, "R1", scenario, raw, "k", background=False)
    with db.read() as s:  # type: ignore[attr-defined]
        row = s.get(ScenarioRun, run_id)
        assert row is not None and row.status == "done", row.error
        stored = json.dumps([row.scenario, row.comparison])
    assert '"V2"' not in stored and "Ben Okafor" not in stored
    assert erased["pseudonym"] in json.dumps(row.comparison)


def test_a_run_over_the_pair_limit_fails_saying_so(tmp_path: Path) -> None:
    from volmatch.matching.pair_limit import set_pair_limit

    db = _db(tmp_path)
    scenario = parse_scenario({**RAW, "base": {"round_id": "R1"}})
    old = set_pair_limit(1)
    try:
        run_id = start_run(db, "R1", scenario, RAW, "k", background=False)
    finally:
        set_pair_limit(old)
    with db.read() as s:
        run = read_run(s, run_id)
    assert run is not None and run.status == "failed"
    assert "over the limit of 1" in run.errors[0] and "VOLMATCH_MAX_ROUND_PAIRS" in run.errors[0]
