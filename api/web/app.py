"""`mount(app, settings)`: the web pages and their static files on the service's app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from volmatch.api.service.pool_cache import PoolCache
from volmatch.api.service.result_pages import ResultViews
from volmatch.api.service.rounds_service import PricedRounds
from volmatch.api.service.settings import Settings
from volmatch.api.service.warm import warm_rounds
from volmatch.api.web.errors import install_page_errors
from volmatch.api.web.routes import coordinator, host, offers, planner, sign_in

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the pages (outside the OpenAPI document) and `/static` to `app`."""
    del settings  # the pages read the app's settings per request (tests swap them)
    app.state.pool_cache = PoolCache()
    install_page_errors(app)
    # parsed results, shared by the page threads; a result stored without its view gets
    # one stored on its first view
    app.state.result_views = ResultViews(db=lambda: getattr(app.state, "db", None))
    # rounds priced for explanations and advice, their assignments read from the views
    # and shared with the advice pages' warm rounds (one build per round and process)
    app.state.priced_rounds = PricedRounds(
        views=app.state.result_views, warm=lambda: warm_rounds(app)
    )
    for module in (sign_in, host, coordinator, offers, planner):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
