"""Wake-ups of the backfill runners (`lifecycle.pending`): a transaction that stores a
pending proposal marks its session (`note_pending`), and when it commits the runners of
this process stop waiting for their next sweep."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import Session

_KEY = "volmatch.backfill_pending"
_wake = threading.Condition()
_generation = 0


def note_pending(session: Session) -> None:
    """Wake the runners once this session's transaction commits."""
    session.info[_KEY] = True


def wake() -> None:
    """Wake every runner of this process now."""
    global _generation
    with _wake:
        _generation += 1
        _wake.notify_all()


def generation() -> int:
    """A number that changes with every wake-up."""
    with _wake:
        return _generation


def wait(seen: int, timeout_s: float) -> None:
    """Wait until a wake-up after `generation()` returned `seen`, or `timeout_s`."""
    with _wake:
        if _generation == seen:
            _wake.wait(timeout_s)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_KEY, False):
        wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
