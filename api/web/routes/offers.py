"""Coordinator pages of a published round's lifecycle (issue 18), shown on the Advice
page of a need: the lifecycle part alone (for its refresh as replies land), recording a
volunteer's reply, proposing a backfill now, and confirming one.

Every change goes through the lifecycle service the API uses (`replies.reply`,
`backfill.request_proposal`, `backfill.confirm`), with the same rights and the same
optimistic concurrency: confirming a proposal that is no longer current is refused (409)
and the page says to refresh. A proposal is computed after the change that asked for it
has committed; until it is there the page says it is being computed and its script
asks again (`coordinator/_lifecycle.html`, `coordinator.js`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from volmatch.api.service.deps import ReadSession, WriteSession
from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle import backfill, replies
from volmatch.api.service.lifecycle.offers import actor, lifecycle_of, visible_offer
from volmatch.api.service.lifecycle.pending import PAGE_WAIT_S, wait_computed
from volmatch.api.service.rounds_service import round_header
from volmatch.api.service.routing import CommitRoute, flush_or_raise
from volmatch.api.service.tables import BackfillRow
from volmatch.api.web.deps import CoordinatorPage, PageForm
from volmatch.api.web.error_text import N_, localize
from volmatch.api.web.errors import PageNotFound
from volmatch.api.web.i18n import page_language, translator
from volmatch.api.web.lifecycle_view import decline_reasons, lifecycle_section
from volmatch.api.web.reason_text import reason_texts
from volmatch.api.web.render import render

router = APIRouter(route_class=CommitRoute, include_in_schema=False)

ROUND_ID = re.compile(r"^[0-9a-f]{32}$")
PLACEMENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
REFRESH_S = 15
"""How often an open Advice page fetches its lifecycle part again: replies arrive over
days, so a quarter minute is live enough and costs the server nothing noticeable."""


def _round_id(session: Any, round_id: str, user: Any) -> str:
    if not ROUND_ID.match(round_id):
        raise PageNotFound
    try:
        round_header(session, round_id, user.principal)
    except ApiError as exc:
        raise PageNotFound from exc
    return round_id


def _placement(raw: Any) -> str:
    value = str(raw or "")
    if not PLACEMENT_ID.match(value):
        raise PageNotFound
    return value


def advice_url(round_id: str, placement: str, **extra: str) -> str:
    """The Advice page of a need, at its lifecycle part."""
    query = urlencode({"placement": placement, **extra})
    return f"/coordinator/rounds/{round_id}/advice?{query}#lifecycle"


def section_context(
    request: Request, session: Any, user: Any, round_id: str, placement: str, names: dict[str, str]
) -> dict[str, Any]:
    """What `coordinator/_lifecycle.html` needs, for the Advice page and its refresh."""
    done = request.query_params.get("life", "")
    life = lifecycle_section(session, round_id, placement, user.principal)
    tr = translator(page_language(request))
    # why the engine refused the newest proposal, in the page's language
    refused = life.failed.proposal.get("error", "") if life.failed is not None else ""
    return {
        "life": life,
        "failed_error": localize(refused, tr.gettext, lang=tr.lang),
        # a proposal's move says why from its parts; one stored before they were, in English
        "move_why": lambda m: (
            reason_texts([m["detail"]], tr.lang)[0] if m.get("detail") else m["reason"]
        ),
        "life_done": done if done in ("reply", "confirmed", "proposed") else "",
        "decline_reasons": decline_reasons(),
        "refresh_s": REFRESH_S,
        "names": names,
    }


def _commit_then_wait(request: Request, session: Any, proposal: BackfillRow) -> None:
    """Commit the change that asked for `proposal` (it stands before the engine runs),
    then wait for the proposal outside any write, `PAGE_WAIT_S` at most: a quick one is
    on the page the answer redirects to, a slow one shows there as being computed."""
    flush_or_raise(session)
    session.commit()
    wait_computed(request.app.state.db, proposal.id, PAGE_WAIT_S)


def _refused(
    request: Request, user: Any, status: int, title: str, detail: str, back: str
) -> Response:
    detail = localize(detail, translator(page_language(request)).gettext)
    return render(
        request,
        "coordinator/message.html",
        status=status,
        user=user,
        title=title,
        detail=detail,
        back=back,
    )


@router.get("/coordinator/rounds/{round_id}/advice/lifecycle")
def lifecycle_part(
    request: Request, round_id: str, user: CoordinatorPage, session: ReadSession
) -> Response:
    """The lifecycle part of a need's Advice page alone (the page's script swaps it in)."""
    rid = _round_id(session, round_id, user)
    placement = _placement(request.query_params.get("placement"))
    try:
        names = request.app.state.result_views.get(session, rid).names
    except ApiError as exc:  # no result yet: no Advice page either
        raise PageNotFound from exc
    return render(
        request,
        "coordinator/_lifecycle.html",
        user=user,
        **section_context(request, session, user, rid, placement, names),
    )


@router.post("/coordinator/offers/{offer_id}/reply")
def record_reply(
    request: Request, offer_id: int, user: CoordinatorPage, form: PageForm, session: WriteSession
) -> Response:
    """The volunteer's answer, as `POST /offers/{id}/reply`: a decline needs a reason
    and asks for a backfill proposal (`_commit_then_wait`)."""
    try:
        offer = visible_offer(session, offer_id, user.principal, lock=True)
    except ApiError as exc:
        raise PageNotFound from exc
    answer = str(form.get("answer", ""))
    if answer not in ("accept", "decline"):
        raise PageNotFound
    reason = str(form.get("reason", "")).strip() or None
    back = advice_url(offer.round_id, offer.placement_id)
    try:
        proposal = replies.reply(
            session,
            offer,
            "accept" if answer == "accept" else "decline",
            by=actor(user.principal),
            reason=reason if answer == "decline" else None,
            text=str(form.get("text", "")).strip()[:2000],
        )
    except ApiError as exc:
        session.rollback()
        return _refused(request, user, exc.status, N_("Reply not recorded"), exc.detail, back)
    if proposal is not None:
        _commit_then_wait(request, session, proposal)
    return RedirectResponse(advice_url(offer.round_id, offer.placement_id, life="reply"), 303)


@router.post("/coordinator/rounds/{round_id}/backfills")
def propose_now(
    request: Request, round_id: str, user: CoordinatorPage, form: PageForm, session: WriteSession
) -> Response:
    """A backfill proposal from the round as it stands, as `POST .../backfills`."""
    rid = _round_id(session, round_id, user)
    placement = _placement(form.get("placement"))
    try:
        lc = lifecycle_of(session, rid, lock=True)
        proposal = backfill.request_proposal(
            session, lc, {"kind": "asked"}, by=actor(user.principal)
        )
    except ApiError as exc:
        session.rollback()
        return _refused(
            request, user, exc.status, N_("Not proposed"), exc.detail, advice_url(rid, placement)
        )
    _commit_then_wait(request, session, proposal)
    return RedirectResponse(advice_url(rid, placement, life="proposed"), 303)


@router.post("/coordinator/rounds/{round_id}/backfills/{backfill_id}/confirm")
def confirm(
    request: Request,
    round_id: str,
    backfill_id: int,
    user: CoordinatorPage,
    form: PageForm,
    session: WriteSession,
) -> Response:
    """Carry a proposal out, as `POST .../backfills/{b}/confirm`: refused (409, refresh)
    when it is no longer the round's current proposal."""
    rid = _round_id(session, round_id, user)
    placement = _placement(form.get("placement"))
    try:
        backfill.confirm(session, rid, backfill_id, by=actor(user.principal))
    except ApiError as exc:
        session.rollback()
        title = (
            N_("Refresh: this proposal is out of date")
            if exc.status == 409
            else N_("Not confirmed")
        )
        return _refused(request, user, exc.status, title, exc.detail, advice_url(rid, placement))
    return RedirectResponse(advice_url(rid, placement, life="confirmed"), 303)
