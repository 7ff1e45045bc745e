"""Planner pages: pick a stored round, edit a what-if scenario (YAML with line-numbered
errors, and a form for the common changes that writes the same YAML), run it as a job
with progress, and compare the variants side by side (KPI table with changes against
the base, the charts, who moved and why).

Scenarios are parsed by `volmatch.scenarios` and run by `api.service.scenario_runs`:
the same code as `volmatch whatif` and `POST /rounds/{id}/scenarios`.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Path, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response, StreamingResponse

from volmatch.api.service.deps import DbDep, ReadSession, WriteSession
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.scenario_runs import (
    RunFinished,
    cancel,
    progress_events,
    read_run,
    recent_runs,
    start_run,
)
from volmatch.api.service.tables import RoundRow
from volmatch.api.web.deps import PageForm, PlannerPage
from volmatch.api.web.error_text import N_, localize, localize_scenario_error
from volmatch.api.web.errors import PageNotFound
from volmatch.api.web.i18n import page_language, translator
from volmatch.api.web.planner_form import BUILDERS, LEVELS, WEIGHTS, FormErrors, add_entry
from volmatch.api.web.reason_text import reason_texts
from volmatch.api.web.render import render
from volmatch.scenarios.charts import (
    CHART_KPIS,
    figure_bytes,
    format_value,
    kpi_figure,
    kpi_panels,
    sweep_figure,
)
from volmatch.scenarios.compare import MOVE_KINDS, Comparison
from volmatch.scenarios.source import LineError, ScenarioTextError, parse_scenario_text

router = APIRouter(route_class=CommitRoute, include_in_schema=False)

ROUNDS_LISTED = 50
"""Stored rounds offered on the start page (newest first)."""
MOVES_SHOWN = 50
"""Moves listed per variant on the comparison page (all are in the run's JSON)."""
REFRESH_S = 2
"""How often a running scenario's page reloads itself when scripts are off (with
scripts, the progress bar follows the run's server-sent events)."""
MAX_VARIANTS = 60
"""Variants one page run may solve (larger sweeps: `volmatch whatif` with workers)."""

ENGINE_WORDS = (
    N_("objective (total score)"),
    N_("volunteers placed"),
    N_("slots filled"),
    N_("urgent slots filled"),
    N_("mean score of a placement"),
    N_("preference rank achieved (lower is better)"),
    N_("moved"),
    N_("newly matched"),
    N_("newly unmatched"),
    N_("added"),
    N_("removed"),
    N_("optimal"),
    N_("feasible"),
    N_("infeasible"),
    N_("invalid"),
)
"""What the run page translates but the scenario engine words (its key figures, the
kinds of move, a variant's status): marked here so that pybabel extracts them (a test
checks that every key figure and move kind is one of them)."""

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.:-]+$")]

STARTER = """\
name: {name}
description: What if urgent needs weighed double?
seed: 7
variants:
  - name: urgent-double
    description: Urgent needs weighted double
    changes:
      - policy: {{weights.priority: 400}}
"""


def _round(session: Any, round_id: str) -> RoundRow:
    row = session.get(RoundRow, round_id)
    if row is None:
        raise PageNotFound
    return row


@router.get("/planner")
def start(request: Request, user: PlannerPage, session: ReadSession) -> Response:
    rounds = list(
        session.scalars(select(RoundRow).order_by(RoundRow.created_at.desc()).limit(ROUNDS_LISTED))
    )
    return render(
        request, "planner/index.html", user=user, rounds=rounds, runs=recent_runs(session)
    )


def _editor(
    request: Request,
    user: Any,
    row: RoundRow,
    text: str,
    *,
    status: int = 200,
    line_errors: list[Any] | None = None,
    form_errors: dict[str, str] | None = None,
    form: Any = None,
    checked: int | None = None,
) -> Response:
    lines = text.splitlines()
    said = translator(page_language(request)).gettext
    shown = [
        {
            "line": e.line,
            "message": localize_scenario_error(e.message, said),
            "source": lines[e.line - 1] if e.line and 0 < e.line <= len(lines) else "",
        }
        for e in (line_errors or [])
    ]
    return render(
        request,
        "planner/editor.html",
        user=user,
        status=status,
        round=row,
        text=text,
        line_errors=shown,
        form_errors=form_errors or {},
        form=form or {},
        checked=checked,
        levels=LEVELS,
        weights=WEIGHTS,
    )


@router.get("/planner/rounds/{round_id}")
def editor(request: Request, round_id: Id, user: PlannerPage, session: ReadSession) -> Response:
    row = _round(session, round_id)
    name = f"What if, on {row.name or row.id}".replace(":", " ")
    return _editor(request, user, row, STARTER.format(name=name))


@router.post("/planner/rounds/{round_id}")
def editor_post(
    request: Request, round_id: Id, user: PlannerPage, form: PageForm, session: ReadSession
) -> Response:
    """One form, several buttons: check, run, or add a common change to the YAML."""
    row = _round(session, round_id)
    text = str(form.get("scenario", "")).replace("\r\n", "\n")
    action = str(form.get("action", "check"))
    if action in BUILDERS:
        section, build = BUILDERS[action]
        said = translator(page_language(request)).gettext
        try:
            text = add_entry(text, section, build(form, row.document, said))
        except FormErrors as exc:
            errors = {k: localize(v, said) for k, v in exc.errors.items()}
            return _editor(request, user, row, text, status=422, form_errors=errors, form=form)
        return _editor(request, user, row, text)
    try:
        scenario = parse_scenario_text(text, row.id)
    except ScenarioTextError as exc:
        return _editor(request, user, row, text, status=422, line_errors=exc.errors)
    if len(scenario.variants) > MAX_VARIANTS:
        return _editor(
            request,
            user,
            row,
            text,
            status=422,
            line_errors=[
                LineError(
                    None,
                    f"{len(scenario.variants)} variants; a page runs at most {MAX_VARIANTS} "
                    "(use volmatch whatif for larger sweeps)",
                )
            ],
        )
    if action != "run":
        return _editor(request, user, row, text, checked=len(scenario.variants))
    raw = yaml.safe_load(text) or {}
    run_id = start_run(request.app.state.db, row.id, scenario, {**raw, "text": text}, user.key_id)
    return RedirectResponse(f"/planner/runs/{run_id}", status_code=303)


def _kpi_rows(cmp: Comparison) -> list[dict[str, Any]]:
    panels = kpi_panels(cmp)
    rows: list[dict[str, Any]] = [
        {
            "name": "base",
            "status": cmp.base["status"],
            "solved": bool(cmp.base["kpis"]),
            "cells": [{"value": p.base_label, "change": "", "verdict": ""} for p in panels],
        }
    ]
    for i, v in enumerate(cmp.variants):
        rows.append(
            {
                "name": v["name"],
                "status": v["status"],
                "solved": bool(v["kpis"]),
                "cells": [
                    {
                        "value": format_value(p.kpi, p.bars[i].value),
                        "change": p.bars[i].label if p.bars[i].delta else "",
                        "verdict": p.bars[i].verdict,
                    }
                    for p in panels
                ],
            }
        )
    return rows


@router.get("/planner/runs/{run_id}")
def run_page(request: Request, run_id: Id, user: PlannerPage, session: ReadSession) -> Response:
    run = read_run(session, run_id)
    if run is None:
        raise PageNotFound
    lang = page_language(request)
    ctx: dict[str, Any] = {
        "run": run,
        "refresh": None if run.finished else REFRESH_S,
        "scenario_error": lambda text: localize_scenario_error(text, translator(lang).gettext),
    }
    if run.comparison is not None:
        cmp = Comparison.from_dict(run.comparison)
        ctx |= {
            "cmp": cmp,
            "kpis": CHART_KPIS,
            "rows": _kpi_rows(cmp),
            "move_kinds": MOVE_KINDS,
            "moves_shown": MOVES_SHOWN,
            "reasons": lambda items: reason_texts(items, lang),
        }
    return render(request, "planner/run.html", user=user, **ctx)


@router.post("/planner/runs/{run_id}/cancel")
def cancel_run(
    request: Request, run_id: Id, user: PlannerPage, form: PageForm, session: WriteSession
) -> Response:
    """Cancel a queued or running run, as `DELETE /scenario-runs/{id}`; a run that has
    finished meanwhile is left as it is (its page says how it ended)."""
    del request, user, form
    try:
        if cancel(session, run_id) is None:
            raise PageNotFound
    except RunFinished:
        session.rollback()
    return RedirectResponse(f"/planner/runs/{run_id}", status_code=303)


@router.get("/planner/runs/{run_id}/events")
def run_events(request: Request, run_id: Id, user: PlannerPage, db: DbDep) -> Response:
    """The run's progress as server-sent events, for the progress bar."""
    del user
    with db.read() as session:
        if read_run(session, run_id) is None:
            raise PageNotFound
    return StreamingResponse(
        progress_events(db, run_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/planner/runs/{run_id}/charts/{chart}.png")
def run_chart(
    request: Request,
    run_id: Id,
    chart: Annotated[str, Path(max_length=80)],
    user: PlannerPage,
    session: ReadSession,
) -> Response:
    """The run's KPI chart (`kpis`) or a sweep's (`sweep-<name>`), as PNG, in the page's
    language (the page asks with `?lang=`, so a cached chart is never the other one)."""
    del user
    gettext = translator(page_language(request)).gettext
    run = read_run(session, run_id)
    if run is None or run.comparison is None:
        raise PageNotFound
    cmp = Comparison.from_dict(run.comparison)
    if chart == "kpis" and cmp.variants:
        fig = kpi_figure(cmp, gettext)
    else:
        sweeps = [s for s in cmp.sweeps if f"sweep-{s['name']}" == chart]
        if not sweeps:
            raise PageNotFound
        fig = sweep_figure(cmp, sweeps[0], gettext)
    return Response(
        figure_bytes(fig, "png"),
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )
