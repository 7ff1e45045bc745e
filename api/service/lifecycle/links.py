"""The volunteer's personal link to an offer: `ol_<id>_<secret>`, shown once when
issued; only the id and a SHA-256 of the secret are stored. A link answers its offer
once, stops working when the offer expires or is answered, and issuing a new link
revokes the earlier ones. Unknown, forged, used and expired links change nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.replies import Answer, reply
from volmatch.api.service.queries import lock_row
from volmatch.api.service.tables import BackfillRow, Offer, OfferToken, utcnow
from volmatch.models.lifecycle import OfferState

TOKEN_PATTERN = r"^ol_[0-9a-f]{16}_[A-Za-z0-9_-]{20,64}$"
"""What a link's token looks like; anything else is refused without a database read."""
_TOKEN = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class IssuedLink:
    token: str
    offer_id: int
    expires_at: dt.datetime


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, offer: Offer, now: dt.datetime | None = None) -> IssuedLink:
    """A new link for an open offer (earlier links of the offer are revoked)."""
    now = now or utcnow()
    if offer.state != OfferState.OFFERED or offer.deadline <= now:
        raise ApiError(
            409, f"offer {offer.id} is not open ({offer.state}); no link is issued for it"
        )
    session.execute(
        update(OfferToken)
        .where(
            OfferToken.offer_id == offer.id,
            OfferToken.revoked_at.is_(None),
            OfferToken.used_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    tid, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
    session.add(
        OfferToken(
            id=tid,
            offer_id=offer.id,
            secret_hash=_hash(secret),
            created_at=now,
            expires_at=offer.deadline,
        )
    )
    session.flush()
    return IssuedLink(f"ol_{tid}_{secret}", offer.id, offer.deadline)


class LinkRefused(ApiError):
    """A link that cannot answer: unknown or forged (404), used, revoked, expired or
    its offer answered (410)."""


def resolve(
    session: Session, token: str, now: dt.datetime | None = None, *, lock: bool = False
) -> tuple[OfferToken, Offer]:
    """The link and its offer, if the link may still answer; `LinkRefused` otherwise."""
    now = now or utcnow()
    m = _TOKEN.match(token)
    if m is None:
        raise LinkRefused(404, "this link is not valid")
    tid, secret = token[3:19], token[20:]
    row = lock_row(session, OfferToken, tid) if lock else session.get(OfferToken, tid)
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise LinkRefused(404, "this link is not valid")
    offer = lock_row(session, Offer, row.offer_id) if lock else session.get(Offer, row.offer_id)
    assert offer is not None
    if row.used_at is not None:
        raise LinkRefused(410, "this link was used already: the offer has been answered")
    if row.revoked_at is not None:
        raise LinkRefused(410, "this link was replaced by a newer one")
    if offer.state != OfferState.OFFERED:
        raise LinkRefused(410, f"this offer can no longer be answered (it is {offer.state})")
    if now >= min(row.expires_at, offer.deadline):
        raise LinkRefused(410, "this offer has expired")
    return row, offer


def answer(
    session: Session,
    token: str,
    choice: Answer,
    *,
    reason: str | None = None,
    text: str = "",
    now: dt.datetime | None = None,
) -> tuple[Offer, BackfillRow | None]:
    """The volunteer answers through the link: the reply is recorded (by
    `volunteer:link`) and the link used up, in one transaction."""
    now = now or utcnow()
    row, offer = resolve(session, token, now, lock=True)
    proposal = reply(
        session,
        offer,
        choice,
        by=f"volunteer:{offer.volunteer_id}",
        reason=reason,
        text=text,
        now=now,
    )
    row.used_at = now
    session.flush()
    return offer, proposal


def links_of(session: Session, offer_id: int) -> list[OfferToken]:
    return list(
        session.scalars(
            select(OfferToken)
            .where(OfferToken.offer_id == offer_id)
            .order_by(OfferToken.created_at)
        )
    )
