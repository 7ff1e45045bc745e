"""The volunteer's personal link: `GET /offers/{token}` shows the offer and a form,
`POST /offers/{token}` answers it (form fields `answer`, `reason`, `text`). No account
and no API key: the token is the key, single use, valid until the offer's deadline. A
small standalone page (`api/web/templates/offer_reply.html`); an unknown or forged link
is a 404 page, a used, replaced or expired one a 410 page, a bad answer a 422 page, and
none of them changes anything."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from volmatch.api.service.deps import DbDep, WriteSession
from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle import links
from volmatch.api.service.lifecycle.offers import lifecycle_of
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ErrorOut
from volmatch.api.service.tables import Offer
from volmatch.models.lifecycle import DeclineReason

router = APIRouter(tags=["offer link"], route_class=CommitRoute)

TEMPLATES = FilePath(__file__).resolve().parents[2] / "web" / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

TokenPath = Annotated[
    str,
    Path(
        pattern=links.TOKEN_PATTERN,
        max_length=100,
        description="The token of the volunteer's personal link.",
    ),
]
MAX_FORM_BYTES = 8_000
"""A reply form is three short fields; anything longer is refused."""
REASON_LABELS = {
    "personal": "Personal reasons",
    "health": "Health",
    "other_offer": "I took another offer",
    "dates": "The dates do not suit me",
    "location": "The location does not suit me",
    "role_fit": "The role does not fit me",
    "visa": "Visa or travel documents",
    "other": "Another reason",
}
"""The decline reasons a volunteer may pick (a host's decline and no reply are not theirs)."""

PAGE = {"content": {"text/html": {"schema": {"type": "string"}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: PAGE,
    # The page, or a JSON error where the request is refused before the page (a path
    # that is no token at all, a body too large).
    **{code: {"model": ErrorOut, **PAGE} for code in (404, 409, 410, 422)},
}


def _page(status: int = 200, **ctx: Any) -> HTMLResponse:
    html = _env.get_template("offer_reply.html").render(
        {"offer": None, "error": None, "done": None, "reasons": list(REASON_LABELS.items()), **ctx}
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


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
def offer_page(token: TokenPath, db: DbDep) -> HTMLResponse:
    with db.read() as session:
        try:
            _, offer = links.resolve(session, token)
        except links.LinkRefused as exc:
            return _page(exc.status, error=exc.detail)
        return _page(offer=_view(session, offer))


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
                            "text": {"type": "string", "maxLength": 2000},
                        },
                    }
                }
            },
        }
    },
)
def offer_answer(
    token: TokenPath, raw: Annotated[bytes, Depends(form_body)], session: WriteSession
) -> HTMLResponse:
    try:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    except ValueError:
        form = {}
    choice, reason, text = form.get("answer"), form.get("reason") or None, form.get("text", "")
    try:
        _, offer = links.resolve(session, token)
        if choice not in ("accept", "decline"):
            return _page(
                422,
                offer=_view(session, offer),
                error="choose whether you accept or decline the offer",
            )
        if choice == "decline" and reason not in REASON_LABELS:
            return _page(
                422,
                offer=_view(session, offer),
                error="choose a reason for declining: " + ", ".join(REASON_LABELS.values()),
            )
        offer, _ = links.answer(
            session,
            token,
            choice,
            reason=None if reason is None else DeclineReason(reason).value,
            text=text[:2000],
        )
    except links.LinkRefused as exc:
        session.rollback()
        return _page(exc.status, error=exc.detail)
    except ApiError as exc:
        session.rollback()
        return _page(exc.status, error=exc.detail)
    word = "accepted" if choice == "accept" else "declined"
    return _page(
        done=f"You have {word} the offer of placement {offer.placement_id}. "
        "Your coordinator will be in touch."
    )
