"""The programme report of the stored rounds: their offers' events and outcomes handed
to the engine's `programme_report` (counts per round, wave, country, host, sector and
SDG target), as JSON or as a workbook.

Every stored change of state is replayed, `withdrawn` included (the service closing an
offer it moved or whose need was withdrawn: it holds no slot any more). A host's
acceptance is left out: it notes the host's yes and changes no state."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.outcomes import list_outcomes, outcome_model
from volmatch.api.service.tables import Lifecycle, OfferEvent
from volmatch.models import parse_round
from volmatch.models.lifecycle import Event, InvalidHistory


def report_events(session: Session, round_ids: list[str]) -> list[Event]:
    """The stored events of these rounds as the engine's `Event`s, oldest first."""
    rows = session.scalars(
        select(OfferEvent).where(OfferEvent.round_id.in_(round_ids)).order_by(OfferEvent.id)
    )
    return [
        Event.model_validate(
            {
                "volunteer": e.volunteer_id,
                "placement": e.placement_id,
                "at": e.at,
                "by": e.by,
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "text": e.text,
                "round": e.round_id,
                "wave": e.wave,
            }
        )
        for e in rows
        if e.from_state != e.to_state
    ]


def programme(session: Session, round_id: str | None = None) -> dict[str, Any]:
    """The report of one published round, or of all of them."""
    from volmatch.matching.lifecycle.report import programme_report

    q = select(Lifecycle).order_by(Lifecycle.published_at)
    if round_id is not None:
        q = q.where(Lifecycle.round_id == round_id)
    lcs = list(session.scalars(q))
    if round_id is not None and not lcs:
        raise ApiError(404, f"no published round with offers with id {round_id!r}")
    placements = {lc.round_id: parse_round(lc.document).placements for lc in lcs}
    ids = list(placements)
    outcomes = [outcome_model(o) for rid in ids for o in list_outcomes(session, round_id=rid)]
    try:
        return programme_report(placements, report_events(session, ids), outcomes)
    except InvalidHistory as exc:  # stored histories are checked as written: a bug
        raise ApiError(
            409,
            "the stored history does not replay: " + str(exc).splitlines()[0],
            errors=exc.errors,
        ) from None


def workbook_bytes(report: dict[str, Any]) -> bytes:
    """The report as the workbook `volmatch report` writes."""
    from volmatch.api.programme_report import write_workbook

    with tempfile.TemporaryDirectory() as tmp:
        path = write_workbook(report, Path(tmp) / "report.xlsx")
        return path.read_bytes()
