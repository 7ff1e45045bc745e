"""Host partners: the organisations that own placements; and `/me`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    Coordinator,
    HostPath,
    ReadSession,
    WriteSession,
)
from volmatch.api.service.errors import conflict, not_found
from volmatch.api.service.queries import add_new
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import HostCreate, HostPublic, KeyInfo
from volmatch.api.service.tables import Host

router = APIRouter(tags=["hosts"], route_class=CommitRoute)


def _public(h: Host) -> HostPublic:
    return HostPublic(id=h.id, name=h.name, created_at=h.created_at)


@router.get("/me", response_model=KeyInfo, summary="The calling key's role and host")
def me(who: Anyone) -> KeyInfo:
    return KeyInfo(key_id=who.key_id, role=who.role, host_id=who.host_id)


@router.post(
    "/hosts",
    status_code=201,
    response_model=HostPublic,
    summary="Register a host",
    dependencies=IDEMPOTENT,
)
def create_host(
    body: HostCreate, session: WriteSession, _: Coordinator, response: Response
) -> HostPublic:
    if session.get(Host, body.id) is not None:
        raise conflict(f"host {body.id!r} already exists", [body.id])
    h = Host(id=body.id, name=body.name)
    if not add_new(session, h):
        raise conflict(f"host {body.id!r} was registered by a concurrent request", [body.id])
    response.headers["Location"] = f"/hosts/{h.id}"
    return _public(h)


@router.get("/hosts", response_model=list[HostPublic], summary="Host partners")
def list_hosts(session: ReadSession, who: Anyone) -> list[HostPublic]:
    q = select(Host).order_by(Host.id)
    if who.role == "host":
        q = q.where(Host.id == who.host_id)
    return [_public(h) for h in session.scalars(q)]


@router.get("/hosts/{host_id}", response_model=HostPublic, summary="One host partner")
def get_host(host_id: HostPath, session: ReadSession, who: Anyone) -> HostPublic:
    h = session.get(Host, host_id)
    if h is None or (who.role == "host" and who.host_id != host_id):
        raise not_found("host", host_id)
    return _public(h)
