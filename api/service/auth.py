"""API keys: `vm_<id>_<secret>`, stored as the id and a SHA-256 of the secret.

The secret is 32 random bytes, so a fast hash is enough (no password stretching is
needed for a high-entropy token), and lookups stay O(1) by the public id.

A key may expire (`expires_at`, from `--expires-in-days`; none by default) and may be
revoked; either way it is a 401 from then on. Rotating replaces the secret and keeps the
id, role, host and expiry: the old token stops working at once. The last use of each
key is kept in memory by `KeyUsage` and written in one batch every `key_touch_s`, so
that reads never write.

`VerifiedKeys` remembers, per process, the keys it has verified, so that a request
with a known key learns its role without a database round trip of its own; the key is
still confirmed against the database on every request (`still_valid`), in the
endpoint's own session and thread (`routing.CommitRoute`), so a revoked, rotated or
expired key is refused on its next request, by every process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from volmatch.api.service.queries import ensure_host
from volmatch.api.service.tables import ApiKey, utcnow

Role = Literal["coordinator", "planner", "host"]
ROLES: tuple[Role, ...] = ("coordinator", "planner", "host")
MAX_EXPIRY_DAYS = 3650
"""Longest expiry a key may be given (ten years): beyond that, say none."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's public id, its role and, for a host key, the host."""

    key_id: str
    role: Role
    host_id: str | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(key_id: str, secret: str) -> str:
    return f"vm_{key_id}_{secret}"


def create_key(
    session: Session,
    role: str,
    host_id: str | None = None,
    label: str = "",
    expires_in_days: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return the row and the full token (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "host" and not host_id:
        raise ValueError("a host key needs --host-id")
    if role != "host" and host_id:
        raise ValueError("--host-id is only for host keys")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValueError(f"--expires-in-days must be 1-{MAX_EXPIRY_DAYS}")
    if len(label) > 200:
        raise ValueError("--label is longer than 200 characters")
    if host_id is not None:
        from pydantic import TypeAdapter, ValidationError

        from volmatch.models.round import HostId

        try:
            TypeAdapter(HostId).validate_python(host_id)
        except ValidationError as exc:
            raise ValueError(f"--host-id: {exc.errors()[0]['msg']}") from exc
        ensure_host(session, host_id)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    expires = None if expires_in_days is None else now + dt.timedelta(days=expires_in_days)
    row = ApiKey(
        id=key_id,
        secret_hash=_hash(secret),
        role=role,
        host_id=host_id,
        label=label,
        created_at=now,
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return row, _token(key_id, secret)


def key_state(row: ApiKey, now: dt.datetime | None = None) -> str:
    """`active`, `revoked` or `expired`."""
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def list_keys(session: Session, include_inactive: bool = False) -> list[ApiKey]:
    """Every key, oldest first (revoked and expired ones only when asked)."""
    rows = list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))
    return rows if include_inactive else [r for r in rows if key_state(r) == "active"]


def revoke_key(session: Session, key_id: str) -> ApiKey | None:
    """Revoke a key (idempotent: a revoked key keeps its first revocation time)."""
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def rotate_key(session: Session, key_id: str) -> tuple[ApiKey, str] | None:
    """A new secret for an active key; the old token stops working. None for an unknown
    key; ValueError for a revoked or expired one (make a new key instead)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return None
    state = key_state(row)
    if state != "active":
        raise ValueError(f"key {key_id} is {state}; create a new key instead")
    secret = secrets.token_urlsafe(32)
    row.secret_hash = _hash(secret)
    row.rotated_at = utcnow()
    session.flush()
    return row, _token(row.id, secret)


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a token, or None when it is unknown, malformed, revoked or
    expired."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    key_id, secret = parsed
    # The columns only, not an ORM object: this runs on every request, in the
    # endpoint's own session, whose identity map it should not fill.
    row = session.execute(
        select(
            ApiKey.secret_hash, ApiKey.role, ApiKey.host_id, ApiKey.revoked_at, ApiKey.expires_at
        ).where(ApiKey.id == key_id)
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return Principal(key_id=key_id, role=row.role, host_id=row.host_id)


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "vm" or not parts[1] or not parts[2] or len(token) > 200:
        return None
    return parts[1], parts[2]


def still_valid(session: Session, token: str, who: Principal) -> bool:
    """Whether `token` still authenticates as `who` (not revoked, rotated or expired):
    one small read, in the caller's session."""
    return authenticate(session, token) == who


MAX_VERIFIED_KEYS = 10_000
"""Keys a process remembers as verified (a few bytes each); past that it starts afresh."""


class VerifiedKeys:
    """Keys this process has verified: key id -> (hash of the secret, principal). Only
    a hint (what role to check before the endpoint runs): `still_valid` confirms every
    use against the database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, Principal]] = {}

    def get(self, token: str) -> Principal | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        with self._lock:
            found = self._known.get(parsed[0])
        if found is None or not hmac.compare_digest(found[0], _hash(parsed[1])):
            return None
        return found[1]

    def put(self, token: str, who: Principal) -> None:
        parsed = parse_token(token)
        if parsed is None:
            return
        with self._lock:
            if len(self._known) >= MAX_VERIFIED_KEYS:
                self._known.clear()
            self._known[parsed[0]] = (_hash(parsed[1]), who)

    def drop(self, key_id: str) -> None:
        with self._lock:
            self._known.pop(key_id, None)


class KeyUsage:
    """Last-use times of keys, noted per request in memory and written in one batch by
    `flush` (the app calls it every `key_touch_s` and when it stops)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, dt.datetime] = {}

    def note(self, key_id: str) -> None:
        with self._lock:
            self._seen[key_id] = utcnow()

    def take(self) -> dict[str, dt.datetime]:
        with self._lock:
            seen, self._seen = self._seen, {}
        return seen

    def flush(self, session: Session) -> int:
        """Write the noted times (never moving a time backwards); return how many."""
        seen = self.take()
        for key_id, when in sorted(seen.items()):
            session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id)
                .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < when))
                .values(last_used_at=when)
            )
        return len(seen)
