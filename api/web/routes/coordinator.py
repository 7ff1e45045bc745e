"""Coordinator pages: the dashboard, the pool upload, running a round (policy form, live
progress, cancel), its result (key figures, the assignments table paged on the server,
unplaced volunteers and open slots with their reasons, moves), explaining a pair,
locking or forbidding pairs and re-running with a move limit, publishing, the result
workbook, and advice for a need.

Everything goes through the service functions the API uses (`pool`, `rounds_service`,
`result_pages`): the pages hold no rules of their own. Errors come back as the API's
field errors, shown beside the inputs or in a table by sheet, row and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from volmatch.api.service.advice import (
    NO_RESULT,
    PAIR_LIMIT_STATUS,
    base_ready,
    build_base,
    placement_recommendations,
    pool_feasibility,
    stored_need,
)
from volmatch.api.service.deps import DbDep, ReadSession, SettingsDep, WriteSession
from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.publish import ready_reserves
from volmatch.api.service.pool import read_pool, store_pool
from volmatch.api.service.queries import latest_publication, published_assignments
from volmatch.api.service.result_pages import AssignmentQuery, ResultView, ResultViews
from volmatch.api.service.rounds_service import (
    cancel,
    explain_round,
    is_published,
    progress_events,
    publish,
    rerun,
    round_header,
    round_policy,
    snapshot,
    store_round,
    visible_round,
)
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import RoundCreate
from volmatch.api.service.tables import Job, PlacementRow, Publication, RoundRow, VolunteerRow
from volmatch.api.service.warm import warm_rounds
from volmatch.api.web.deps import CoordinatorPage, PageForm
from volmatch.api.web.error_text import N_, localize, localize_item
from volmatch.api.web.errors import PageNotFound
from volmatch.api.web.i18n import page_language, translator
from volmatch.api.web.reason_text import reason_texts
from volmatch.api.web.render import render
from volmatch.models import ErrorItem, InvalidRound, Policy, parse_round

router = APIRouter(route_class=CommitRoute, include_in_schema=False)

ROUND_ID = re.compile(r"^[0-9a-f]{32}$")
PAIR = re.compile(r"^([A-Za-z0-9_.-]{1,64}):([A-Za-z0-9_.-]{1,64})$")
RECENT_ROUNDS = 15
"""Rounds the dashboard lists: the current season's, newest first."""
SIDE_PER_PAGE = 20
"""Unplaced volunteers and open slots per page: each row carries several reasons."""
EXPLAIN_ROWS = 40
"""Placements an explanation lists per kind (eligible, not eligible): the closest first."""
ADVICE_ROWS = 50
"""Recommended volunteers an advice page lists: the least costly first."""
WEIGHTS = ("placed", "skills", "languages", "preference", "ranking", "priority")


def _views(request: Request) -> ResultViews:
    views: ResultViews = request.app.state.result_views
    return views


def _round_id(value: str) -> str:
    if not ROUND_ID.match(value):
        raise PageNotFound
    return value


def _visible(session: Session, round_id: str, user: Any) -> tuple[RoundRow, Job]:
    try:
        return visible_round(session, _round_id(round_id), user.principal)
    except ApiError as exc:
        raise PageNotFound from exc


def _header(session: Session, round_id: str, user: Any) -> tuple[RoundRow, Job]:
    """The round without its document (see `round_header`), or the 404 page."""
    try:
        return round_header(session, _round_id(round_id), user.principal)
    except ApiError as exc:
        raise PageNotFound from exc


# -- dashboard --------------------------------------------------------------------------


@router.get("/coordinator")
def dashboard(request: Request, user: CoordinatorPage, session: ReadSession) -> Response:
    """Pool size, open needs by country and priority, the last rounds and their status."""
    pool = session.scalar(select(func.count()).select_from(VolunteerRow)) or 0
    filled: dict[str, int] = {}
    latest = latest_publication(session)
    if latest is not None:
        for a in published_assignments(session, latest.id):
            filled[a.placement_id] = filled.get(a.placement_id, 0) + 1
    by_country: dict[str, dict[int, int]] = {}
    n_needs = open_slots = 0
    for pid, data in session.execute(select(PlacementRow.id, PlacementRow.data)):
        n_needs += 1
        left = int(data.get("slots", 1)) - filled.get(pid, 0)
        if left <= 0:
            continue
        open_slots += left
        row = by_country.setdefault(str(data.get("country", "")), {})
        prio = int(data.get("priority", 3))
        row[prio] = row.get(prio, 0) + left
    rounds = list(
        session.execute(
            select(
                RoundRow.id,
                RoundRow.name,
                RoundRow.source,
                RoundRow.created_at,
                RoundRow.n_volunteers,
                RoundRow.n_placements,
                Job.status,
            )
            .join(Job, Job.round_id == RoundRow.id)
            .order_by(RoundRow.created_at.desc(), RoundRow.id)
            .limit(RECENT_ROUNDS)
        ).all()
    )
    published = (
        set(
            session.scalars(
                select(Publication.round_id).where(Publication.round_id.in_([r.id for r in rounds]))
            )
        )
        if rounds
        else set()
    )
    return render(
        request,
        "coordinator/dashboard.html",
        user=user,
        pool=pool,
        n_needs=n_needs,
        open_slots=open_slots,
        by_country=sorted(by_country.items()),
        rounds=rounds,
        published=published,
        latest=latest.round_id if latest is not None else None,
    )


# -- pool -------------------------------------------------------------------------------


@router.get("/coordinator/pool")
def pool_page(request: Request, user: CoordinatorPage) -> Response:
    return render(request, "coordinator/pool.html", user=user, errors=[], stored=None, filename="")


@router.post("/coordinator/pool")
def pool_upload(
    request: Request, user: CoordinatorPage, form: PageForm, session: WriteSession
) -> Response:
    """Read the whole file, store nothing unless it is valid, show every error."""
    upload = form.get("file")
    filename = str(getattr(upload, "filename", "") or "")
    data = upload.file.read() if hasattr(upload, "file") else b""
    try:
        r = read_pool(filename, data)
    except InvalidRound as exc:
        session.rollback()
        gettext = translator(page_language(request)).gettext
        return render(
            request,
            "coordinator/pool.html",
            status=422,
            user=user,
            errors=[localize_item(e, gettext) for e in exc.errors],
            stored=None,
            filename=filename,
        )
    stored = store_pool(session, r)
    return render(
        request,
        "coordinator/pool.html",
        user=user,
        errors=[],
        stored=stored,
        filename=filename,
        policy_ignored=r.policy != Policy(),
    )


# -- a new round ------------------------------------------------------------------------


def _policy_defaults() -> dict[str, Any]:
    p = Policy()
    values: dict[str, Any] = {
        "mode": p.mode,
        "time_limit_s": p.time_limit_s,
        "international_only": p.international_only,
        "gender_balance": p.gender_balance,
        "max_same_nationality_per_placement": p.max_same_nationality_per_placement or "",
        "max_per_host": p.max_per_host or "",
        "max_moves": "",
        "previous": False,
        "name": "",
    }
    for w in WEIGHTS:
        values[f"w_{w}"] = getattr(p.weights, w)
    return values


def _policy_from_form(
    form: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], list[ErrorItem]]:
    """The form's values (to show again), the policy they make, and the errors of
    fields that are not numbers where numbers are asked."""
    values = {k: str(form.get(k, "")).strip() for k in _policy_defaults()}
    values["international_only"] = form.get("international_only") == "on"
    values["gender_balance"] = form.get("gender_balance") == "on"
    values["previous"] = form.get("previous") == "on"
    errors: list[ErrorItem] = []

    def number(key: str, field: str, kind: type[int] | type[float]) -> int | float | None:
        raw = values[key]
        if raw == "":
            return None
        try:
            return kind(raw)
        except ValueError:
            errors.append(
                ErrorItem(
                    "policy", "policy", field, "a whole number" if kind is int else "a number"
                )
            )
            return None

    policy: dict[str, Any] = {
        "mode": values["mode"] or "optimal",
        "international_only": values["international_only"],
        "gender_balance": values["gender_balance"],
        "weights": {},
    }
    limit = number("time_limit_s", "time_limit_s", float)
    if limit is not None:
        policy["time_limit_s"] = limit
    for w in WEIGHTS:
        got = number(f"w_{w}", f"weights.{w}", int)
        if got is not None:
            policy["weights"][w] = got
    for key in ("max_same_nationality_per_placement", "max_per_host", "max_moves"):
        got = number(key, key, int)
        if got is not None:
            policy[key] = got
    return values, policy, errors


def _new_round_page(
    request: Request,
    user: Any,
    values: dict[str, Any],
    errors: list[ErrorItem],
    status: int = 200,
    message: str = "",
) -> Response:
    by_field: dict[str, list[str]] = {}
    for e in errors:
        by_field.setdefault(e.field or "", []).append(e.message)
    return render(
        request,
        "coordinator/new_round.html",
        status=status,
        user=user,
        values=values,
        errors=by_field,
        all_errors=errors,
        weights=WEIGHTS,
        message=message,
    )


@router.get("/coordinator/rounds/new")
def new_round(request: Request, user: CoordinatorPage) -> Response:
    return _new_round_page(request, user, _policy_defaults(), [])


@router.post("/coordinator/rounds/new")
def create_round(
    request: Request,
    user: CoordinatorPage,
    form: PageForm,
    db: DbDep,
    session: WriteSession,
    settings: SettingsDep,
) -> Response:
    """A snapshot of the stored pool under the form's policy, solved as a job; the
    browser goes to the round's page to watch it."""
    values, policy, errors = _policy_from_form(form)
    if errors:
        session.rollback()
        return _new_round_page(request, user, values, errors, 422)
    try:
        body = RoundCreate(
            name=values["name"][:200], policy=policy, previous_from_published=values["previous"]
        )
    except ValidationError as exc:
        session.rollback()
        return _new_round_page(
            request,
            user,
            values,
            [
                ErrorItem("policy", "policy", ".".join(map(str, e["loc"][1:])), e["msg"])
                for e in exc.errors(include_url=False)
            ],
            422,
        )
    try:
        with db.read() as reading:
            doc = snapshot(reading, body)
        r = parse_round(doc)
        out = store_round(
            session, r, name=body.name, source="snapshot", who=user.principal, settings=settings
        )
    except InvalidRound as exc:
        session.rollback()
        return _new_round_page(request, user, values, exc.errors, 422)
    except ApiError as exc:
        session.rollback()
        return _new_round_page(request, user, values, exc.errors, exc.status, exc.detail)
    return RedirectResponse(f"/coordinator/rounds/{out.id}", 303)


# -- a round: progress, result ----------------------------------------------------------


def _pending_pairs(request: Request, key: str) -> list[tuple[str, str]]:
    out = []
    for raw in request.query_params.getlist(key):
        m = PAIR.match(raw)
        if m and (m.group(1), m.group(2)) not in out:
            out.append((m.group(1), m.group(2)))
    return out


def _link_maker(request: Request) -> Callable[..., str]:
    """`link(**changes)`: this page's URL with some query parameters changed (None
    drops one); lists (pending locks) are kept as repeated parameters."""
    base = request.url.path

    def link(**changes: Any) -> str:
        params: list[tuple[str, str]] = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in changes and k != "lang"
        ]
        for k, v in changes.items():
            if v is None:
                continue
            if isinstance(v, list):
                params += [(k, str(x)) for x in v]
            else:
                params.append((k, str(v)))
        return base + ("?" + urlencode(params) if params else "")

    return link


def _int_param(request: Request, key: str) -> int:
    raw = request.query_params.get(key, "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else 1


@router.get("/coordinator/rounds/{round_id}")
def round_page(
    request: Request, round_id: str, user: CoordinatorPage, session: ReadSession
) -> Response:
    """While the round is queued or running: its progress (live, with cancel). When it
    has a result: the result. When it failed: why."""
    r, job = _header(session, round_id, user)
    published = is_published(session, r.id)
    # a result stored without its paging view (before revision 0006, or erased since)
    # has it built in the background: the page says so and fills in when it is ready
    view = _views(request).ready(session, r.id) if job.status == "done" else None
    if view is None:
        from volmatch.api.web.i18n import page_language, translator

        tr = translator(page_language(request))
        return render(
            request,
            "coordinator/progress.html",
            user=user,
            round=r,
            job=job,
            # why the round failed, in the page's language where its shape is known
            said=lambda message: localize(message, tr.gettext, lang=tr.lang),
            preparing=job.status == "done",
            time_limit=float(
                round_policy(session, r.id).get("time_limit_s", Policy().time_limit_s)
            ),
        )
    try:
        query = AssignmentQuery.parse(request.query_params)
    except ApiError as exc:
        query, bad = AssignmentQuery(), exc.detail
    else:
        bad = ""
    response = _result_page(request, user, r, view, query, bad, published)
    # the explanations this page offers, priced while the coordinator reads it; started
    # once the page is sent, as the pricing thread would slow the page's own rendering
    response.background = BackgroundTask(
        request.app.state.priced_rounds.prefetch,
        request.app.state.db,
        r.id,
        user.principal,
        r.n_volunteers,
    )
    return response


def _result_page(
    request: Request,
    user: Any,
    r: RoundRow,
    view: ResultView,
    query: AssignmentQuery,
    bad: str,
    published: bool,
) -> Response:
    from volmatch.api.web.i18n import page_language, translator

    tr = translator(page_language(request))
    locks, forbids = _pending_pairs(request, "lock"), _pending_pairs(request, "forbid")
    page = view.assignments_page(query)
    unmatched = view.unmatched_page(_int_param(request, "upage"), SIDE_PER_PAGE)
    open_slots = view.open_slots_page(_int_param(request, "opage"), SIDE_PER_PAGE)
    policy = view.policy
    link = _link_maker(request)

    def sort_link(key: str) -> str:
        """Click a column: sort by it (scores and priorities highest first), click again:
        the other way."""
        descending = not query.descending if query.sort == key else key in ("score", "priority")
        return link(sort=("-" if descending else "") + key, page=1)

    return render(
        request,
        "coordinator/result.html",
        user=user,
        round=r,
        view=view,
        page=page,
        query=query,
        bad=bad,
        published=published,
        link=link,
        sort_link=sort_link,
        locks=locks,
        forbids=forbids,
        unmatched=unmatched,
        open_slots=open_slots,
        reasons=lambda items: reason_texts(items, tr.lang),
        locked_now={(p["volunteer"], p["placement"]) for p in policy.get("locked", [])},
        forbidden_now={(p["volunteer"], p["placement"]) for p in policy.get("forbidden", [])},
        countries=view.choices("country"),
        hosts=view.choices("host"),
        priorities=view.priorities(),
        max_moves=policy.get("max_moves"),
    )


@router.get("/coordinator/rounds/{round_id}/view-ready")
def round_view_ready(
    request: Request, round_id: str, user: CoordinatorPage, session: ReadSession
) -> Response:
    """Whether a finished round's result page is ready to show (JSON for coordinator.js,
    which asks again while it is being prepared)."""
    _header(session, round_id, user)
    return JSONResponse({"ready": _views(request).ready(session, round_id) is not None})


@router.get("/coordinator/rounds/{round_id}/explain-ready")
def explain_ready(request: Request, round_id: str, user: CoordinatorPage, db: DbDep) -> Response:
    """Whether a round's explanations answer at once (JSON for coordinator.js, which
    asks again while they are being prepared)."""
    with db.read() as session:
        r, _ = _header(session, round_id, user)
    priced = request.app.state.priced_rounds
    ready = priced.ready_now(db, r.id, user.principal) and not priced.prefetching(r.id)
    return JSONResponse({"ready": ready})


@router.get("/coordinator/rounds/{round_id}/advice-ready")
def advice_ready(request: Request, round_id: str, user: CoordinatorPage, db: DbDep) -> Response:
    """Whether the advice on a round answers at once (JSON for coordinator.js, which
    asks again while it is being prepared; a build asked for meanwhile is started)."""
    warm = warm_rounds(request.app)
    with db.read() as session:
        r, _ = _header(session, round_id, user)
        # not while the build's thread makes its collector's pass (`prewarm_round`):
        # the page asked next would wait for it
        ready = base_ready(session, warm, r.id)
    if not ready:
        build_base(db, warm, r.id)  # where the page's build was replaced by a newer one
    return JSONResponse({"ready": ready and not warm.busy()})


@router.get("/coordinator/rounds/{round_id}/events")
def round_events(request: Request, round_id: str, user: CoordinatorPage, db: DbDep) -> Response:
    """The round's progress as server-sent events, for the progress bar."""
    with db.read() as session:
        _header(session, round_id, user)
    return StreamingResponse(
        progress_events(db, round_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


@router.post("/coordinator/rounds/{round_id}/cancel")
def cancel_round(
    request: Request, round_id: str, user: CoordinatorPage, form: PageForm, session: WriteSession
) -> Response:
    _header(session, round_id, user)
    try:
        cancel(session, round_id, user.principal)
    except ApiError:
        session.rollback()  # it finished meanwhile: its page says how
    return RedirectResponse(f"/coordinator/rounds/{round_id}", 303)


@router.post("/coordinator/rounds/{round_id}/publish")
def publish_round(
    request: Request,
    round_id: str,
    user: CoordinatorPage,
    form: PageForm,
    read: ReadSession,
    session: WriteSession,
) -> Response:
    _visible(read, round_id, user)
    # the reserve lists prepare the round: before the write session takes its lock
    ready = ready_reserves(read, round_id, user.principal)
    try:
        publish(session, round_id, user.principal, ready)
    except ApiError as exc:
        session.rollback()
        return render(
            request,
            "coordinator/message.html",
            status=exc.status,
            user=user,
            title="Not published",
            detail=exc.detail,
            back=f"/coordinator/rounds/{round_id}",
        )
    return RedirectResponse(f"/coordinator/rounds/{round_id}?published=1", 303)


@router.post("/coordinator/rounds/{round_id}/rerun")
def rerun_round(
    request: Request,
    round_id: str,
    user: CoordinatorPage,
    form: PageForm,
    session: WriteSession,
    settings: SettingsDep,
) -> Response:
    """A new round: this one with the pending pairs locked or forbidden, its result as
    the previous assignment, at most `max_moves` of it changed."""
    _visible(session, round_id, user)

    def pairs(key: str) -> list[tuple[str, str]]:
        found = [PAIR.match(str(v)) for v in form.getlist(key)]
        return [(m.group(1), m.group(2)) for m in found if m]

    raw = str(form.get("max_moves", "")).strip()
    back = f"/coordinator/rounds/{round_id}"
    if raw and not raw.isdigit():
        session.rollback()
        return render(
            request,
            "coordinator/message.html",
            status=422,
            user=user,
            title="Not re-run",
            detail=f"max_moves: {raw!r} is not a whole number",
            back=back,
        )
    try:
        out = rerun(
            session,
            round_id,
            user.principal,
            settings,
            lock=pairs("lock"),
            forbid=pairs("forbid"),
            max_moves=int(raw) if raw else None,
        )
    except (ApiError, InvalidRound) as exc:
        session.rollback()
        errors = exc.errors
        detail = exc.detail if isinstance(exc, ApiError) else "; ".join(map(str, errors))
        return render(
            request,
            "coordinator/message.html",
            status=getattr(exc, "status", 422),
            user=user,
            title="Not re-run",
            detail=detail,
            back=back,
        )
    return RedirectResponse(f"/coordinator/rounds/{out.id}", 303)


@router.get("/coordinator/rounds/{round_id}/result.xlsx")
def result_workbook(request: Request, round_id: str, user: CoordinatorPage, db: DbDep) -> Response:
    from volmatch.api.service.result_pages import stored_result
    from volmatch.api.sheets import result_workbook_bytes
    from volmatch.models import Result

    with db.read() as session:
        r, job = _visible(session, round_id, user)
        try:
            stored = stored_result(session, r.id, job)
        except ApiError as exc:
            raise PageNotFound from exc
        document = r.document
    data = result_workbook_bytes(parse_round(document), Result.model_validate(stored))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="result-{round_id}.xlsx"',
            "Cache-Control": "no-store",
        },
    )


def _preparing(
    request: Request,
    user: Any,
    round_id: str,
    part: str,
    heading: str,
    said: str,
    start: Callable[[], None],
) -> Response:
    """The page of a round's `part` (explain, advice) while what it needs is prepared in
    the background by `start`, called once the page is sent (its thread would slow the
    page's own rendering): says so (`heading`, `said`: messages to translate) and is
    shown again by coordinator.js once `/coordinator/rounds/ID/PART-ready` says so."""
    from volmatch.api.web.i18n import page_language, translator

    tr = translator(page_language(request))
    response = render(
        request,
        "coordinator/preparing.html",
        user=user,
        heading=tr.gettext(heading),
        said=tr.gettext(said),
        ready_url=f"/coordinator/rounds/{round_id}/{part}-ready",
        again=str(request.url),
        back=f"/coordinator/rounds/{round_id}",
    )
    response.background = BackgroundTask(start)
    return response


@router.get("/coordinator/rounds/{round_id}/explain")
def explain_page(request: Request, round_id: str, user: CoordinatorPage, db: DbDep) -> Response:
    """Why a volunteer is where they are, or not at a placement (or any)."""
    from volmatch.api.web.i18n import page_language, translator

    volunteer = request.query_params.get("volunteer", "")
    placement = request.query_params.get("placement") or None
    with db.read() as session:
        r, _ = _header(session, round_id, user)
        view = _views(request).get(session, r.id)
    priced = request.app.state.priced_rounds
    if not priced.ready_now(db, r.id, user.principal):
        # a round without the arrays stored with its result (before their format, or
        # erased since), not priced here yet: priced in the background, the page says
        # so and shows the explanation once ready, instead of waiting for the pricing
        return _preparing(
            request,
            user,
            r.id,
            "explain",
            N_("Explain"),
            N_("The round's explanations are being prepared: they appear here in a moment."),
            lambda: priced.prefetch(db, r.id, user.principal, r.n_volunteers, force=True),
        )
    try:
        rows, facts = explain_round(
            db,
            r.id,
            user.principal,
            volunteer,
            placement,
            priced,
            ineligible_limit=EXPLAIN_ROWS,
        )
    except ApiError as exc:
        return render(
            request,
            "coordinator/message.html",
            status=exc.status,
            user=user,
            title="Nothing to explain",
            detail=exc.detail,
            back=f"/coordinator/rounds/{round_id}",
        )
    eligible = sorted(
        (x for x in rows if x.get("eligible")),
        key=lambda x: (x.get("regret") is None, x.get("regret") or 0),
    )
    ineligible = [x for x in rows if not x.get("eligible")]
    shown = eligible[:EXPLAIN_ROWS] + ineligible[:EXPLAIN_ROWS]
    tr = translator(page_language(request))
    # Where the result is not the best round under the hard rules (policy rules, stable
    # mode), each regret is a drop of that round's total, not of this one's: this round
    # is `gap` points below it, so a pair with regret R leaves any round that keeps the
    # rules and holds the pair at least R - gap points below this one (docs/explanations.md).
    exact = bool(facts["exact"])
    gap = max(0, int(facts["optimum"]) - view.total_score)
    for x in eligible:
        regret = x.get("regret")
        x["said"] = reason_texts([x["reason"]], tr.lang)[0] if x.get("reason") else x["outcome"]
        if not exact and regret is not None:
            here = x.get("reason", {}).get("code") == "pair_assigned"
            x["at_least"] = 0 if here else max(0, int(regret) - gap)
    for x in ineligible[:EXPLAIN_ROWS]:
        failures = x.get("failures")
        if failures:
            x["failed_rules"] = dict(
                zip(failures, reason_texts(failures.values(), tr.lang), strict=True)
            )
    return render(
        request,
        "coordinator/explain.html",
        user=user,
        round=r,
        volunteer=volunteer,
        placement=placement,
        person=view.name_of(volunteer),
        assigned=view.assignment_of(volunteer),
        exact=exact,
        stable=view.mode == "stable",
        proven=view.status == "optimal",
        optimum=int(facts["optimum"]),
        total=view.total_score,
        gap=gap,
        eligible=eligible[:EXPLAIN_ROWS],
        n_eligible=len(eligible),
        ineligible=ineligible[:EXPLAIN_ROWS],
        n_ineligible=(len(ineligible) if placement else view.n_placements - len(eligible)),
        placements={
            p: view.placement_of(p) or {} for p in {str(x.get("placement", "")) for x in shown}
        },
    )


@router.get("/coordinator/rounds/{round_id}/advice")
def advice_page(request: Request, round_id: str, user: CoordinatorPage, db: DbDep) -> Response:
    """For a need of a finished round: who is placed there, why slots stay open, and
    the volunteers recommended for it with their cost to the round (least first), from
    `GET /placements/{id}/recommendations`'s own service function."""
    placement = request.query_params.get("placement", "")
    with db.read() as session:
        r, _ = _header(session, round_id, user)
        view = _views(request).get(session, r.id)
        need = view.placements.get(placement)
        if need is None:
            raise PageNotFound
        warm = warm_rounds(request.app)
        if not base_ready(session, warm, r.id):
            # the round's advice base is not built in this process (an older round
            # after a restart): built in the background, the page says so meanwhile
            return _preparing(
                request,
                user,
                r.id,
                "advice",
                N_("Advice"),
                N_("The recommendations are being prepared: they appear here in a moment."),
                lambda: build_base(db, warm, r.id),
            )
        try:
            advice, missing = _recommendations(request, session, user, r.id, placement)
        except ApiError as exc:
            if exc.status != PAIR_LIMIT_STATUS:
                raise
            # a round over the pair limit: its advice is never built, the page says why
            return render(
                request,
                "coordinator/message.html",
                status=exc.status,
                user=user,
                title=N_("Advice"),
                detail=exc.detail,
                back=f"/coordinator/rounds/{round_id}",
            )
    rows = [
        {**x, "placed_at": (view.assignment_of(x["volunteer"]) or {}).get("placement")}
        for x in advice.get("recommendations", [])
    ]
    from volmatch.api.web.routes.offers import section_context

    with db.read() as session:
        life = section_context(request, session, user, r.id, placement, view.names)
    placed_here = [a for a in view.assignments if a["placement"] == placement]
    open_here = next((s for s in view.open_slots if s["placement"] == placement), None)
    from volmatch.api.web.i18n import page_language, translator

    tr = translator(page_language(request))
    return render(
        request,
        "coordinator/advice.html",
        user=user,
        round=r,
        placement=placement,
        need=need,
        rows=rows,
        n_rows=int(advice.get("eligible", 0)),
        exact=bool(advice.get("pure_optimum", True)),
        in_round=bool(advice.get("in_round", True)),
        missing=missing,
        placed_here=placed_here,
        open_here=open_here,
        reasons=lambda items: reason_texts(items, tr.lang),
        **life,
    )


def _recommendations(
    request: Request, session: Session, user: Any, round_id: str, placement: str
) -> tuple[dict[str, Any], str]:
    """The need's advice as the API answers it, and why it has no recommendations:
    `""`; `"round"`: no result to price them against (the counts are then the stored
    need's against the stored pool); `"need"`: the need is no longer stored."""
    try:
        return placement_recommendations(
            session, warm_rounds(request.app), placement, user.principal, ADVICE_ROWS, round_id
        ), ""
    except ApiError as exc:
        if exc.status not in (404, NO_RESULT):
            raise
        if exc.status == 404:
            return {}, "need"
    need = stored_need(session, placement, user.principal)
    return pool_feasibility(session, request.app.state.pool_cache, need, user.principal), "round"
