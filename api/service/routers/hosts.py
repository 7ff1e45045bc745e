"""Host partners: the organisations that own placements."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from volmatch.api.service.deps import Anyone, Coordinator, SessionDep
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.schemas import HostCreate, HostPublic, KeyInfo
from volmatch.api.service.tables import Host

router = APIRouter(tags=["hosts"])


def _public(h: Host) -> HostPublic:
    return HostPublic(id=h.id, name=h.name, created_at=h.created_at)


@router.get("/me", response_model=KeyInfo, summary="The calling key's role and host")
def me(who: Anyone) -> KeyInfo:
    return KeyInfo(key_id=who.key_id, role=who.role, host_id=who.host_id)


@router.post("/hosts", status_code=201, response_model=HostPublic, summary="Register a host")
def create_host(body: HostCreate, session: SessionDep, _: Coordinator) -> HostPublic:
    if session.get(Host, body.id) is not None:
        raise ApiError(409, f"host {body.id!r} already exists")
    h = Host(id=body.id, name=body.name)
    session.add(h)
    session.flush()
    return _public(h)


@router.get("/hosts", response_model=list[HostPublic], summary="Host partners")
def list_hosts(session: SessionDep, who: Anyone) -> list[HostPublic]:
    q = select(Host).order_by(Host.id)
    if who.role == "host":
        q = q.where(Host.id == who.host_id)
    return [_public(h) for h in session.scalars(q)]


@router.get("/hosts/{host_id}", response_model=HostPublic, summary="One host partner")
def get_host(host_id: str, session: SessionDep, who: Anyone) -> HostPublic:
    h = session.get(Host, host_id)
    if h is None or (who.role == "host" and who.host_id != host_id):
        raise not_found("host", host_id)
    return _public(h)
