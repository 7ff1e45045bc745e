"""The reminders feed (the outbox read with the caller's rights) and the lifecycle tick."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from volmatch.api.service.deps import IDEMPOTENT, Anyone, Coordinator, ReadSession, WriteSession
from volmatch.api.service.errors import forbidden
from volmatch.api.service.lifecycle.reminders import feed, tick
from volmatch.api.service.lifecycle.schemas import ReminderPublic, TickOut
from volmatch.api.service.routing import CommitRoute

router = APIRouter(tags=["reminders"], route_class=CommitRoute)


@router.get(
    "/reminders",
    response_model=list[ReminderPublic],
    summary="Reminders for the caller's role, newest first (a host: its own)",
)
def get_reminders(
    session: ReadSession,
    who: Anyone,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ReminderPublic]:
    if who.role == "planner":
        raise forbidden("read reminders")
    return [
        ReminderPublic.model_validate(m, from_attributes=True)
        for m in feed(session, who.role, who.host_id, limit=limit)
    ]


@router.post(
    "/lifecycle/tick",
    response_model=TickOut,
    summary="Expire overdue offers and queue due reminders now (the service also "
    "does it every lifecycle_tick_s)",
    dependencies=IDEMPOTENT,
)
def post_tick(session: WriteSession, _: Coordinator) -> TickOut:
    done = tick(session)
    return TickOut(expired=done.expired, queued=done.queued, sent=0)
