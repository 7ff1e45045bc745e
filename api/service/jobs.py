"""Rounds as durable jobs: a worker claims a queued job (or one whose lease expired),
renews its lease with a heartbeat while solving, and stores the result under a fencing
token, so that a worker killed mid-solve loses nothing and no result is stored twice.

Claiming is `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite every write
transaction starts with `BEGIN IMMEDIATE` (see `db.py`), which serialises claims.

A volunteer erased while their round is being solved is pseudonymised in the result
too: the worker stores the result in a transaction that locks the round and compares
the round's document with the one it solved; ids that were pseudonymised meanwhile are
rewritten in the result before it is stored (`privacy.erased_since`).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from volmatch.api.service import scenario_runs
from volmatch.api.service.db import Database
from volmatch.api.service.heartbeat import Held, beat
from volmatch.api.service.logs import get_logger, job_id
from volmatch.api.service.privacy import erased_since, scrub_ids
from volmatch.api.service.settings import Settings
from volmatch.api.service.tables import Job, ResultRow, RoundRow, utcnow
from volmatch.matching.stop import Stopped
from volmatch.models import InfeasibleRound, InvalidRound, Result, Round, parse_round

log = get_logger("jobs")

TERMINAL = frozenset({"done", "failed", "cancelled"})


PROGRESS_QUIET_S = 0.5
"""A round's stages are written to its job row only once it has run this long: a small
round passes all of them in tens of milliseconds, and a write per stage (each a turn at
SQLite's one writer) cost a quarter of its CPU under load and made the API's writes
queue behind it. Its last stage list is stored with its outcome; the heartbeat renews
the lease with the progress as it stands (the stage and its elapsed time, for the
progress bar of a solve that spends a minute in one stage), and notices a cancellation
or a lost lease meanwhile."""


class Cancelled(Exception):
    """The coordinator cancelled the round while it was being solved."""


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired): drop our work."""


def new_job(session: Session, round_id: str) -> Job:
    job = Job(
        round_id=round_id,
        status="queued",
        progress={"stage": "queued"},
        attempts=0,
        cancel_requested=False,
    )
    session.add(job)
    return job


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def gap(objective: int | None, bound: int | None) -> float | None:
    """Relative gap between the best objective found and the proven bound."""
    if objective is None or bound is None:
        return None
    return round(abs(bound - objective) / max(1, abs(bound)), 6)


@dataclass(frozen=True)
class Solved:
    """What a stored result was solved from, as the worker had it: the prepared round
    (`matching.Prepared`), the chosen pair indices, the result's status and mode, and
    the erasures mark at the commit (the result is exactly this only while it holds)."""

    prep: Any
    chosen: Any
    status: str
    mode: str
    mark: tuple[int, str]


@dataclass
class Claim:
    round_id: str
    token: str
    attempt: int


class Worker:
    """Claims and solves jobs until stopped; several may share one database."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        name: str | None = None,
        on_stored: Callable[[str, Solved | None], None] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.name = name or worker_name()
        self.on_stored = on_stored
        """Called with a round's id once its result is committed, and what it was solved
        from where the stored result is exactly what was solved (the service warms the
        round's explanations and advice from it in the background)."""

    # -- claiming ---------------------------------------------------------------------

    def claim(self) -> Claim | None:
        """Take the oldest claimable job, or None when there is none."""
        s = self.settings
        while True:
            now = utcnow()
            with self.db.write() as session:
                q = (
                    select(Job)
                    .where(
                        or_(
                            Job.status == "queued",
                            and_(Job.status == "running", Job.lease_until < now),
                        )
                    )
                    .order_by(Job.created_at, Job.round_id)
                    .limit(1)
                )
                if session.bind is not None and session.bind.dialect.name == "postgresql":
                    q = q.with_for_update(skip_locked=True)
                job = session.execute(q).scalar_one_or_none()
                if job is None:
                    return None
                if job.cancel_requested:
                    job.status, job.finished_at, job.lease_until = "cancelled", now, None
                    job.progress = {**job.progress, "stage": "cancelled"}
                    continue
                if job.status == "running":
                    log.warning(
                        "lease expired; re-claiming",
                        extra={
                            "round": job.round_id,
                            "previous_worker": job.worker,
                            "attempts": job.attempts,
                        },
                    )
                if job.attempts >= s.max_attempts:
                    job.status, job.finished_at, job.lease_until = "failed", now, None
                    job.error = {
                        "kind": "worker_lost",
                        "detail": f"the worker solving this round stopped {job.attempts} "
                        "time(s) without finishing; not retried",
                    }
                    continue
                token = uuid.uuid4().hex
                job.status = "running"
                job.attempts += 1
                job.worker = self.name
                job.claim_token = token
                job.lease_until = now + dt.timedelta(seconds=s.lease_s)
                job.heartbeat_at = now
                job.started_at = job.started_at or now
                job.progress = {"stage": "claimed", "attempt": job.attempts, "worker": self.name}
                return Claim(job.round_id, token, job.attempts)

    # -- lease ------------------------------------------------------------------------

    def _renew(self, claim: Claim, progress: dict[str, Any] | None = None) -> bool:
        """Extend the lease (and store progress); False once the job is no longer ours.
        Raises `Cancelled` when the round was cancelled meanwhile."""
        now = utcnow()
        values: dict[str, Any] = {
            "lease_until": now + dt.timedelta(seconds=self.settings.lease_s),
            "heartbeat_at": now,
        }
        if progress is not None:
            values["progress"] = progress
        with self.db.write() as session:
            res = session.execute(
                update(Job)
                .where(
                    Job.round_id == claim.round_id,
                    Job.claim_token == claim.token,
                    Job.status == "running",
                )
                .values(**values)
                .returning(Job.cancel_requested)
            ).first()
        if res is None:
            return False
        if res[0]:
            raise Cancelled
        return True

    def _cancel_requested(self, claim: Claim) -> bool:
        """Whether the round was cancelled (a read: the heartbeat looks often)."""
        with self.db.read() as session:
            return bool(
                session.scalar(select(Job.cancel_requested).where(Job.round_id == claim.round_id))
            )

    def _heartbeat(
        self,
        claim: Claim,
        done: threading.Event,
        held: Held,
        state: Callable[[], dict[str, Any] | None],
    ) -> None:
        """Renew the lease with the progress as it stands (`state`): a solve spends
        most of its time in one stage, whose elapsed time the progress bar shows."""
        job_id.set(claim.round_id)

        def renew() -> bool:
            try:
                return self._renew(claim, state())
            except Cancelled:
                return False  # (`beat` then sees the cancel itself)

        beat(self.settings, renew, lambda: self._cancel_requested(claim), done, held)

    # -- solving ----------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and solve one job; False when there was nothing to do."""
        claim = self.claim()
        if claim is None:
            return False
        token = job_id.set(claim.round_id)
        try:
            self._solve(claim)
        finally:
            job_id.reset(token)
        return True

    def run(self, stop: threading.Event) -> None:
        log.info("worker started", extra={"worker": self.name})
        while not stop.is_set():
            try:
                # Rounds first (people wait on them), then what-if scenario runs.
                busy = self.run_once() or scenario_runs.run_one(self.db, self.settings, self.name)
            except Exception as exc:  # keep the worker alive through database outages
                log.error("worker loop error", extra={"exc_type": type(exc).__name__})
                busy = False
            if not busy:
                stop.wait(self.settings.poll_s)
        log.info("worker stopped", extra={"worker": self.name})

    def _with_outcome_kpis(self, r: Round, result: Result) -> Result:
        """The result with the hosts' completion rates of the recorded outcomes in its
        KPIs (`policy.host_reliability_kpi`; `matching.lifecycle.outcome_kpis`)."""
        from volmatch.api.service.lifecycle.outcomes import stored_outcomes
        from volmatch.matching.lifecycle import with_outcome_kpis

        with self.db.read() as session:
            outs = stored_outcomes(session)
        return with_outcome_kpis(result, r, outs)

    def _solve(self, claim: Claim) -> None:
        from volmatch.matching import solve_round

        started = time.perf_counter()
        log.info("solving", extra={"worker": self.name, "attempt": claim.attempt})
        with self.db.read() as session:
            row = session.get(RoundRow, claim.round_id)
            document = row.document if row is not None else None
        done, held = threading.Event(), Held()
        lost = held.lost
        stages: list[str] = []
        best: dict[str, Any] = {"best_objective": None, "bound": None, "gap": None}
        last_incumbent = [float("-inf")]

        def state() -> dict[str, Any] | None:
            """The progress as it stands (None before the first stage)."""
            if not stages:
                return None
            return {
                "stage": stages[-1],
                "stages_done": stages[:-1],
                "elapsed_s": round(time.perf_counter() - started, 3),
                "attempt": claim.attempt,
                **best,
            }

        heart = threading.Thread(
            target=self._heartbeat,
            args=(claim, done, held, state),
            daemon=True,
            name="heartbeat",
        )
        heart.start()

        def progress(event: str | Mapping[str, Any]) -> None:
            # Stage names today; a solver reporting incumbents may pass a mapping like
            # {"stage": "solve", "objective": 123, "bound": 130}: kept as best/bound/gap.
            if lost.is_set():
                raise LeaseLost
            if held.cancelled.is_set():
                raise Cancelled
            if isinstance(event, Mapping):
                stage = str(event.get("stage", stages[-1] if stages else "solve"))
                if event.get("objective") is not None:
                    best["best_objective"] = int(event["objective"])
                if event.get("bound") is not None:
                    best["bound"] = int(event["bound"])
                best["gap"] = gap(best["best_objective"], best["bound"])
                new_stage = not stages or stages[-1] != stage
                if not new_stage and time.monotonic() - last_incumbent[0] < 0.5:
                    return  # incumbents can arrive many times a second: throttle writes
                last_incumbent[0] = time.monotonic()
            else:
                stage = event
            entered = not stages or stages[-1] != stage
            if entered:
                stages.append(stage)
            delay = entered and stage == "solve" and self.settings.worker_test_delay_s > 0
            write = (
                isinstance(event, Mapping)
                or delay
                or (time.perf_counter() - started >= PROGRESS_QUIET_S)
            )
            if write and not self._renew(claim, state()):
                raise LeaseLost
            if delay:
                self._test_delay(held)

        try:
            if document is None:
                raise LeaseLost
            r = parse_round(document)
            kept: list[tuple[Any, Any]] = []
            result = solve_round(
                r, progress=progress, keep=lambda *pair: kept.append(pair), stop=held.stop
            )
            if r.policy.host_reliability_kpi:
                result = self._with_outcome_kpis(r, result)
            self._finish(
                claim,
                "done",
                result=result.model_dump(mode="json"),
                started=started,
                solved=document,
                stages=stages,
                prepared=kept[0] if kept else None,
            )
        except (Cancelled, Stopped):
            if held.cancelled.is_set() or not held.lost.is_set():
                # stopped mid-solve (or at a stage) by the cancel: the job's row says so
                self._finish(claim, "cancelled", started=started)
                log.info("round cancelled; solve stopped", extra={"worker": self.name})
            else:
                log.warning("lease lost; solve stopped", extra={"worker": self.name})
        except LeaseLost:
            log.warning("lease lost; result dropped", extra={"worker": self.name})
        except InfeasibleRound as exc:
            self._finish(
                claim,
                "failed",
                started=started,
                solved=document,
                error={
                    "kind": "infeasible",
                    "detail": f"round cannot be solved: {len(exc.conflicts)} conflict(s)",
                    "conflicts": [c.as_dict() for c in exc.conflicts],
                },
            )
        except InvalidRound as exc:
            self._finish(
                claim,
                "failed",
                started=started,
                solved=document,
                error={
                    "kind": "invalid",
                    "detail": f"invalid round: {len(exc.errors)} error(s)",
                    "errors": [e.as_dict() for e in exc.errors],
                },
            )
        except Exception as exc:
            log.error("solve failed", extra={"exc_type": type(exc).__name__})
            # The type only: an exception's text may quote a record (a name).
            self._finish(
                claim,
                "failed",
                started=started,
                error={
                    "kind": "error",
                    "detail": f"{type(exc).__name__} while solving; the worker's log has the "
                    "job id",
                },
            )
        finally:
            done.set()
            heart.join(timeout=self.settings.heartbeat_s + 5)

    def _test_delay(self, held: Held) -> None:
        end = time.monotonic() + self.settings.worker_test_delay_s
        while time.monotonic() < end:
            if held.lost.wait(0.05):
                raise LeaseLost
            if held.cancelled.is_set():
                raise Cancelled

    def _finish(
        self,
        claim: Claim,
        status: str,
        *,
        started: float,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        solved: dict[str, Any] | None = None,
        stages: list[str] | None = None,
        prepared: tuple[Any, Any] | None = None,
    ) -> None:
        """Store the outcome, only while the job is still ours (the fencing token), with
        the ids of volunteers erased since `solved` was read pseudonymised. `prepared`:
        the prepared round and solution the result was built from, handed to `on_stored`
        with the erasures mark of the commit unless an erasure renamed ids meanwhile."""
        from volmatch.api.service.result_pages import erasures_mark, view_row
        from volmatch.api.service.result_pairs import pairs_row

        handover: Solved | None = None

        # The paging view is laid out before the write transaction (a second at 50,000
        # volunteers), again inside only if an erasure renamed ids meanwhile.
        view = (
            view_row(claim.round_id, result, solved)
            if result is not None and solved is not None
            else None
        )
        # What explaining the round needs besides its document (its pairs and scores),
        # written beside the result unless an erasure renamed ids meanwhile.
        pairs = (
            pairs_row(
                claim.round_id,
                prepared[0],
                prepared[1].chosen,
                str(result["status"]),
                str(result["mode"]),
            )
            if prepared is not None and result is not None
            else None
        )
        now = utcnow()
        with self.db.write() as session:
            pg = session.get_bind().dialect.name == "postgresql"
            # Lock the round first (an erasure rewrites it under the same lock), then
            # the job: both orders of "erase" and "store" end pseudonymised.
            rq = select(RoundRow).where(RoundRow.id == claim.round_id)
            q = select(Job).where(Job.round_id == claim.round_id)
            if pg:
                rq, q = rq.with_for_update(), q.with_for_update()
            current = session.execute(rq).scalar_one_or_none()
            job = session.execute(q).scalar_one_or_none()
            if solved is not None and current is not None:
                renamed = erased_since(solved, current.document)
                if prepared is not None and result is not None and not renamed:
                    handover = Solved(
                        prepared[0],
                        prepared[1].chosen,
                        str(result["status"]),
                        str(result["mode"]),
                        erasures_mark(session),
                    )
                if renamed:
                    pairs = None
                    result = scrub_ids(result, renamed) if result is not None else None
                    error = scrub_ids(error, renamed) if error is not None else None
                    view = (
                        view_row(claim.round_id, result, current.document)
                        if result is not None
                        else None
                    )
                    log.info("erasures applied to the result", extra={"erased": len(renamed)})
            if job is None or job.claim_token != claim.token or job.status != "running":
                log.warning("job taken over before finishing; outcome dropped")
                return
            if status == "done" and job.cancel_requested:
                status, result = "cancelled", None
            progress = dict(job.progress)
            progress["stage"] = status
            if stages:
                progress["stages_done"] = list(stages)
            progress["elapsed_s"] = round(time.perf_counter() - started, 3)
            stored = result is not None
            if result is not None:
                session.add(ResultRow(round_id=claim.round_id, result=result, worker=self.name))
                if view is not None or pairs is not None:
                    session.flush()  # the view's and pairs' rows refer to the result's
                if view is not None:
                    session.add(view)
                if pairs is not None:
                    session.add(pairs)
                progress.update(
                    best_objective=result["objective"],
                    bound=result["bound"],
                    gap=gap(result["objective"], result["bound"]),
                    result_status=result["status"],
                )
            job.status, job.progress, job.error = status, progress, error
            job.finished_at, job.lease_until, job.claim_token = now, None, None
        log.info(
            "job finished",
            extra={"status": status, "worker": self.name, "seconds": progress["elapsed_s"]},
        )
        if stored and self.on_stored is not None:
            self.on_stored(claim.round_id, handover)
