"""Server-side sessions of the web pages and one-time sign-in links.

The cookie holds a random token; the table holds only its SHA-256 (a stolen database
gives no session), the API key it signed in with, its CSRF token and its end. A session
lives while its key is active: revoking or expiring the key signs its browsers out.
A sign-in link is the same kind of token, stored hashed, good once and until it expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal, key_state
from volmatch.api.service.tables import ApiKey, SignInLink, WebSession, utcnow

COOKIE = "volmatch_session"
"""The session cookie's name."""
TOKEN_BYTES = 32
"""Random bytes of a session or link token: unguessable, as an API key's secret."""
MAX_TOKEN = 100
"""Longest token looked up: anything longer is no token of ours."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """A live session: who (the key's principal), its id (the token's hash), its CSRF
    token and when it ends."""

    principal: Principal
    session_id: str
    csrf: str
    expires_at: dt.datetime


def start_session(session: Session, key_id: str, hours: float) -> str:
    """A new session for the key `key_id`; return the cookie's token (shown once)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        WebSession(
            id=_hash(token),
            key_id=key_id,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def find_session(session: Session, token: str | None) -> SignedIn | None:
    """The live session of a cookie's token, or None: unknown, ended, expired, or its key
    revoked or expired."""
    if not token or len(token) > MAX_TOKEN:
        return None
    row = session.get(WebSession, _hash(token))
    if row is None or row.expires_at <= utcnow():
        return None
    key = session.get(ApiKey, row.key_id)
    if key is None or key_state(key) != "active":
        return None
    who = Principal(key_id=key.id, role=key.role, host_id=key.host_id)  # type: ignore[arg-type]
    return SignedIn(principal=who, session_id=row.id, csrf=row.csrf, expires_at=row.expires_at)


def end_session(session: Session, session_id: str) -> None:
    """Sign out: the session's row goes, so its cookie is worth nothing from now on."""
    session.execute(delete(WebSession).where(WebSession.id == session_id))


def purge_sessions(session: Session) -> int:
    """Delete the sessions past their end and the sign-in links past theirs (used links
    are kept until then, so that a second use is told "used"); return how many."""
    now = utcnow()
    gone = 0
    for table, column in ((WebSession, WebSession.expires_at), (SignInLink, SignInLink.expires_at)):
        done = session.execute(delete(table).where(column <= now))
        gone += int(getattr(done, "rowcount", 0) or 0)
    return gone


def create_link(session: Session, key_id: str, hours: float) -> str:
    """A one-time sign-in link token for the key `key_id`, good for `hours`."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        SignInLink(
            id=_hash(token),
            key_id=key_id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def redeem_link(session: Session, token: str) -> str | None:
    """Use a sign-in link: the key id it signs in, or None when the link is unknown,
    used, expired, or its key no longer active. Marked used in the caller's transaction
    by a conditional update, so two browsers racing on one link get one session."""
    if not token or len(token) > MAX_TOKEN:
        return None
    link_id = _hash(token)
    now = utcnow()
    taken = session.execute(
        update(SignInLink)
        .where(SignInLink.id == link_id, SignInLink.used_at.is_(None), SignInLink.expires_at > now)
        .values(used_at=now)
    )
    if not getattr(taken, "rowcount", 0):
        return None
    link = session.get(SignInLink, link_id)
    key = None if link is None else session.get(ApiKey, link.key_id)
    if key is None or key_state(key) != "active":
        return None
    return key.id
