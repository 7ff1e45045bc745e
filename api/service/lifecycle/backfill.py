"""Backfill proposals, waves and withdrawn needs.

A decline, an expiry, a withdrawn need, a new wave or a coordinator's `POST
.../backfills` asks the engine (`propose_backfill`) to re-match what is open with
everyone who said yes frozen; the proposal is stored with the round's version at that
moment. Confirming it makes its new offers and closes the moved ones, and moves the
version on by compare-and-set: of two coordinators confirming at once one wins, the
other gets 409 (refresh); a proposal computed before any later change of the round is
refused the same way.

None of them waits for the engine (on a round with policy rules it solves for seconds,
and inside the write transaction it held SQLite's one writer that long):
`request_proposal` stores a `pending` proposal with the change, and once that has
committed `compute_pending` solves outside any write transaction and stores the
proposal in a short one of its own (`open`; `failed` with the reason when the offers no
longer fit the document). A proposal still pending after a crash is computed by the
next sweep (`lifecycle.pending`).

A proposal superseded while the engine solves it (a later change asked for a new one)
is no longer wanted: the engine is told to stop (`matching.stop`; the rules solver
stops mid-search) and the next proposal starts at once instead of after tens of
seconds of a solve whose answer would be thrown away. The same stops it when its API
process shuts down; it then stays pending for the next sweep.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from volmatch.api.service.db import Database
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.lifecycle import engine
from volmatch.api.service.lifecycle.offers import (
    bump,
    change_state,
    claim_version,
    latest_offers,
    lifecycle_of,
    make_offer,
)
from volmatch.api.service.lifecycle.states import (
    HOLDING,
    VACATING_STATES,
    WITHDRAWABLE,
    WITHDRAWN,
)
from volmatch.api.service.lifecycle.wakeup import note_pending
from volmatch.api.service.queries import placement_rows, volunteer_rows
from volmatch.api.service.tables import BackfillRow, Lifecycle, Wave, utcnow
from volmatch.models import InvalidRound, TooManyPairs, parse_round, round_to_dict
from volmatch.models.lifecycle import InvalidBackfill


def standing(session: Session, round_id: str) -> tuple[dict[str, str], list[str], list[str]]:
    """What the engine is told: volunteer -> placement of every live or declined offer,
    who declined or let it expire, and who holds their slot (said yes, or is there).
    A volunteer whose newest offer was withdrawn is free again and left out."""
    offers: dict[str, str] = {}
    declined: list[str] = []
    holding: list[str] = []
    for v, o in latest_offers(session, round_id).items():
        if o.state == WITHDRAWN:
            continue
        offers[v] = o.placement_id
        if o.state in VACATING_STATES:
            declined.append(v)
        elif o.state in HOLDING:
            holding.append(v)
    return offers, declined, holding


PENDING, FAILED = "pending", "failed"
"""Statuses of a proposal requested but not computed yet, and of one the engine refused."""
MAX_RECOMPUTE = 3
"""Times `compute_pending` solves again when the round changed while it solved (each
change of a round is a reply or a confirmation: a few seconds apart at most)."""
WANTED_POLL_S = 0.25
"""Seconds between looks (a read of one status) at whether the proposal being solved is
still pending: a superseded one stops within about this (plus the solver's own
`STOP_POLL_S`), and a solve of tens of seconds costs a read a quarter second."""


def no_longer_wanted(
    db: Database, backfill_id: int, stopping: threading.Event | None = None
) -> Callable[[], bool]:
    """The `matching.stop` signal of a proposal's solve: whether the proposal is no
    longer pending (superseded by a newer one, or stored by another process), read at
    most every `WANTED_POLL_S`, or `stopping` (the API process shuts down) is set. Once
    it said stop it says so for good; a failed read says go on."""
    lock = threading.Lock()
    state = {"next": 0.0, "stop": False}

    def stop() -> bool:
        if stopping is not None and stopping.is_set():
            return True
        with lock:
            now = time.monotonic()
            if state["stop"] or now < state["next"]:
                return bool(state["stop"])
            state["next"] = now + WANTED_POLL_S
            try:
                with db.read() as session:
                    status = session.scalar(
                        select(BackfillRow.status).where(BackfillRow.id == backfill_id)
                    )
            except Exception:  # a database hiccup is no reason to drop the solve
                return False
            state["stop"] = status != PENDING
            return bool(state["stop"])

    return stop


def _supersede(session: Session, round_id: str) -> None:
    """Earlier open or pending proposals of the round are superseded by a new one."""
    session.execute(
        update(BackfillRow)
        .where(BackfillRow.round_id == round_id, BackfillRow.status.in_(("open", PENDING)))
        .values(status="superseded")
        .execution_options(synchronize_session=False)
    )


def solve(
    document: dict[str, Any],
    offers: dict[str, str],
    declined: list[str],
    holding: list[str],
    withdrawn: list[str],
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """The engine's proposal for the round as it stands, as JSON (InvalidBackfill when
    the offers no longer fit the document; `Stopped` when `stop` says stop first). Each
    new offer also carries its `start` and `months`, so that confirming it needs no
    preparation of the round (seconds at 50,000 volunteers) inside its write
    transaction."""
    from volmatch.matching.lifecycle import propose_backfill

    prep = engine.prepared(document)
    proposal = propose_backfill(
        prep, offers, declined=declined, accepted=holding, withdrawn=withdrawn, stop=stop
    )
    out = proposal.model_dump(mode="json", by_alias=True)
    terms = engine.pair_terms(prep, _new_pairs(out))
    for n in out["new_offers"]:
        t = terms[(n["volunteer"], n["placement"])]
        n["start"], n["months"] = t.start.isoformat(), t.months
    return out


def _new_pairs(proposal: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["volunteer"], n["placement"]) for n in proposal["new_offers"]]


def _offer_terms(
    document: dict[str, Any], proposal: dict[str, Any]
) -> dict[tuple[str, str], engine.PairTerms]:
    """(volunteer, placement) -> score, start, months of each new offer: as the proposal
    carries them, or, for one stored before it did, from the round prepared now."""
    if all("start" in n and "months" in n for n in proposal["new_offers"]):
        return {
            (n["volunteer"], n["placement"]): engine.PairTerms(
                int(n["score"]), dt.date.fromisoformat(n["start"]), int(n["months"])
            )
            for n in proposal["new_offers"]
        }
    return engine.pair_terms(engine.prepared(document), _new_pairs(proposal))


def request_proposal(
    session: Session,
    lc: Lifecycle,
    trigger: dict[str, Any],
    *,
    by: str,
    now: dt.datetime | None = None,
) -> BackfillRow:
    """A `pending` proposal at the round's current version, computed once this
    transaction has committed (`compute_pending`); earlier ones are superseded."""
    now = now or utcnow()
    _supersede(session, lc.round_id)
    row = BackfillRow(
        round_id=lc.round_id,
        version=lc.version,
        wave=lc.wave,
        status=PENDING,
        trigger=trigger,
        proposal={},
        created_by=by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    note_pending(session)
    return row


def pending_ids(session: Session) -> list[int]:
    """Proposals still to compute, oldest first."""
    return list(
        session.scalars(
            select(BackfillRow.id).where(BackfillRow.status == PENDING).order_by(BackfillRow.id)
        )
    )


def compute_pending(
    db: Database, backfill_id: int, stopping: threading.Event | None = None
) -> str | None:
    """Compute a pending proposal outside any write transaction and store it in a short
    one; its new status, or None when it was no longer pending (superseded, or another
    process stored it: the solve stops as soon as it is seen) or the round kept changing
    while it solved, or `stopping` was set (it stays pending for the next sweep).
    Volunteers erased while it solved are pseudonymised in it, as in a round's result."""
    from volmatch.api.service.privacy import erased_since, scrub_ids
    from volmatch.matching.stop import Stopped

    stop = no_longer_wanted(db, backfill_id, stopping)

    for _ in range(MAX_RECOMPUTE):
        with db.read() as session:
            row = session.get(BackfillRow, backfill_id)
            if row is None or row.status != PENDING:
                return None
            lc = lifecycle_of(session, row.round_id)
            round_id, version, document = row.round_id, lc.version, lc.document
            withdrawn = list(lc.withdrawn)
            offers, declined, holding = standing(session, round_id)
        try:
            # (`stop` positionally: the tests' stand-ins for `solve` take *args)
            proposal: dict[str, Any] = solve(document, offers, declined, holding, withdrawn, stop)
            status = "open"
        except Stopped:
            return None  # superseded (stored as such) or the process stops: nothing to store
        except InvalidBackfill as exc:
            status = FAILED
            proposal = {
                "error": "the round's offers no longer fit its document; "
                + str(exc).splitlines()[0]
            }
        except TooManyPairs as exc:
            # over the pair limit (lowered since the round was solved): never computed,
            # and not retried by every sweep; the reason carries counts, no names
            status, proposal = FAILED, {"error": str(exc.errors[0])}
        with db.write() as session:
            current = lifecycle_of(session, round_id, lock=True)  # serialises with changes
            row = session.get(BackfillRow, backfill_id, populate_existing=True)
            if row is None or row.status != PENDING:
                return None
            if current.version != version:
                continue  # the round changed while the engine solved: again
            renamed = erased_since(document, current.document)
            if renamed:
                proposal = scrub_ids(proposal, renamed)
            # the version it was computed at: later than asked for when the round moved on
            row.proposal, row.status, row.version = proposal, status, version
            return status
    return None


def visible_backfill(session: Session, round_id: str, backfill_id: int) -> BackfillRow:
    row = session.get(BackfillRow, backfill_id)
    if row is None or row.round_id != round_id:
        raise not_found("backfill proposal of this round", str(backfill_id))
    return row


def list_backfills(session: Session, round_id: str) -> list[BackfillRow]:
    lifecycle_of(session, round_id)
    return list(
        session.scalars(
            select(BackfillRow).where(BackfillRow.round_id == round_id).order_by(BackfillRow.id)
        )
    )


def confirm(
    session: Session,
    round_id: str,
    backfill_id: int,
    *,
    by: str,
    now: dt.datetime | None = None,
) -> BackfillRow:
    """Carry out a proposal: withdraw the moved offers, make the new ones (answerable
    for `offer_days`). 409 when it was confirmed or superseded already, or the round
    changed since it was computed (the caller refreshes and looks again)."""
    now = now or utcnow()
    row = visible_backfill(session, round_id, backfill_id)
    if row.status != "open":
        raise ApiError(
            409,
            f"backfill proposal {backfill_id} is {row.status}; refresh and "
            "look at the current proposal",
            extra={"status": row.status},
        )
    if not claim_version(session, round_id, row.version):
        raise ApiError(
            409,
            f"round {round_id!r} changed since backfill proposal "
            f"{backfill_id} was computed (a reply, an expiry or another "
            "confirmation came first); refresh and look at the current proposal",
        )
    lc = lifecycle_of(session, round_id)
    row = visible_backfill(session, round_id, backfill_id)
    proposal = row.proposal
    live = latest_offers(session, round_id)
    for move in proposal["moves"]:
        offer = live.get(move["volunteer"])
        if offer is None or offer.placement_id != move["from"] or offer.state not in WITHDRAWABLE:
            raise ApiError(
                409,
                f"the offer of {move['volunteer']} changed since backfill "
                f"proposal {backfill_id}; refresh",
            )
        text = move["reason"] if move["to"] is None else f"moved to {move['to']}: {move['reason']}"
        change_state(session, offer, WITHDRAWN, by=by, action="backfill", text=text[:2000], now=now)
    terms = _offer_terms(lc.document, proposal)
    hosts = {p["id"]: p["host"] for p in lc.document.get("placements", [])}
    deadline = now + dt.timedelta(days=lc.offer_days)
    for n in proposal["new_offers"]:
        t = terms[(n["volunteer"], n["placement"])]
        why = ("replaces " + ", ".join(n["replaces"])) if n["replaces"] else "backfill"
        make_offer(
            session,
            round_id=round_id,
            wave=lc.wave,
            volunteer=n["volunteer"],
            placement=n["placement"],
            host=hosts[n["placement"]],
            score=t.score,
            start=t.start,
            months=t.months,
            deadline=deadline,
            by=by,
            action="backfill",
            text=why,
            now=now,
        )
    row.status, row.confirmed_by, row.confirmed_at = "confirmed", by, now
    session.flush()
    return row


@dataclass(frozen=True)
class WaveDocument:
    """A round's document with a wave's records added, built outside the write (parsing
    and checking a round of 50,000 volunteers takes seconds), and what it was built
    from: the round's version and the erasures mark at that read."""

    round_id: str
    version: int
    mark: tuple[int, str]
    document: dict[str, Any]


def wave_document(
    session: Session, round_id: str, volunteers: list[str], placements: list[str]
) -> WaveDocument:
    """The round's document with the stored records of late volunteers and needs added
    (422 naming each id that is unknown or in the round already)."""
    from volmatch.api.service.result_pages import erasures_mark
    from volmatch.matching.lifecycle import add_wave
    from volmatch.models import ErrorItem

    lc = lifecycle_of(session, round_id)
    have_v = {v["id"] for v in lc.document.get("volunteers", [])}
    have_p = {p["id"] for p in lc.document.get("placements", [])}
    vols = [dict(r.data) for r in volunteer_rows(session, volunteers)]
    pls = [dict(r.data) for r in placement_rows(session, placements)]
    errors = []
    for section, asked, got, have in (
        ("volunteers", volunteers, vols, have_v),
        ("placements", placements, pls, have_p),
    ):
        found = {d["id"] for d in got}
        for i in asked:
            if i not in found:
                errors.append(ErrorItem(section, i, "id", f"no stored {section[:-1]} with this id"))
            elif i in have:
                errors.append(ErrorItem(section, i, "id", f"already in round {round_id}"))
    if not volunteers and not placements:
        errors.append(
            ErrorItem(
                "wave", "wave", "volunteers", "a wave adds at least one volunteer or placement"
            )
        )
    if errors:
        raise InvalidRound(errors)
    ids = have_v | {v["id"] for v in vols}
    for v in vols:  # references to records outside the round are dropped, as in snapshots
        if "preferences" in v:
            v["preferences"] = [p for p in v["preferences"] if p in have_p | set(placements)]
    for p in pls:
        if "ranking" in p:
            p["ranking"] = [v for v in p["ranking"] if v in ids]
    new = add_wave(parse_round(lc.document), vols, pls)
    return WaveDocument(round_id, lc.version, erasures_mark(session), round_to_dict(new))


def open_wave(
    session: Session,
    round_id: str,
    volunteers: list[str],
    placements: list[str],
    *,
    by: str,
    ready: WaveDocument | None = None,
    now: dt.datetime | None = None,
) -> tuple[Wave, BackfillRow]:
    """A new wave: the stored records of late volunteers and needs join the round
    (earlier waves' acceptances stay frozen) and a backfill proposal is asked for
    (pending: computed after the commit). `ready`: the new document built before this
    write (`wave_document` in a read session), used unless the round changed or an
    erasure came since; else it is built again here."""
    from volmatch.api.service.result_pages import erasures_mark

    now = now or utcnow()
    lc = lifecycle_of(session, round_id, lock=True)
    fresh = (
        ready is not None
        and ready.round_id == round_id
        and ready.version == lc.version
        and ready.mark == erasures_mark(session)
    )
    if not fresh or ready is None:
        ready = wave_document(session, round_id, volunteers, placements)
    lc.document = ready.document
    lc.wave += 1
    wave = Wave(
        round_id=round_id,
        number=lc.wave,
        volunteers=sorted(volunteers),
        placements=sorted(placements),
        opened_by=by,
        opened_at=now,
    )
    session.add(wave)
    bump(session, lc, now)
    row = request_proposal(session, lc, {"kind": "wave", "wave": lc.wave}, by=by, now=now)
    return wave, row


def withdraw_need(
    session: Session,
    round_id: str,
    placement: str,
    *,
    by: str,
    text: str = "",
    now: dt.datetime | None = None,
) -> BackfillRow:
    """A host withdraws a need of a published round: its open and accepted offers are
    withdrawn at once (the people become free for the backfill), its slots are not
    filled again, and a backfill proposal is asked for (pending: computed after the
    commit)."""
    now = now or utcnow()
    lc = lifecycle_of(session, round_id, lock=True)
    if placement not in {p["id"] for p in lc.document.get("placements", [])}:
        raise not_found(f"placement in round {round_id}", placement)
    if placement in lc.withdrawn:
        raise ApiError(409, f"placement {placement!r} is withdrawn already")
    for o in latest_offers(session, round_id).values():
        if o.placement_id == placement and o.state in WITHDRAWABLE:
            change_state(
                session,
                o,
                WITHDRAWN,
                by=by,
                action="withdraw",
                text=text or "the host withdrew the need",
                now=now,
            )
    lc.withdrawn = sorted({*lc.withdrawn, placement})
    bump(session, lc, now)
    trigger = {"kind": "withdrawn", "placement": placement}
    return request_proposal(session, lc, trigger, by=by, now=now)


def backfill_url(row: BackfillRow) -> str:
    return f"/rounds/{row.round_id}/backfills/{row.id}"


def backfill_public(row: BackfillRow) -> dict[str, Any]:
    failed = row.status == FAILED
    return {
        "id": row.id,
        "round_id": row.round_id,
        "version": row.version,
        "wave": row.wave,
        "status": row.status,
        "url": backfill_url(row),
        "trigger": row.trigger,
        # None while pending (and for one superseded before it was computed)
        "proposal": None if failed or not row.proposal else row.proposal,
        "error": row.proposal.get("error") if failed else None,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "confirmed_by": row.confirmed_by,
        "confirmed_at": row.confirmed_at,
    }
