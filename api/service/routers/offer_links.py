"""The volunteer's personal link: `GET /offers/{token}` shows the offer and a form,
`POST /offers/{token}` answers it (form fields `answer`, `reason`, `text`). No account
and no API key: the token is the key, single use, valid until the offer's deadline. A
small standalone page in the reader's language, English or French
(`api/web/offer_page.py`); an unknown or forged link is a 404 page, a used, replaced or
expired one a 410 page, a bad answer a 422 page, and none of them changes anything."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from volmatch.api.service.deps import DbDep, WriteSession
from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle import links
from volmatch.api.service.lifecycle.offers import lifecycle_of
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ErrorOut
from volmatch.api.service.tables import Offer
from volmatch.api.web import offer_page as page
from volmatch.models.lifecycle import DeclineReason

router = APIRouter(tags=["offer link"], route_class=CommitRoute)

TokenPath = Annotated[
    str,
    Path(
        pattern=links.TOKEN_PATTERN,
        max_length=100,
        description="The token of the volunteer's personal link.",
    ),
]
LangQuery = Annotated[
    str | None,
    Query(
        max_length=16,
        description="The page's language, en or fr (then kept in a cookie; another value "
        "is ignored); else the cookie, else Accept-Language.",
    ),
]
MAX_TEXT = 2000
"""Characters of the volunteer's note (the page's textarea and `page.TOO_LONG` say the
same)."""
MAX_FORM_BYTES = MAX_TEXT * 4 * 3 + 1_000
"""A reply form is a note of up to MAX_TEXT characters, each up to 4 bytes of UTF-8 and
each byte sent as %XX (a note in Nepali or Chinese is 9 bytes a character), and two
short fields; anything longer is refused."""
REASON_LABELS = page.REASON_LABELS
"""The decline reasons a volunteer may pick (a host's decline and no reply are not theirs)."""

PAGE = {"content": {"text/html": {"schema": {"type": "string"}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: PAGE,
    # The page, or a JSON error where the request is refused before the page (a path
    # that is no token at all, a body too large).
    **{code: {"model": ErrorOut, **PAGE} for code in (404, 409, 410, 422)},
}


def _view(session: Any, offer: Offer) -> dict[str, Any]:
    doc = lifecycle_of(session, offer.round_id).document
    p = next((p for p in doc.get("placements", []) if p["id"] == offer.placement_id), {})
    return {
        "placement": offer.placement_id,
        "title": p.get("title", ""),
        "host": offer.host_id,
        "country": p.get("country", ""),
        "start": offer.start.isoformat(),
        "months": offer.months,
        "deadline": offer.deadline.strftime("%Y-%m-%d %H:%M UTC"),
    }


async def form_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "the form is too long")
    return body


@router.get(
    "/offers/{token}",
    responses=RESPONSES,
    summary="The volunteer's page for an offer (personal link, no key)",
)
def offer_page(
    request: Request, token: TokenPath, db: DbDep, lang: LangQuery = None
) -> HTMLResponse:
    del lang  # read with the cookie and Accept-Language by the page itself
    with db.read() as session:
        try:
            _, offer = links.resolve(session, token)
        except links.LinkRefused as exc:
            return page.offer_page(request, exc.status, error=exc.detail)
        return page.offer_page(request, offer=_view(session, offer))


@router.post(
    "/offers/{token}",
    responses=RESPONSES,
    summary="The volunteer answers the offer (form: answer, reason, text)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["answer"],
                        "properties": {
                            "answer": {"type": "string", "enum": ["accept", "decline"]},
                            "reason": {"type": "string"},
                            "text": {"type": "string", "maxLength": MAX_TEXT},
                        },
                    }
                }
            },
        }
    },
)
def offer_answer(
    request: Request,
    token: TokenPath,
    raw: Annotated[bytes, Depends(form_body)],
    session: WriteSession,
    lang: LangQuery = None,
) -> HTMLResponse:
    del lang  # read with the cookie and Accept-Language by the page itself
    try:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    except ValueError:
        form = {}
    choice, reason, text = form.get("answer"), form.get("reason") or None, form.get("text", "")
    try:
        _, offer = links.resolve(session, token)
        if choice not in ("accept", "decline"):
            return page.offer_page(request, 422, offer=_view(session, offer), error=page.NO_ANSWER)
        if choice == "decline" and reason not in REASON_LABELS:
            return page.offer_page(request, 422, offer=_view(session, offer), error=page.NO_REASON)
        if len(text) > MAX_TEXT:
            return page.offer_page(request, 422, offer=_view(session, offer), error=page.TOO_LONG)
        offer, _ = links.answer(
            session,
            token,
            choice,
            reason=None if reason is None else DeclineReason(reason).value,
            text=text,
        )
    except links.LinkRefused as exc:
        session.rollback()
        return page.offer_page(request, exc.status, error=exc.detail)
    except ApiError as exc:
        session.rollback()
        return page.offer_page(request, exc.status, error=exc.detail)
    return page.offer_page(
        request, offer={"placement": offer.placement_id, "country": ""}, answered=choice
    )
