"""The FastAPI application: `create_app(settings)`. When the app starts, the database is
migrated, the endpoint thread pool is sized, the embedded worker, the housekeeping
thread and the runner of pending backfill proposals start; when it stops (SIGTERM),
event streams end, the threads stop and the noted key uses are written."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from volmatch.api.service import idempotency
from volmatch.api.service.advice import prewarm_current, prewarm_round, watch_results
from volmatch.api.service.auth import KeyUsage, VerifiedKeys
from volmatch.api.service.db import Database, database_for, migrate
from volmatch.api.service.errors import install_error_handlers
from volmatch.api.service.jobs import Worker
from volmatch.api.service.lifecycle.pending import BackfillRunner
from volmatch.api.service.lifecycle.wakeup import wake as wake_backfills
from volmatch.api.service.logs import get_logger, setup_logging
from volmatch.api.service.middleware import ServiceMiddleware
from volmatch.api.service.openapi import service_openapi
from volmatch.api.service.query_params import reject_unknown_query
from volmatch.api.service.result_pages import build_missing_views
from volmatch.api.service.routers import (
    advice,
    assignments,
    backfills,
    hosts,
    keys,
    offer_links,
    offers,
    outcomes,
    placements,
    reminders,
    report,
    rounds,
    scenario_runs,
    volunteers,
)
from volmatch.api.service.routing import Admission
from volmatch.api.service.schemas import ERROR_RESPONSES
from volmatch.api.service.settings import Settings
from volmatch.api.service.warm import WarmRounds, warm_rounds
from volmatch.matching.pair_limit import set_pair_limit

log = get_logger("app")

DESCRIPTION = """\
Volunteer-to-placement matching as a service. Host partners submit their needs
(placements); coordinators load the pool, launch rounds and publish results; planners
read results and launch what-if variants. Authenticate with `Authorization: Bearer <key>`
(keys from `volmatch keys create` or `POST /keys`). Rounds are durable jobs: `POST
/rounds` answers at once, `GET /rounds/{id}` (or its `/events` stream) shows progress.
Every 2xx is sent after its data is committed.
"""

WORKER_STOP_S = 3.0
"""On shutdown, how long to wait for the embedded worker to finish its current step; a
solve still running after that is abandoned and re-claimed after its lease by any worker."""


def _housekeeping(db: Database, settings: Settings, usage: KeyUsage, stop: threading.Event) -> None:
    """Every `key_touch_s`: write the keys' last-use times, purge expired idempotency
    records, web sessions and sign-in links. Errors are logged by type and retried at
    the next round."""
    from volmatch.api.web.session import purge_sessions

    while True:
        stopped = stop.wait(settings.key_touch_s)
        try:
            with db.write() as session:
                usage.flush(session)
                if not stopped:
                    idempotency.purge(session, settings.idempotency_ttl_h)
                    purge_sessions(session)
        except Exception as exc:
            log.warning("housekeeping failed", extra={"exc_type": type(exc).__name__})
        if stopped:
            return


def _lifecycle_ticks(db: Database, settings: Settings, stop: threading.Event) -> None:
    """Every `lifecycle_tick_s`: expire overdue offers, queue due reminders, e-mail the
    outbox when an SMTP server is configured. Errors are logged by type only."""
    from volmatch.api.service.lifecycle.mail import send_pending
    from volmatch.api.service.lifecycle.reminders import tick

    while not stop.wait(settings.lifecycle_tick_s):
        try:
            with db.write() as session:
                tick(session)
            if settings.smtp_host:
                with db.write() as session:
                    send_pending(session, settings)
        except Exception as exc:
            log.warning("lifecycle tick failed", extra={"exc_type": type(exc).__name__})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Read from the state, not the closure, so a test may swap settings before start.
        settings: Settings = app.state.settings
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        # process-wide (every preparation reads it); put back at stop for the next app
        outer_pair_limit = set_pair_limit(settings.max_round_pairs)
        db = database_for(settings)
        migrate(db)
        app.state.db = db
        app.state.admission = Admission.for_threads(settings.http_threads, settings.queue_wait_s)
        app.state.stopping = threading.Event()
        usage = KeyUsage()
        app.state.key_usage = usage
        app.state.verified_keys = VerifiedKeys()
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_housekeeping,
                args=(db, settings, usage, stop),
                daemon=True,
                name="volmatch-housekeeping",
            )
        ]
        threads.append(
            threading.Thread(
                target=_lifecycle_ticks,
                args=(db, settings, stop),
                daemon=True,
                name="volmatch-lifecycle",
            )
        )
        threads.append(
            threading.Thread(
                target=BackfillRunner(
                    db, settings.backfill_sweep_s, settings.backfill_test_delay_s
                ).run,
                args=(stop,),
                daemon=True,
                name="volmatch-backfills",
            )
        )
        if settings.embedded_worker:
            # a stored result's advice is warmed in the background, not by its first asker
            # from the round the worker prepared and solved: no second preparation
            worker = Worker(
                db,
                settings,
                on_stored=lambda rid, solved: prewarm_round(db, warm_rounds(app), rid, solved),
            )
            threads.append(
                threading.Thread(
                    target=worker.run, args=(stop,), daemon=True, name="volmatch-worker"
                )
            )
        elif settings.results_watch_s > 0:
            # rounds solved by another process: their results are warmed once seen
            threads.append(
                threading.Thread(
                    target=watch_results,
                    args=(db, warm_rounds(app), stop, settings.results_watch_s),
                    daemon=True,
                    name="volmatch-results-watch",
                )
            )
        if settings.views_built_at_start > 0:
            # results stored without a paging view: parsed now, not by their first viewer
            threads.append(
                threading.Thread(
                    target=build_missing_views,
                    args=(db, stop, settings.views_built_at_start),
                    daemon=True,
                    name="volmatch-views",
                )
            )
        for t in threads:
            t.start()
        # the pages' eligible counts: built now, not by the first host to look
        prewarm_current(db, warm_rounds(app), app.state.pool_cache)
        from volmatch.api.web.render import warm

        # not joined: a stop need not wait for it
        threading.Thread(target=warm, daemon=True, name="volmatch-templates").start()
        log.info(
            "service started",
            extra={"backend": db.dialect, "embedded_worker": settings.embedded_worker},
        )
        try:
            yield
        finally:
            set_pair_limit(outer_pair_limit)
            app.state.stopping.set()
            stop.set()
            wake_backfills()  # the runner waits for a commit or its sweep
            for t in threads:
                t.join(timeout=WORKER_STOP_S)
            warm_rounds(app).stop(timeout=WORKER_STOP_S)
            app.state.pool_cache.stop(timeout=WORKER_STOP_S)
            db.dispose()
            log.info("service stopped")

    app = FastAPI(
        title="volmatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.warm = WarmRounds()
    app.state.stopping = threading.Event()
    install_error_handlers(app)
    app.add_middleware(ServiceMiddleware)

    @app.get("/health", tags=["service"], summary="Liveness (no key needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # `offers` before `offer_links`: /offers/{id:int} is tried before /offers/{token}.
    for module in (
        hosts,
        keys,
        advice,
        placements,
        volunteers,
        rounds,
        assignments,
        offers,
        offer_links,
        backfills,
        outcomes,
        reminders,
        report,
        scenario_runs,
    ):
        app.include_router(
            module.router,
            responses=ERROR_RESPONSES,
            dependencies=[Depends(reject_unknown_query)],
        )

    # The web pages import the service's modules: imported here, not at the top, so
    # that importing `volmatch.api.web` first does not meet a half-built package.
    from volmatch.api.web.app import mount

    mount(app, settings)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = service_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
