"""Rounds as the service stores them: who may see one, its public state, taking a
snapshot of the stored pool, storing a new round with its job, cancelling, publishing,
and a re-run of a round with pairs locked or forbidden and a limit on moves.

The API's rounds router and the coordinator's web pages both call these, so that the
rules live once.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer
from starlette.requests import Request

from volmatch.api.service.auth import Principal
from volmatch.api.service.db import Database
from volmatch.api.service.errors import ApiError, conflict, forbidden, not_found
from volmatch.api.service.jobs import TERMINAL, new_job
from volmatch.api.service.lifecycle.offers import actor
from volmatch.api.service.lifecycle.publish import ReadyReserves, start_lifecycle
from volmatch.api.service.logs import get_logger
from volmatch.api.service.queries import (
    add_new,
    latest_publication,
    lock_row,
    placement_rows,
    published_assignments,
    volunteer_rows,
)
from volmatch.api.service.result_pages import ResultViews, erasures_mark, stored_result
from volmatch.api.service.schemas import PublicationPublic, RoundCreate, RoundPublic
from volmatch.api.service.settings import Settings
from volmatch.api.service.state_events import state_events
from volmatch.api.service.stored_explain import StoredExplanations, StoredRound, explain_stored
from volmatch.api.service.tables import Job, Publication, PublishedAssignment, RoundRow
from volmatch.api.service.warm import WarmRounds
from volmatch.models import ErrorItem, InvalidRound, Round, parse_round, round_to_dict

log = get_logger("rounds")


def round_public(
    session: Session, r: RoundRow, job: Job, published: bool | None = None
) -> RoundPublic:
    if published is None:
        published = (
            session.scalar(select(Publication.id).where(Publication.round_id == r.id)) is not None
        )
    return RoundPublic(
        id=r.id,
        name=r.name,
        source=r.source,
        parent_id=r.parent_id,
        created_at=r.created_at,
        n_volunteers=r.n_volunteers,
        n_placements=r.n_placements,
        status=job.status,
        progress=job.progress,
        attempts=job.attempts,
        error=job.error,
        started_at=job.started_at,
        finished_at=job.finished_at,
        published=published,
    )


def round_header(session: Session, round_id: str, who: Principal) -> tuple[RoundRow, Job]:
    """`visible_round` without reading the round's document (megabytes for a large
    round): for pages that show a round's name and state. Its `document` may not be read
    (it raises)."""
    if who.role == "host":
        raise not_found("round", round_id)
    r = session.scalars(
        select(RoundRow)
        .options(defer(RoundRow.document, raiseload=True))
        .where(RoundRow.id == round_id)
    ).first()
    job = session.get(Job, round_id)
    if r is None or job is None:
        raise not_found("round", round_id)
    return r, job


def round_policy(session: Session, round_id: str) -> dict[str, Any]:
    """A stored round's policy, read out of its document by the database."""
    policy = session.scalar(select(RoundRow.document["policy"]).where(RoundRow.id == round_id))
    return dict(policy) if isinstance(policy, dict) else {}


def visible_round(session: Session, round_id: str, who: Principal) -> tuple[RoundRow, Job]:
    if who.role == "host":
        raise not_found("round", round_id)
    r = session.get(RoundRow, round_id)
    job = session.get(Job, round_id)
    if r is None or job is None:
        raise not_found("round", round_id)
    return r, job


def check_limits(r: Round, settings: Settings) -> None:
    """A round within the service's sizes: volunteers, placements and candidate pairs
    (`TooManyPairs`, counted from the bitsets before any write: no per-pair array)."""
    from volmatch.matching.compiled import compile_round
    from volmatch.matching.eligibility import check_pair_limit

    errors = []
    if len(r.volunteers) > settings.max_round_volunteers:
        errors.append(
            ErrorItem(
                "volunteers",
                "volunteers",
                "",
                f"{len(r.volunteers)} volunteers; a round may hold at most "
                f"{settings.max_round_volunteers}",
            )
        )
    if len(r.placements) > settings.max_round_placements:
        errors.append(
            ErrorItem(
                "placements",
                "placements",
                "",
                f"{len(r.placements)} placements; a round may hold at most "
                f"{settings.max_round_placements}",
            )
        )
    if errors:
        raise InvalidRound(errors)
    check_pair_limit(compile_round(r), settings.max_round_pairs)


def with_stored_outcomes(session: Session, doc: dict[str, Any]) -> dict[str, Any]:
    """The round document with the stored outcomes turned into its policy's `bonus` and
    `forbidden` entries (`matching.lifecycle.apply_outcomes`), so the snapshot solves
    and reads the same later; unchanged where there are none."""
    from volmatch.api.service.lifecycle.outcomes import stored_outcomes
    from volmatch.matching.lifecycle import apply_outcomes

    outs = stored_outcomes(session)
    if not outs:
        return doc
    fed = apply_outcomes(parse_round(doc), outs).policy
    return {
        **doc,
        "policy": {
            **doc["policy"],
            "bonus": [b.model_dump(mode="json") for b in fed.bonus],
            "forbidden": [f.model_dump(mode="json") for f in fed.forbidden],
        },
    }


def snapshot(session: Session, body: RoundCreate) -> dict[str, Any]:
    """A round document from the stored records, as they are now."""
    vols = [dict(r.data) for r in volunteer_rows(session, body.volunteers)]
    pls = [dict(r.data) for r in placement_rows(session, body.placements)]
    errors = []
    for section, asked, got in (
        ("volunteers", body.volunteers, vols),
        ("placements", body.placements, pls),
    ):
        have = {d["id"] for d in got}
        errors += [
            ErrorItem(section, i, "id", f"no stored {section[:-1]} with this id")
            for i in (asked or [])
            if i not in have
        ]
    if errors:
        raise InvalidRound(errors)
    vids, pids = {v["id"] for v in vols}, {p["id"] for p in pls}
    # References to records left out of the snapshot (a withdrawn need, a volunteer no
    # longer in the pool) are dropped rather than failing the whole round.
    for v in vols:
        if "preferences" in v:
            v["preferences"] = [p for p in v["preferences"] if p in pids]
    for p in pls:
        if "ranking" in p:
            p["ranking"] = [v for v in p["ranking"] if v in vids]
    doc: dict[str, Any] = {"volunteers": vols, "placements": pls}
    if body.policy is not None:
        doc["policy"] = body.policy.model_dump(mode="json", exclude_unset=True)
    if body.policy is not None and (
        body.policy.continuity_bonus is not None or body.policy.exclude_skills_mismatch
    ):
        doc = with_stored_outcomes(session, doc)
    if body.previous_from_published:
        pub = latest_publication(session)
        if pub is not None:
            doc["previous"] = [
                {
                    "volunteer": a.volunteer_id,
                    "placement": a.placement_id,
                    "start": a.start.isoformat(),
                    "months": a.months,
                    "score": a.score,
                }
                for a in published_assignments(session, pub.id)
                if a.volunteer_id in vids and a.placement_id in pids
            ]
    return doc


def store_round(
    session: Session,
    r: Round,
    *,
    name: str,
    source: str,
    who: Principal,
    settings: Settings,
    parent_id: str | None = None,
) -> RoundPublic:
    check_limits(r, settings)
    row = RoundRow(
        id=uuid.uuid4().hex,
        name=name,
        source=source,
        parent_id=parent_id,
        created_by=who.key_id,
        n_volunteers=len(r.volunteers),
        n_placements=len(r.placements),
        document=round_to_dict(r),
    )
    session.add(row)
    session.flush()
    job = new_job(session, row.id)
    session.flush()
    return round_public(session, row, job)


def read_visible(db: Database, round_id: str, who: Principal) -> tuple[RoundRow, Job]:
    """`_visible` in a short session of its own: for endpoints that then work long
    (explanations, workbooks, scenarios) without holding a connection."""
    with db.read() as session:
        return visible_round(session, round_id, who)


def cancel(session: Session, round_id: str, who: Principal) -> RoundPublic:
    """Cancel a queued or running round (a planner: only what-if variants); 409 once it
    has finished."""
    r, _ = round_header(session, round_id, who)
    job = lock_row(session, Job, round_id)
    assert job is not None
    if who.role == "planner" and r.source != "variant":
        raise forbidden("cancel rounds other than what-if variants")
    if job.status in TERMINAL:
        raise ApiError(409, f"round {round_id!r} has already finished ({job.status})")
    if job.status == "queued":
        job.status, job.progress = "cancelled", {**job.progress, "stage": "cancelled"}
    else:
        # The worker notices at its next heartbeat or stage and stores no result.
        job.cancel_requested = True
    session.flush()
    return round_public(session, r, job)


def publish(
    session: Session, round_id: str, who: Principal, ready: ReadyReserves | None = None
) -> PublicationPublic:
    """Publish a finished round's assignment (coordinators; once per round): hosts then
    see their volunteers, and every assignment becomes an offer with its deadline. The
    reserve lists are `ready`'s (`publish.ready_reserves`, computed before the write
    transaction) unless an erasure came in between."""
    r, job = visible_round(session, round_id, who)
    if who.role != "coordinator":
        raise forbidden("publish results")
    result = stored_result(session, round_id, job)
    if session.scalar(select(Publication.id).where(Publication.round_id == round_id)):
        raise conflict(f"round {round_id!r} is already published", [round_id])
    hosts = {p["id"]: p["host"] for p in r.document.get("placements", [])}
    pub = Publication(round_id=round_id, published_by=who.key_id)
    if not add_new(session, pub):
        raise conflict(f"round {round_id!r} was published by a concurrent request", [round_id])
    for a in result["assignments"]:
        session.add(
            PublishedAssignment(
                publication_id=pub.id,
                volunteer_id=a["volunteer"],
                placement_id=a["placement"],
                host_id=hosts[a["placement"]],
                start=dt.date.fromisoformat(a["start"]),
                months=a["months"],
                score=a["score"],
            )
        )
    session.flush()
    # Every assignment becomes an offer answerable for policy.offer_days (issue 18).
    start_lifecycle(session, round_id, r.document, result, by=actor(who), ready=ready)
    return PublicationPublic(
        round_id=round_id, published_at=pub.published_at, assignments=len(result["assignments"])
    )


def is_published(session: Session, round_id: str) -> bool:
    return (
        session.scalar(select(Publication.id).where(Publication.round_id == round_id)) is not None
    )


def rerun_document(
    document: dict[str, Any],
    result: dict[str, Any],
    *,
    lock: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    forbid: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    max_moves: int | None = None,
) -> dict[str, Any]:
    """A round's document to solve again against its own result: that result becomes
    `previous` (so the new result lists who moved, and `max_moves` limits how many
    may), these pairs are added to the policy's locked or forbidden pairs (a pair
    locked now is no longer forbidden, and the other way round)."""
    policy = dict(document.get("policy") or {})
    locks = {(p["volunteer"], p["placement"]) for p in policy.get("locked", [])}
    forbids = {(p["volunteer"], p["placement"]) for p in policy.get("forbidden", [])}
    for pair in lock:
        locks.add(pair)
        forbids.discard(pair)
    for pair in forbid:
        forbids.add(pair)
        locks.discard(pair)
    policy["locked"] = [{"volunteer": v, "placement": p} for v, p in sorted(locks)]
    policy["forbidden"] = [{"volunteer": v, "placement": p} for v, p in sorted(forbids)]
    if max_moves is not None:
        policy["max_moves"] = max_moves
    return {
        **document,
        "policy": policy,
        "previous": [
            {
                "volunteer": a["volunteer"],
                "placement": a["placement"],
                "start": a["start"],
                "months": a["months"],
                "score": a["score"],
            }
            for a in result.get("assignments", [])
        ],
    }


def rerun(
    session: Session,
    round_id: str,
    who: Principal,
    settings: Settings,
    *,
    lock: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    forbid: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    max_moves: int | None = None,
    name: str = "",
) -> RoundPublic:
    """Store a re-run of a finished round (`rerun_document`) as a new round whose parent
    is it (coordinators). A pair naming a volunteer or placement the round does not hold
    is a 422 naming it."""
    from volmatch.models import parse_round

    if who.role != "coordinator":
        raise forbidden("re-run rounds")
    parent, job = visible_round(session, round_id, who)
    result = stored_result(session, round_id, job)
    vids = {v["id"] for v in parent.document.get("volunteers", [])}
    pids = {p["id"] for p in parent.document.get("placements", [])}
    errors = [
        ErrorItem("policy", f"{v}:{p}", what, f"the round has no {kind} {ident!r}")
        for what, pairs in (("locked", lock), ("forbidden", forbid))
        for v, p in pairs
        for kind, ident, known in (("volunteer", v, vids), ("placement", p, pids))
        if ident not in known
    ]
    if errors:
        raise InvalidRound(errors)
    doc = rerun_document(parent.document, result, lock=lock, forbid=forbid, max_moves=max_moves)
    r = parse_round(doc)
    return store_round(
        session,
        r,
        name=name or f"re-run of {parent.name or parent.id}",
        source="rerun",
        who=who,
        settings=settings,
        parent_id=parent.id,
    )


def progress_events(db: Database, round_id: str, request: Request) -> AsyncIterator[str]:
    """A round's progress as server-sent events: one `progress` event per change of its
    job's state (status, attempts, progress), then `end` with the final status. Each
    state is read in a short session of its own; the stream ends when the round ends,
    the client goes or the server stops (SIGTERM). The caller checks visibility."""

    def read() -> dict[str, Any] | None:
        with db.read() as s:
            job = s.get(Job, round_id)
            if job is None:
                return None
            return {"status": job.status, "attempts": job.attempts, "progress": job.progress}

    return state_events(request, read, TERMINAL)


def explain_pairs(
    db: Database,
    round_id: str,
    who: Principal,
    volunteer: str,
    placement: str | None = None,
    priced: PricedRounds | None = None,
    ineligible_limit: int | None = None,
) -> list[dict[str, Any]]:
    """Why `volunteer` is placed where they are in a finished round, or not at each
    placement (only `placement` when given; with `ineligible_limit`, every placement
    they qualify for and only that many of the others): each pair's failed hard rules,
    or what choosing it would cost. 404 for a volunteer or placement the round does not hold.
    Reads in a short session, then works without holding a connection."""
    return explain_round(db, round_id, who, volunteer, placement, priced, ineligible_limit)[0]


def explain_round(
    db: Database,
    round_id: str,
    who: Principal,
    volunteer: str,
    placement: str | None = None,
    priced: PricedRounds | None = None,
    ineligible_limit: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`explain_pairs`, and what its costs are measured against: `exact` (whether the
    result is the best round under the hard rules, so that each regret is the exact drop
    of this round's total) and `optimum` (the total score of that best round; where the
    result is not it, the regrets are drops of this optimum, docs/explanations.md)."""
    from volmatch.matching.explain import explain_volunteer

    stored = None if priced is None else priced.stored_round(db, round_id, who)
    if stored is not None:
        found, facts = explain_stored(db, stored, volunteer, placement, ineligible_limit)
        return json.loads(json.dumps(found, default=str)), facts
    with _pricing(db, round_id, who, priced) as (prep, pr, chosen, _):
        best = pr.net.at[pr.net.at >= 0]
        facts = {"exact": bool(pr.exact), "optimum": int(prep.scores.total[best].sum())}
        c = prep.compiled
        if volunteer not in c.vindex:
            raise not_found("volunteer in this round", volunteer)
        if placement is not None and placement not in c.pindex:
            raise not_found("placement in this round", placement)
        only = None if placement is None else [c.pindex[placement]]
        if only is None and ineligible_limit is not None:
            # every placement the volunteer qualifies for, and the first few others: a
            # page shows no more, and each ineligible pair costs a check of every rule
            vi = c.vindex[volunteer]
            mine = set(prep.pairs.p[prep.pairs.v == vi].tolist())
            others = [p for p in range(c.n_placements) if p not in mine][:ineligible_limit]
            only = sorted(mine) + others
        rows = explain_volunteer(pr, chosen, c.vindex[volunteer], only)
    out: list[dict[str, Any]] = json.loads(json.dumps(rows, default=str))
    return out, facts


def _priced(
    db: Database, round_id: str, who: Principal, views: ResultViews | None = None
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """A finished round prepared and priced against its own result: (prepared round,
    pricing, the chosen pair indices, the result's status, mode and assignments). The
    result is read from its paging view when `views` is given (no parsing of the whole
    result). Reads in a short session, then works without holding a connection."""
    import numpy as np

    from volmatch.matching import prepare
    from volmatch.matching.explain import is_pure_optimum, pricing
    from volmatch.models import parse_round

    with db.read() as session:
        _, job = round_header(session, round_id, who)
        if views is not None:
            view = views.get(session, round_id)
            status, mode = view.status, view.mode
            vols, pls = view.chosen_pairs()
        else:
            stored = stored_result(session, round_id, job)
            status, mode = str(stored["status"]), str(stored["mode"])
            vols = [a["volunteer"] for a in stored["assignments"]]
            pls = [a["placement"] for a in stored["assignments"]]
        document = session.scalar(select(RoundRow.document).where(RoundRow.id == round_id))
    prep = prepare(parse_round(document))
    c, pairs = prep.compiled, prep.pairs
    vi = np.array([c.vindex.get(v, -1) for v in vols], dtype=np.int64)
    pi = np.array([c.pindex.get(p, -1) for p in pls], dtype=np.int64)
    known = (vi >= 0) & (pi >= 0)
    # the chosen pairs' indices among the eligible pairs (an assignment that is not an
    # eligible pair of this document is left out)
    keys = c.pair_keys(pairs.v, pairs.p)
    order = np.argsort(keys, kind="stable")
    want = c.pair_keys(vi[known], pi[known])
    at = np.clip(np.searchsorted(keys[order], want), 0, max(len(keys) - 1, 0))
    found = keys[order][at] == want if len(keys) else np.zeros(len(want), dtype=bool)
    chosen = np.sort(order[at[found]]).astype(np.intp)
    exact = is_pure_optimum(prep, status, mode)
    result = {
        "status": status,
        "mode": mode,
        "assignments": [{"volunteer": v, "placement": p} for v, p in zip(vols, pls, strict=True)],
    }
    return prep, pricing(prep, chosen, exact), chosen, result


def _priced_warm(
    db: Database, round_id: str, who: Principal, warm: WarmRounds
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """As `_priced`, from the advice base of the round's version in `warm` (built there,
    or waited for where it is being built). The fourth item says only whether the result
    is the pure optimum (`exact`)."""
    from volmatch.api.service.advice import advice_base_for

    with db.read() as session:
        _, job = round_header(session, round_id, who)
        if job.status != "done":
            stored_result(session, round_id, job)  # the 409 of a round without a result
        _, base = advice_base_for(session, warm, round_id)
    return base.prep, base.pricing, base.chosen, {"exact": base.pricing.exact}


@contextmanager
def _pricing(
    db: Database, round_id: str, who: Principal, priced: PricedRounds | None
) -> Iterator[Any]:
    if priced is None:
        yield _priced(db, round_id, who)
    else:
        with priced.use(db, round_id, who) as found:
            yield found


PRICED_KEPT = 2
"""Rounds kept prepared and priced per process for explanations and advice: each holds
the round's pairs and residual network (hundreds of MB at 50,000 volunteers)."""
PREFETCH_MAX_VOLUNTEERS = 20_000
"""Rounds up to this size are priced as soon as their result is shown (a few seconds of
a core at 10,000 on a busy machine), so that the first Explain does not wait; a larger
round, whose pricing takes tens of seconds and much memory, only when first asked."""


class PricedRounds:
    """Finished rounds prepared and priced against their result (`_priced`), kept per
    process (at most `kept`, least recently used dropped) until the next erasure, so
    that explaining pairs or advising on needs one after another does not prepare the
    round each time; a round is priced once however many ask at the same time. Each
    entry is used under its own lock. With `views`, the result's assignments come from
    its paging view (`result_pages.ResultViews`).

    With `warm` (the app's `warm.WarmRounds`), the pricing is the advice base of the
    round's version (`_priced_warm`): the very build the advice pages use and the
    embedded worker starts as soon as it stores a result, so that a round is prepared
    once per process for its explanations and its advice, and an explanation asked
    while that build runs waits for it instead of preparing the round a second time."""

    def __init__(
        self,
        kept: int = PRICED_KEPT,
        views: ResultViews | None = None,
        warm: Callable[[], WarmRounds] | None = None,
    ) -> None:
        self._kept = kept
        self._views = views
        self._warm = warm
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[tuple[int, str], Any, threading.Lock]] = OrderedDict()
        self._building: dict[str, threading.Lock] = {}
        self.builds = 0
        self._ahead: set[str] = set()
        """Rounds whose `prefetch` runs."""
        self.stored = StoredExplanations()
        """The rounds explained from their stored arrays (`stored_round`)."""

    def _entry(
        self, db: Database, round_id: str, who: Principal, ahead: bool = False
    ) -> tuple[tuple[int, str], Any, threading.Lock]:
        with db.read() as session:
            round_header(session, round_id, who)
            mark = erasures_mark(session)
        with self._lock:
            hit = self._entries.get(round_id)
            if hit is not None and hit[0] == mark:
                self._entries.move_to_end(round_id)
                return hit
            gate = self._building.setdefault(round_id, threading.Lock())
        prepared = False
        try:
            with gate:  # a second asker waits for the first one's pricing
                with self._lock:
                    hit = self._entries.get(round_id)
                if hit is None or hit[0] != mark:
                    if self._warm is None:
                        found, prepared = _priced(db, round_id, who, self._views), True
                    else:
                        warm = self._warm()
                        before = warm.builds
                        found = _priced_warm(db, round_id, who, warm)
                        prepared = warm.builds != before
                    hit = (mark, found, threading.Lock())
                    with self._lock:
                        self.builds += 1
                        self._entries[round_id] = hit
                        self._entries.move_to_end(round_id)
                        while len(self._entries) > self._kept:
                            self._entries.popitem(last=False)
        finally:
            with self._lock:
                self._building.pop(round_id, None)
        if ahead and prepared:
            # Preparing a round allocates objects by the million and makes the collector's
            # next full pass due: made now, in the pricing-ahead thread, not in whichever
            # page request comes next (measured: 0.8 s inside a result page, 10,000
            # volunteers); once the pricing is shared (out of the gate), and never where
            # a request waits for the pricing: it would wait for the pass too (0.1-0.4 s).
            gc.collect()
        return hit

    @contextmanager
    def use(self, db: Database, round_id: str, who: Principal) -> Iterator[Any]:
        """The priced round (as `_priced` returns it), held for the block."""
        hit = self._entry(db, round_id, who)
        with hit[2]:
            yield hit[1]

    def _ready(
        self, db: Database, round_id: str, who: Principal
    ) -> tuple[bool, StoredRound | None]:
        """Whether the round's explanations answer without waiting for a pricing (it is
        priced here, its advice base is built or being built here, it has the arrays
        stored with its result, or it is not finished: its error answers at once), and
        those arrays where it has them and the others are not at hand (they answer as
        fast)."""
        with db.read() as session:
            _, job = round_header(session, round_id, who)
            if job.status != "done":
                return True, None  # the pricing's path says why (409)
            mark = erasures_mark(session)
            with self._lock:
                hit = self._entries.get(round_id)
                if hit is not None and hit[0] == mark:
                    return True, None
            from volmatch.api.service.advice import base_at_hand

            if self._warm is not None and base_at_hand(session, self._warm(), round_id):
                # priced from the advice base built, or being built (the worker's
                # hand-over): one build, not a second one beside it
                return True, None
            stored = self.stored.get(session, round_id, mark)
            return stored is not None, stored

    def stored_round(self, db: Database, round_id: str, who: Principal) -> StoredRound | None:
        """The round's arrays stored with its result for explaining it (`stored_explain`),
        where it is not priced here already and has them: an explanation then neither
        prepares the round nor waits for its pricing ahead."""
        return self._ready(db, round_id, who)[1]

    def ready_now(self, db: Database, round_id: str, who: Principal) -> bool:
        """Whether an explanation of the round answers without pricing it first (a page
        that must not wait for a pricing asks this, and `prefetch`es where not)."""
        return self._ready(db, round_id, who)[0]

    def prefetching(self, round_id: str) -> bool:
        """Whether the round's `prefetch` runs (its pricing, or the collector's pass
        after it, which a request asked meanwhile would wait for)."""
        with self._lock:
            return round_id in self._ahead

    def prefetch(
        self, db: Database, round_id: str, who: Principal, n_volunteers: int, force: bool = False
    ) -> None:
        """Make a round's explanations ready in a thread of its own: its stored arrays
        read (`stored_round`), or where it has none, the round priced, unless it is
        priced, being priced, or larger than `PREFETCH_MAX_VOLUNTEERS`: its result page
        calls this, so that the explanations the coordinator asks next are ready. A
        round with stored arrays is not priced: that would parse its document while the
        coordinator's first Explain waits for the interpreter (0.2-0.5 s at 10,000).
        `force`: whatever the round's size (an explanation asked for it)."""
        if n_volunteers > PREFETCH_MAX_VOLUNTEERS and not force:
            return
        with self._lock:
            if round_id in self._entries or round_id in self._building or round_id in self._ahead:
                return
            self._ahead.add(round_id)

        def run() -> None:
            try:
                if self.stored_round(db, round_id, who) is None:
                    self._entry(db, round_id, who, ahead=True)
            except Exception as exc:  # asked again on Explain, which shows the error
                log.warning("pricing ahead failed", extra={"exc_type": type(exc).__name__})
            finally:
                with self._lock:
                    self._ahead.discard(round_id)

        threading.Thread(target=run, daemon=True, name="volmatch-pricing").start()
