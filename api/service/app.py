"""The FastAPI application: `create_app(settings)`; the database is migrated and the
embedded worker started when the app starts, and stopped when it stops."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from volmatch.api.service.db import make_engine, migrate, session_factory
from volmatch.api.service.errors import install_error_handlers
from volmatch.api.service.jobs import Worker
from volmatch.api.service.logs import get_logger, setup_logging
from volmatch.api.service.middleware import ServiceMiddleware
from volmatch.api.service.routers import assignments, hosts, placements, rounds, volunteers
from volmatch.api.service.schemas import ERROR_RESPONSES
from volmatch.api.service.settings import Settings

log = get_logger("app")

DESCRIPTION = """\
Volunteer-to-placement matching as a service. Host partners submit their needs
(placements); coordinators load the pool, launch rounds and publish results; planners
read results and launch what-if variants. Authenticate with `Authorization: Bearer <key>`
(keys from `volmatch keys create`). Rounds are durable jobs: `POST /rounds` answers at
once, `GET /rounds/{id}` (or its `/events` stream) shows progress.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    setup_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Read from the state, not the closure, so a test may swap settings before start.
        settings: Settings = app.state.settings
        engine = make_engine(settings.db_url)
        migrate(engine)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        stop = threading.Event()
        thread: threading.Thread | None = None
        if settings.embedded_worker:
            worker = Worker(app.state.sessions, settings)
            thread = threading.Thread(target=worker.run, args=(stop,), daemon=True,
                                      name="volmatch-worker")
            thread.start()
        log.info("service started", extra={"backend": engine.dialect.name,
                                           "embedded_worker": settings.embedded_worker})
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=settings.heartbeat_s + 10)
            engine.dispose()

    app = FastAPI(
        title="volmatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(ServiceMiddleware)

    @app.get("/health", tags=["service"], summary="Liveness (no key needed)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    for module in (hosts, placements, volunteers, rounds, assignments):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    return app
