"""API keys: `vm_<id>_<secret>`, stored as the id and a SHA-256 of the secret.

The secret is 32 random bytes, so a fast hash is enough (no password stretching is
needed for a high-entropy token), and lookups stay O(1) by the public id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.queries import ensure_host
from volmatch.api.service.tables import ApiKey

Role = Literal["coordinator", "planner", "host"]
ROLES: tuple[Role, ...] = ("coordinator", "planner", "host")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's public id, its role and, for a host key, the host."""

    key_id: str
    role: Role
    host_id: str | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session, role: str, host_id: str | None = None, label: str = ""
) -> tuple[ApiKey, str]:
    """Create a key; return the row and the full token (shown once, never stored)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "host" and not host_id:
        raise ValueError("a host key needs --host-id")
    if role != "host" and host_id:
        raise ValueError("--host-id is only for host keys")
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
    row = ApiKey(id=key_id, secret_hash=_hash(secret), role=role, host_id=host_id, label=label)
    session.add(row)
    session.flush()
    return row, f"vm_{key_id}_{secret}"


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a token, or None when it is unknown, malformed or revoked."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "vm" or not parts[1] or not parts[2]:
        return None
    row = session.execute(select(ApiKey).where(ApiKey.id == parts[1])).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(parts[2])):
        return None
    return Principal(key_id=row.id, role=row.role, host_id=row.host_id)  # type: ignore[arg-type]
