"""Erasure and export of one volunteer's personal data (GDPR articles 15 and 17 style).

Erasure replaces the volunteer's id everywhere it is held (stored record, round
snapshots, results, published assignments, hosts' rankings, job errors, offers and
their events, links' offers, outcomes, reminders, backfill proposals, the planner
pages' scenario runs) by a random pseudonym and drops the personal fields (`name`,
`birth_date`) of their records, so that past rounds keep their figures but no longer
identify the person. The pseudonym is random, not derived from the id, so it cannot be
reversed.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from volmatch.api.service.tables import (
    BackfillRow,
    Erasure,
    Job,
    Lifecycle,
    Offer,
    OfferEvent,
    OutboxMessage,
    OutcomeRow,
    PlacementRow,
    Publication,
    PublishedAssignment,
    ResultPairsRow,
    ResultRow,
    ResultViewRow,
    RoundRow,
    ScenarioRun,
    VolunteerRow,
    Wave,
)

PERSONAL_FIELDS = ("name", "birth_date")


def _id_pattern(vid: str) -> re.Pattern[str]:
    # Whole ids only: erasing V1 must not touch V10 or P-V1.
    return re.compile(rf"(?<![A-Za-z0-9_.-]){re.escape(vid)}(?![A-Za-z0-9_.-])")


def _scrub(node: Any, vid: str, pseudonym: str, pattern: re.Pattern[str]) -> Any:
    if isinstance(node, dict):
        out = {k: _scrub(v, vid, pseudonym, pattern) for k, v in node.items()}
        if out.get("id") == pseudonym:
            for f in PERSONAL_FIELDS:
                out.pop(f, None)
        return out
    if isinstance(node, list):
        return [_scrub(v, vid, pseudonym, pattern) for v in node]
    if isinstance(node, str):
        return pseudonym if node == vid else pattern.sub(pseudonym, node)
    return node


def _mentions(node: Any, pattern: re.Pattern[str]) -> bool:
    if isinstance(node, dict):
        return any(_mentions(v, pattern) for v in node.values())
    if isinstance(node, list):
        return any(_mentions(v, pattern) for v in node)
    return isinstance(node, str) and pattern.search(node) is not None


def erased_since(solved: dict[str, Any], current: dict[str, Any]) -> dict[str, str]:
    """Volunteer id -> pseudonym for the volunteers of a round document `solved` (as a
    worker read it) that were erased since: erasure rewrites a round's document in place,
    keeping each record at its position, so the current document names their
    pseudonyms where `solved` names them."""
    before = [v.get("id") for v in solved.get("volunteers", [])]
    after = [v.get("id") for v in current.get("volunteers", [])]
    if len(before) != len(after):
        return {}
    return {
        old: new
        for old, new in zip(before, after, strict=True)
        if isinstance(old, str)
        and isinstance(new, str)
        and old != new
        and new.startswith("erased-")
    }


def scrub_ids(node: Any, renamed: dict[str, str]) -> Any:
    """`node` with each erased id (a key of `renamed`) replaced by its pseudonym, and the
    personal fields dropped from the records that carry it."""
    for vid, pseudonym in sorted(renamed.items()):
        node = _scrub(node, vid, pseudonym, _id_pattern(vid))
    return node


def erase_volunteer(session: Session, vid: str) -> dict[str, Any]:
    """Pseudonymise every trace of `vid`; return what was changed (counts only)."""
    pseudonym = f"erased-{secrets.token_hex(6)}"
    pattern = _id_pattern(vid)
    counts = {
        "rounds": 0,
        "results": 0,
        "placements": 0,
        "published_assignments": 0,
        "scenario_runs": 0,
    }
    row = session.get(VolunteerRow, vid)
    if row is not None:
        session.delete(row)
    touched_rounds: set[str] = set()
    # Rounds first: a worker storing a result locks its round, so an erasure and a
    # result being stored for the same round queue one behind the other, and whichever
    # comes second pseudonymises the other's writing (jobs.Worker._finish).
    for model, attr, key in (
        (RoundRow, "document", "rounds"),
        (ResultRow, "result", "results"),
        (PlacementRow, "data", "placements"),
    ):
        for obj in session.scalars(select(model)):
            value = getattr(obj, attr)
            if _mentions(value, pattern):
                setattr(obj, attr, _scrub(value, vid, pseudonym, pattern))
                counts[key] += 1
                if isinstance(obj, RoundRow | ResultRow):
                    touched_rounds.add(obj.id if isinstance(obj, RoundRow) else obj.round_id)
    # The rounds' paging views hold names and ids: dropped, their pages read the
    # pseudonymised result instead. Their stored pairs hold no ids, but scores of the
    # erased volunteer's skills and languages: dropped too, their rounds are prepared
    # from the pseudonymised document when next explained.
    if touched_rounds:
        session.execute(
            delete(ResultViewRow).where(ResultViewRow.round_id.in_(sorted(touched_rounds)))
        )
        session.execute(
            delete(ResultPairsRow).where(ResultPairsRow.round_id.in_(sorted(touched_rounds)))
        )
    # What-if runs of the planner pages: the scenario as typed (locks, ids), its
    # comparison (who moved) and its errors.
    for run in session.scalars(select(ScenarioRun)):
        touched = False
        for attr in ("scenario", "comparison", "error"):
            value = getattr(run, attr)
            if value is not None and _mentions(value, pattern):
                setattr(run, attr, _scrub(value, vid, pseudonym, pattern))
                touched = True
        counts["scenario_runs"] += touched
    for job in session.scalars(select(Job).where(Job.error.is_not(None))):
        if _mentions(job.error, pattern):
            job.error = _scrub(job.error, vid, pseudonym, pattern)
    res = session.execute(
        update(PublishedAssignment)
        .where(PublishedAssignment.volunteer_id == vid)
        .values(volunteer_id=pseudonym)
    )
    counts["published_assignments"] = int(res.rowcount or 0)  # type: ignore[attr-defined]
    counts["lifecycle"] = _erase_from_lifecycles(session, vid, pseudonym, pattern)
    session.add(Erasure(pseudonym=pseudonym))
    return {"volunteer": vid, "pseudonym": pseudonym, "changed": counts}


LIFECYCLE_FIELDS: tuple[tuple[type[Any], tuple[str, ...]], ...] = (
    (Lifecycle, ("document", "reserves")),
    (Wave, ("volunteers",)),
    (BackfillRow, ("trigger", "proposal")),
    (Offer, ("volunteer_id",)),
    (OfferEvent, ("volunteer_id", "by", "text")),
    (OutcomeRow, ("volunteer_id", "report")),
    (OutboxMessage, ("subject", "body")),
)
"""Where the lifecycle of published rounds holds volunteer ids (and, in the round
documents, personal fields). Erasure is the one change made to offer events, which are
otherwise never rewritten."""


def _erase_from_lifecycles(
    session: Session, vid: str, pseudonym: str, pattern: re.Pattern[str]
) -> int:
    """Pseudonymise `vid` in the lifecycle tables; how many rows changed."""
    changed = 0
    for model, attrs in LIFECYCLE_FIELDS:
        for obj in session.scalars(select(model)):
            hit = False
            for attr in attrs:
                value = getattr(obj, attr)
                if _mentions(value, pattern):
                    setattr(obj, attr, _scrub(value, vid, pseudonym, pattern))
                    hit = True
            changed += hit
    return changed


def export_volunteer(session: Session, vid: str) -> dict[str, Any]:
    """Everything held about `vid`, as one JSON document."""
    row = session.get(VolunteerRow, vid)
    out: dict[str, Any] = {
        "volunteer": vid,
        "record": row.data if row is not None else None,
        "record_updated_at": row.updated_at.isoformat() if row is not None else None,
        "rounds": [],
        "published_assignments": [],
        "ranked_by_placements": [],
    }
    for r in session.scalars(select(RoundRow).order_by(RoundRow.created_at)):
        rec = next((v for v in r.document.get("volunteers", []) if v.get("id") == vid), None)
        if rec is None:
            continue
        entry: dict[str, Any] = {
            "round": r.id,
            "name": r.name,
            "created_at": r.created_at.isoformat(),
            "record_in_round": rec,
        }
        res = session.get(ResultRow, r.id)
        if res is not None:
            doc = res.result
            entry["assignment"] = next(
                (a for a in doc.get("assignments", []) if a.get("volunteer") == vid), None
            )
            entry["unmatched"] = next(
                (u for u in doc.get("unmatched_volunteers", []) if u.get("volunteer") == vid),
                None,
            )
        out["rounds"].append(entry)
    q = (
        select(PublishedAssignment, Publication)
        .join(Publication, Publication.id == PublishedAssignment.publication_id)
        .where(PublishedAssignment.volunteer_id == vid)
        .order_by(Publication.published_at)
    )
    for a, pub in session.execute(q):
        out["published_assignments"].append(
            {
                "round": pub.round_id,
                "published_at": pub.published_at.isoformat(),
                "placement": a.placement_id,
                "host": a.host_id,
                "start": a.start.isoformat(),
                "months": a.months,
            }
        )
    for p in session.scalars(select(PlacementRow).order_by(PlacementRow.id)):
        if vid in p.data.get("ranking", []):
            out["ranked_by_placements"].append(p.id)
    return out
