"""API keys for coordinators: list, create, revoke, rotate (the same as `volmatch keys`).

A new or rotated key's token is in the answer once and never again: only its hash is
stored. An expired or revoked key is a 401 from then on.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from volmatch.api.service.auth import (
    Principal,
    create_key,
    key_state,
    list_keys,
    revoke_key,
    rotate_key,
)
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    Coordinator,
    KeyPath,
    ReadSession,
    WriteSession,
)
from volmatch.api.service.errors import ApiError, invalid, not_found
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ApiKeyCreate, ApiKeyPublic, ApiKeyWithToken
from volmatch.api.service.tables import ApiKey

router = APIRouter(tags=["keys"], route_class=CommitRoute)


async def _admin(who: Anyone, key_id: KeyPath) -> Principal:
    """Only coordinators manage keys; to any other key a key id is a 404, like every
    object id it may not see."""
    if who.role != "coordinator":
        raise not_found("key", key_id)
    return who


KeyAdmin = Annotated[Principal, Depends(_admin)]


def _public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        id=row.id,
        role=row.role,
        host_id=row.host_id,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rotated_at=row.rotated_at,
        last_used_at=row.last_used_at,
        state=key_state(row),
    )


@router.get("/keys", response_model=list[ApiKeyPublic], summary="API keys (no secrets)")
def get_keys(
    session: ReadSession,
    _: Coordinator,
    all_keys: bool = Query(False, alias="all", description="Also revoked and expired keys."),
) -> list[ApiKeyPublic]:
    return [_public(r) for r in list_keys(session, include_inactive=all_keys)]


@router.get("/keys/{key_id}", response_model=ApiKeyPublic, summary="One API key")
def get_key(key_id: KeyPath, session: ReadSession, _: KeyAdmin) -> ApiKeyPublic:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise not_found("key", key_id)
    return _public(row)


@router.post(
    "/keys",
    status_code=201,
    response_model=ApiKeyWithToken,
    summary="Create a key (its token is shown once)",
    dependencies=IDEMPOTENT,
)
def post_key(
    body: ApiKeyCreate, session: WriteSession, _: Coordinator, response: Response
) -> ApiKeyWithToken:
    try:
        row, token = create_key(session, body.role, body.host_id, body.label, body.expires_in_days)
    except ValueError as exc:
        message = str(exc)
        for flag in ("host-id", "expires-in-days", "label"):
            message = message.replace(f"--{flag}", flag.replace("-", "_"))
        raise invalid("keys", "body", "", message) from None
    response.headers["Location"] = f"/keys/{row.id}"
    return ApiKeyWithToken(key=_public(row), token=token)


@router.post(
    "/keys/{key_id}/revoke",
    response_model=ApiKeyPublic,
    summary="Revoke a key (a 401 from now on)",
    dependencies=IDEMPOTENT,
)
def post_revoke(key_id: KeyPath, session: WriteSession, _: KeyAdmin) -> ApiKeyPublic:
    row = revoke_key(session, key_id)
    if row is None:
        raise not_found("key", key_id)
    return _public(row)


@router.post(
    "/keys/{key_id}/rotate",
    response_model=ApiKeyWithToken,
    summary="A new secret for a key (the old token stops working; shown once)",
    dependencies=IDEMPOTENT,
)
def post_rotate(key_id: KeyPath, session: WriteSession, _: KeyAdmin) -> ApiKeyWithToken:
    try:
        rotated = rotate_key(session, key_id)
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None
    if rotated is None:
        raise not_found("key", key_id)
    row, token = rotated
    return ApiKeyWithToken(key=_public(row), token=token)
