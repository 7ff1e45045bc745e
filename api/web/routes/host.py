"""Host partner pages: my needs (with how many of the pool qualify now), the new/edit
need form with the API's field errors and a live feasibility line, and the volunteers
matched to the host's needs after publication.

Everything goes through the service functions the API uses (`placement_store`,
`host_view`, `advice`): a host sees and changes only its own needs, and another host's
need is the 404 page, as in the API. The counts are `POST /placements/feasibility`'s
against the latest solved round, or against the stored pool where no round has a
result yet (`advice.ready_feasibilities`, which never waits for them to be built: the
page says "updating" meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from volmatch.api.service.advice import ready_feasibilities
from volmatch.api.service.deps import ReadSession, WriteSession
from volmatch.api.service.errors import ApiError
from volmatch.api.service.host_view import host_volunteers
from volmatch.api.service.lifecycle.offers import actor, list_offers, visible_offer
from volmatch.api.service.lifecycle.replies import host_decision
from volmatch.api.service.placement_store import (
    create_placement,
    put_placement,
    visible_placement,
    visible_placements,
)
from volmatch.api.service.queries import host_assignments, latest_publication
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.warm import warm_rounds
from volmatch.api.web.deps import HostPage, PageForm
from volmatch.api.web.error_text import localize
from volmatch.api.web.errors import PageNotFound
from volmatch.api.web.i18n import DEFAULT, page_language, translator
from volmatch.api.web.need_form import (
    NeedForm,
    add_api_error,
    check,
    editable_values,
    form_document,
)
from volmatch.api.web.options import need_options
from volmatch.api.web.render import render
from volmatch.models import Placement

router = APIRouter(route_class=CommitRoute, include_in_schema=False)

NEW_NEED_DEFAULTS: dict[str, Any] = {
    "slots": 1,
    "priority": 3,
    "min_months": 6,
    "max_months": 12,
    "security_level": 0,
}
"""What a blank need form starts with: the contract's defaults."""


def rule_label(rule: str, _: Callable[[str], str]) -> str:
    """A hard rule's name as the host reads it."""
    return {
        "skills": _("skills"),
        "languages": _("languages"),
        "training": _("training"),
        "length": _("length of service"),
        "dates": _("dates"),
        "country": _("country"),
        "security": _("security clearance"),
        "age": _("age"),
        "forbidden": _("forbidden pairs"),
    }.get(rule, rule)


def field_label(name: str, _: Callable[[str], str]) -> str:
    """A need form input's label, for the live line's "check ..." (the same strings as
    the form's labels)."""
    return {
        "id": _("Need id"),
        "title": _("Title"),
        "country": _("Country"),
        "slots": _("Volunteers needed"),
        "priority": _("Priority"),
        "security_level": _("Security level"),
        "start_earliest": _("Earliest start"),
        "start_latest": _("Latest start"),
        "min_months": _("Shortest service (months)"),
        "max_months": _("Longest service (months)"),
        "age_min": _("Minimum age at start"),
        "age_max": _("Maximum age at start"),
        "required_skills": _("Required skills (level 1-5 at least)"),
        "desired_skills": _("Desired skills (scored, not required)"),
        "required_languages": _("Required languages (CEFR level at least)"),
        "desired_languages": _("Desired languages (scored, not required)"),
        "required_training": _("Training modules required"),
        "sdg_targets": _("SDG targets served"),
        "summary": _("What the community needs, and why now"),
    }.get(name, name or _("the need"))


def held_back(doc: dict[str, Any], count: str = "only") -> list[tuple[str, int]]:
    """Per hard rule that alone keeps someone out, how many (most first, then the
    contract's order): who would qualify were that rule alone relaxed. With
    `count="fail"`: per rule, how many fail it (alone or with others)."""
    rules = [(rule, int(c[count])) for rule, c in doc["rules"].items() if c[count] > 0]
    order = list(doc["rules"])
    return sorted(rules, key=lambda g: (-g[1], order.index(g[0])))


def feasibility_line(
    doc: dict[str, Any],
    slots: int,
    _: Callable[[str], str],
    ngettext: Callable[[str, str, int], str],
    lang: str = DEFAULT,
) -> tuple[str, str]:
    """The live line's text and state (`none`, `few`, `ok`) for a need's feasibility
    (as `advice.ready_feasibilities` answers it; numbers written for `lang`). Counted
    against the pool where the latest round is over the pair limit, it says so: the
    host would otherwise read the pool's count as the round's."""
    eligible = int(doc["eligible"])
    line = ngettext(
        "%(n)s volunteer of the %(pool)s in the pool qualifies now.",
        "%(n)s volunteers of the %(pool)s in the pool qualify now.",
        eligible,
    ) % {"n": eligible, "pool": doc["pool"]}
    over = doc.get("over_pair_limit")
    if over:
        line += " " + _(
            "Counted against the whole pool, not the latest round: that round has "
            "%(pairs)s candidate pairs, over the limit of %(limit)s one round may have."
        ) % {
            "pairs": format_decimal(over["pairs"], locale=lang),
            "limit": format_decimal(over["limit"], locale=lang),
        }
    blocked = held_back(doc)
    if blocked:
        held = ", ".join(f"{rule_label(rule, _)} (+{gain})" for rule, gain in blocked[:3])
        line += " " + _("Held back most by: %(rules)s.") % {"rules": held}
    elif failing := held_back(doc, "fail"):
        # No rule alone keeps anyone out (each fails two or more): the host still
        # needs to know which requirements most people fail.
        held = ", ".join(f"{rule_label(rule, _)} ({n})" for rule, n in failing[:3])
        line += " " + _("No single rule alone holds anyone back; most fail: %(rules)s.") % {
            "rules": held
        }
    state = "none" if eligible == 0 else "few" if eligible < slots else "ok"
    return line, state


def _feasibility(request: Request, session: Any, user: Any, need: Placement) -> Any:
    """The need's feasibility as the API counts it, or against the pool alone; None
    while what it is counted against is being built (its build started)."""
    found = ready_feasibilities(
        session,
        request.app.state.db,
        warm_rounds(request.app),
        request.app.state.pool_cache,
        [need],
        user.principal,
    )
    return None if found is None else found[0]


def _flash(request: Request) -> str:
    saved = request.query_params.get("saved", "")
    return saved if saved.replace("-", "").replace("_", "").isalnum() else ""


def _ready_counts(
    request: Request, session: Any, user: Any, needs: list[Placement]
) -> dict[str, dict[str, Any]] | None:
    """Each need's feasibility by id, or None while the round or pool they are counted
    against is being built (its build started)."""
    found = ready_feasibilities(
        session,
        request.app.state.db,
        warm_rounds(request.app),
        request.app.state.pool_cache,
        needs,
        user.principal,
    )
    return None if found is None else {p.id: doc for p, doc in zip(needs, found, strict=True)}


@router.get("/host/needs")
def my_needs(request: Request, user: HostPage, session: ReadSession) -> Response:
    rows = visible_placements(session, user.principal)
    needs = [Placement.model_validate(r.data) for r in rows]
    counts = _ready_counts(request, session, user, needs)
    filled: dict[str, int] = {}
    for a in host_assignments(session, user.host_id or "").values():
        filled[a.placement_id] = filled.get(a.placement_id, 0) + 1
    countries = dict(need_options(page_language(request)).countries)
    return render(
        request,
        "host/needs.html",
        user=user,
        needs=needs,
        counts=counts or {},
        updating=counts is None,
        filled=filled,
        saved=_flash(request),
        countries=countries,
        # counted against the pool because the latest round is over the pair limit
        over_limit=next(
            (d["over_pair_limit"] for d in (counts or {}).values() if d.get("over_pair_limit")),
            None,
        ),
        figure=lambda n: format_decimal(n, locale=page_language(request)),
    )


@router.get("/host/eligible-counts")
def my_needs_counts(request: Request, user: HostPage, session: ReadSession) -> Response:
    """My needs' eligible counts once they are ready (JSON for app.js, which asks again
    while `ready` is false): never waits for a build."""
    needs = [Placement.model_validate(r.data) for r in visible_placements(session, user.principal)]
    counts = _ready_counts(request, session, user, needs)
    if counts is None:
        return JSONResponse({"ready": False})
    return JSONResponse({"ready": True, "eligible": {k: d["eligible"] for k, d in counts.items()}})


def _form_page(
    request: Request, user: Any, form: NeedForm, *, placement_id: str | None, status: int = 200
) -> Response:
    return render(
        request,
        "host/need_form.html",
        status=status,
        user=user,
        form=form,
        placement_id=placement_id,
        options=need_options(page_language(request)),
    )


@router.get("/host/needs/new")
def new_need(request: Request, user: HostPage) -> Response:
    return _form_page(request, user, NeedForm(values=dict(NEW_NEED_DEFAULTS)), placement_id=None)


def _save(
    request: Request, user: Any, form_data: Any, session: Any, placement_id: str | None
) -> Response:
    stored = None
    if placement_id is not None:
        stored = visible_placement(session, placement_id, user.principal).data
    doc = form_document(form_data, user.host_id or "", placement_id, stored)
    gettext = translator(page_language(request)).gettext
    placement, form = check(doc, gettext)
    if placement is None:
        return _form_page(request, user, form, placement_id=placement_id, status=422)
    try:
        if placement_id is None:
            create_placement(session, placement, user.principal)
        else:
            put_placement(session, placement_id, placement, user.principal)
    except ApiError as exc:
        session.rollback()
        add_api_error(form, exc.status, exc.detail, exc.errors, gettext)
        return _form_page(request, user, form, placement_id=placement_id, status=exc.status)
    return RedirectResponse(f"/host/needs?saved={placement.id}", 303)


@router.post("/host/needs/new")
def create_need(
    request: Request, user: HostPage, form_data: PageForm, session: WriteSession
) -> Response:
    return _save(request, user, form_data, session, None)


@router.post("/host/needs/check")
def check_need(
    request: Request, user: HostPage, form_data: PageForm, session: ReadSession
) -> Response:
    """The live feasibility line of the form being typed (JSON for app.js)."""
    tr = translator(page_language(request))
    placement_id = str(form_data.get("placement_id", "")) or None
    doc = form_document(form_data, user.host_id or "", placement_id, None)
    doc["id"] = doc.get("id") or "NEW"  # the line does not wait for an id
    placement, form = check(doc)
    if placement is None:
        fields = ", ".join(field_label(k, tr.gettext) for k in form.errors)
        return JSONResponse(
            {
                "state": "invalid",
                "line": tr.gettext("Not counted yet: check %(fields)s.") % {"fields": fields},
            }
        )
    found = _feasibility(request, session, user, placement)
    if found is None:  # app.js asks again in a moment
        return JSONResponse(
            {"state": "updating", "line": tr.gettext("Counting the current pool: a moment…")}
        )
    line, state = feasibility_line(found, placement.slots, tr.gettext, tr.ngettext, tr.lang)
    return JSONResponse({"state": state, "line": line, "eligible": found["eligible"]})


def _own(session: Any, user: Any, placement_id: str) -> Any:
    if len(placement_id) > 64:
        raise PageNotFound
    try:
        return visible_placement(session, placement_id, user.principal)
    except ApiError as exc:
        raise PageNotFound from exc


@router.get("/host/needs/{placement_id}")
def edit_need(
    request: Request, placement_id: str, user: HostPage, session: ReadSession
) -> Response:
    row = _own(session, user, placement_id)
    values = editable_values(row.data)
    return _form_page(request, user, NeedForm(values=values), placement_id=placement_id)


@router.post("/host/needs/{placement_id}")
def update_need(
    request: Request, placement_id: str, user: HostPage, form_data: PageForm, session: WriteSession
) -> Response:
    _own(session, user, placement_id)
    return _save(request, user, form_data, session, placement_id)


def _matches_page(
    request: Request,
    user: Any,
    session: Any,
    *,
    status: int = 200,
    error: str = "",
    error_offer: int | None = None,
) -> Response:
    found = sorted(host_volunteers(session, user.host_id or ""), key=lambda v: (v.placement, v.id))
    pub = latest_publication(session)
    offers = (
        {}
        if pub is None
        else {
            o.volunteer_id: o for o in list_offers(session, user.principal, round_id=pub.round_id)
        }
    )
    done = request.query_params.get("done", "")
    return render(
        request,
        "host/matches.html",
        status=status,
        user=user,
        volunteers=found,
        language_names=dict(need_options(page_language(request)).languages),
        offers=offers,
        error=error,
        error_offer=error_offer,
        done=done if done in ("accept", "decline") else "",
    )


@router.get("/host/matches")
def matches(request: Request, user: HostPage, session: ReadSession) -> Response:
    """The volunteers the latest publication matched to this host's needs, with their
    offers and the host's accept / decline."""
    return _matches_page(request, user, session)


@router.post("/host/offers/{offer_id}")
def decide(
    request: Request, offer_id: int, user: HostPage, form_data: PageForm, session: WriteSession
) -> Response:
    """The host accepts or declines a matched volunteer (a decline says why), through
    the lifecycle service's `host_decision`, as `POST /offers/{id}/host` does."""
    tr = translator(page_language(request))
    decision = str(form_data.get("decision", ""))
    reason = str(form_data.get("reason", "")).strip()[:2000]
    try:
        offer = visible_offer(session, offer_id, user.principal, lock=True)
    except ApiError as exc:
        raise PageNotFound from exc
    if decision not in ("accept", "decline"):
        raise PageNotFound
    if decision == "decline" and not reason:
        session.rollback()
        return _matches_page(
            request,
            user,
            session,
            status=422,
            error_offer=offer.id,
            error=tr.gettext("Say why you decline this volunteer."),
        )
    try:
        host_decision(session, offer, decision, by=actor(user.principal), text=reason)
    except ApiError as exc:
        session.rollback()
        return _matches_page(
            request,
            user,
            session,
            status=exc.status,
            error_offer=offer.id,
            error=localize(exc.detail, tr.gettext),
        )
    return RedirectResponse(f"/host/matches?done={decision}", 303)
