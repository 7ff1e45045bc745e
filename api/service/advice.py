"""Advice for one need or one volunteer, as plain functions the routers and the web
pages call: feasibility of a draft or stored need against the pool of the current
round, and recommendations with exact regrets (`matching.advice`, docs/advice.md).

"The current round" is the latest round created, or the one asked for; a round still
queued or solving is a 409 carrying its status. Hosts see no rounds: they get the
counts and changes of their own needs, never who the volunteers are.

The web pages call these functions too. Where no round has a result yet they fall back
(`live_feasibility`) to the same counts and changes against the stored pool alone
(`pool_feasibility`: no availability, since nobody is placed), and the coordinator's
recommendations say a round must be solved first.
"""

from __future__ import annotations

import datetime as dt
import gc
import threading
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session, defer

from volmatch.api.service.auth import Principal
from volmatch.api.service.db import Database
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.jobs import Solved
from volmatch.api.service.logs import get_logger
from volmatch.api.service.pool_cache import PoolCache
from volmatch.api.service.result_pages import erasures_mark
from volmatch.api.service.tables import Job, PlacementRow, ResultRow, RoundRow
from volmatch.api.service.warm import WarmRounds
from volmatch.matching.advice import (
    DEFAULT_TOP,
    AdviceBase,
    advise_placement,
    advise_volunteer,
)
from volmatch.matching.compiled import CompiledRound
from volmatch.matching.feasibility import feasibility
from volmatch.models import Placement, Round, TooManyPairs

log = get_logger("advice")

NO_RESULT = 409
"""The status of "no round has a result to advise from" (queued, solving, or none)."""


PAIR_LIMIT_STATUS = 422
"""The status of advice asked of a round over the pair limit (`matching.pair_limit`):
the round as stored cannot be advised on, whatever the request."""

ENDED_WITHOUT_RESULT = ("cancelled", "failed")
"""Job states of a round that will never have a result."""


def _round(session: Session, round_id: str | None) -> tuple[RoundRow, dt.datetime]:
    """The round advice is given against, without its document, and when its result was
    stored (409 while it has none). Neither the document nor the result is read: the
    host's needs list asks once per need."""
    q = select(RoundRow).options(defer(RoundRow.document, raiseload=True))
    if round_id is None:
        # A round cancelled or failed never gets a result: the one before it counts.
        latest = q.outerjoin(Job, Job.round_id == RoundRow.id).where(
            or_(Job.status.is_(None), Job.status.not_in(ENDED_WITHOUT_RESULT))
        )
        r = session.scalars(latest.order_by(RoundRow.created_at.desc(), RoundRow.id.desc())).first()
        if r is None:
            raise ApiError(NO_RESULT, "no round yet: advice needs a solved round (POST /rounds)")
    else:
        r = session.scalars(q.where(RoundRow.id == round_id)).first()
        if r is None:
            raise not_found("round", round_id)
    job = session.get(Job, r.id)
    stored_at = session.scalar(select(ResultRow.created_at).where(ResultRow.round_id == r.id))
    if job is None or job.status != "done" or stored_at is None:
        status = job.status if job is not None else "unknown"
        raise ApiError(
            NO_RESULT,
            f"round {r.id!r} has no result yet: it is {status}",
            extra={"round": r.id, "status": status},
        )
    return r, stored_at


def _build(session: Session, round_id: str) -> AdviceBase:
    """The advice base of a round from its stored document and result (read by column:
    a page may hold the round's row loaded without its document): from the pairs and
    scores stored with the result where it has them (`result_pairs`), else prepared."""
    from volmatch.matching.advice import advice_base
    from volmatch.matching.explain import is_pure_optimum

    stored = _stored_pairs(session, round_id)
    if stored is not None:
        prep, chosen, status, mode = stored
        return advice_base(prep, chosen, is_pure_optimum(prep, status, mode))
    return _prepared(session, round_id)


def _stored_pairs(session: Session, round_id: str) -> tuple[Any, Any, str, str] | None:
    """The round compiled from its document around the pairs, scores and chosen pairs
    stored with its result, and the result's status and mode (`result_pairs`); None
    where the result has no such row (stored before revision 0008, or dropped by an
    erasure) or it does not fit the document."""
    from volmatch.api.service.result_pairs import from_bytes
    from volmatch.api.service.tables import ResultPairsRow
    from volmatch.matching.compiled import compile_round
    from volmatch.matching.eligibility import check_pair_limit

    data = session.scalar(select(ResultPairsRow.data).where(ResultPairsRow.round_id == round_id))
    if data is None:
        return None
    compiled = compile_round(_stored_round(session, round_id))
    # Stored under a higher limit, the pairs may not fit here: counted before unpacking.
    check_pair_limit(compiled)
    return from_bytes(data, compiled)


def _stored_round(session: Session, round_id: str) -> Round:
    """A stored round's document parsed from its JSON text, as the database holds it:
    pydantic validates the text in one pass (`parse_text`'s fast path), where decoding
    it to Python objects first and validating those took twice as long (0.25-0.6 s
    against 0.11-0.19 s at 10,000 x 2,000, load 3-5); the same `Round`."""
    from volmatch.models import parse_round
    from volmatch.models.load import parse_text

    text = session.scalar(select(cast(RoundRow.document, Text)).where(RoundRow.id == round_id))
    if isinstance(text, str):
        return parse_text(text, fmt="json")
    return parse_round(text)  # a driver that decodes JSON whatever the cast


def _prepared(session: Session, round_id: str) -> AdviceBase:
    """The advice base of a round prepared from its stored document (eligible pairs
    found and scored), its chosen pairs those of its stored result."""
    import numpy as np

    from volmatch.matching import prepare
    from volmatch.matching.advice import advice_base
    from volmatch.matching.explain import is_pure_optimum
    from volmatch.matching.previous import pair_index

    status, mode, vols, pls = _chosen(session, round_id)
    prep = prepare(_stored_round(session, round_id))
    c = prep.compiled
    known = [(v, p) for v, p in zip(vols, pls, strict=True) if v in c.vindex and p in c.pindex]
    v = np.array([c.vindex[a] for a, _ in known], dtype=np.int64)
    p = np.array([c.pindex[b] for _, b in known], dtype=np.int64)
    at = pair_index(c, prep.pairs, v, p)
    chosen = np.sort(at[at >= 0]).astype(np.intp)
    exact = is_pure_optimum(prep, status, mode)
    return advice_base(prep, chosen, exact)


def _version(session: Session, r: RoundRow, stored_at: dt.datetime) -> tuple[str, ...]:
    """A round's key in the warm rounds: an erasure rewrites stored rounds and results in
    place, so its mark is part of the version."""
    return (r.id, str(stored_at), erasures_mark(session))


def _chosen(session: Session, round_id: str) -> tuple[str, str, list[str], list[str]]:
    """A stored result's status, mode and assignments (volunteer and placement ids):
    from its paging view where it has one (loading arrays: the whole result's JSON is
    megabytes, a few hundred ms to parse at 10,000 volunteers), else from the result."""
    from volmatch.api.service.result_pages import ResultView
    from volmatch.api.service.tables import ResultViewRow

    data = session.scalar(select(ResultViewRow.data).where(ResultViewRow.round_id == round_id))
    view = None if data is None else ResultView.from_bytes(round_id, data)
    if view is not None:
        vols, pls = view.chosen_pairs()
        return view.status, view.mode, vols, pls
    result = session.scalar(select(ResultRow.result).where(ResultRow.round_id == round_id))
    assignments = result["assignments"]
    return (
        str(result["status"]),
        str(result["mode"]),
        [a["volunteer"] for a in assignments],
        [a["placement"] for a in assignments],
    )


def advice_base_for(
    session: Session, warm: WarmRounds, round_id: str | None = None, solved: Solved | None = None
) -> tuple[str, AdviceBase]:
    """The warm advice base of the current round (or `round_id`), and its id. Built from
    `solved` (what the worker solved the round's result from) where it is given and no
    erasure came since, else from the stored document and result."""
    r, stored_at = _round(session, round_id)
    version = _version(session, r, stored_at)
    try:
        if solved is not None and solved.mark == version[2]:
            return r.id, warm.get(version, lambda: _from_solved(solved))
        return r.id, warm.get(version, lambda: _build(session, r.id))
    except TooManyPairs as exc:
        raise too_many_pairs(r.id, exc) from None


def too_many_pairs(round_id: str, exc: TooManyPairs) -> ApiError:
    """The 422 of advice asked of a stored round over the pair limit: unavailable for
    that round, never built (it would not fit in memory)."""
    return ApiError(
        PAIR_LIMIT_STATUS,
        f"advice is unavailable for round {round_id!r}: it has {exc.pairs:,} candidate "
        f"pairs, over the limit of {exc.limit:,} (raise {exc.setting} to build it)",
        errors=exc.errors,
        extra={"round": round_id, "pairs": exc.pairs, "limit": exc.limit},
    )


def _from_solved(solved: Solved) -> AdviceBase:
    """The advice base of a result from the prepared round and solution it was built
    from: only its residual network is made (no parsing, eligibility or scoring)."""
    import numpy as np

    from volmatch.matching.advice import advice_base
    from volmatch.matching.explain import is_pure_optimum

    exact = is_pure_optimum(solved.prep, solved.status, solved.mode)
    return advice_base(solved.prep, np.sort(solved.chosen).astype(np.intp), exact)


def prewarm_round(
    db: Database, warm: WarmRounds, round_id: str, solved: Solved | None = None
) -> None:
    """Build the advice base of a round whose result was just stored, on the warm rounds'
    background thread, so that its first advice request (or explanation) finds it built;
    from `solved`, what the worker solved it from, where given."""

    def job() -> None:
        with db.read() as session:
            advice_base_for(session, warm, round_id, solved)
        if solved is None:
            # Preparing a round allocates objects by the million and makes the collector's
            # next full pass due: made here, in the background, not inside the next page
            # request. Not after a hand-over, which builds arrays only: a pass then would
            # hold the interpreter while the first explanation runs (0.1-0.4 s).
            gc.collect()

    warm.prewarm(job)


def base_ready(session: Session, warm: WarmRounds, round_id: str) -> bool:
    """Whether the advice on a round answers without starting to build its base (it is
    built or being built, or the round has no result: that answers at once); where
    not, a page says it is being prepared and `build_base`s, instead of waiting for the
    build, as `ready_feasibilities` does."""
    try:
        return base_at_hand(session, warm, round_id)
    except ApiError:
        return True


def build_base(db: Database, warm: WarmRounds, round_id: str) -> None:
    """Build the round's advice base in the background unless a build is asked for
    already (it goes first; the page asks again after it)."""
    if not warm.pending():
        prewarm_round(db, warm, round_id)


def base_at_hand(session: Session, warm: WarmRounds, round_id: str) -> bool:
    """Whether the round's advice base is built or being built in this process (an asker
    waits for that build rather than making another; the worker's hand-over takes
    0.1-0.2 s at 10,000 volunteers), or refused as over the pair limit (its 422 answers
    at once). The errors of `advice_base_for` (404, 409)."""
    r, stored_at = _round(session, round_id)
    version = _version(session, r, stored_at)
    return (
        warm.peek(version) is not None
        or warm.building(version)
        or warm.refused(version) is not None
    )


def prewarm_current(db: Database, warm: WarmRounds, pool: PoolCache) -> None:
    """At service start, build in the background what the pages' counts are taken
    against: the latest round's advice base where it has a result, else the stored pool,
    so that the first page of the process finds it built."""

    def job() -> None:
        with db.read() as session:
            try:
                advice_base_for(session, warm)
            except ApiError as exc:
                if exc.status != NO_RESULT:
                    raise
                pool.warm(db)

    warm.prewarm(job)


RESULTS_WATCH_S = 2.0
"""How often a service without an embedded worker looks for a newly stored result to warm
(one indexed read): a coordinator's first Explain comes seconds after the result. The
service takes it from `Settings.results_watch_s`."""


def watch_results(
    db: Database, warm: WarmRounds, stop: threading.Event, every: float = RESULTS_WATCH_S
) -> None:
    """Until `stop`: warm each newly stored result's round in the background, as the
    embedded worker does once it stored one (`prewarm_round`), for a service whose rounds
    another process solves (`volmatch worker`). The results stored before it started
    are left to `prewarm_current`."""
    seen: tuple[str, str] | None = None
    first = True
    while not stop.is_set():
        try:
            with db.read() as session:
                row = session.execute(
                    select(ResultRow.round_id, ResultRow.created_at)
                    .order_by(ResultRow.created_at.desc(), ResultRow.round_id.desc())
                    .limit(1)
                ).first()
            latest = None if row is None else (str(row[0]), str(row[1]))
            if latest is not None and latest != seen and not first:
                prewarm_round(db, warm, latest[0])
            seen, first = latest, False
        except Exception as exc:  # a failed look is retried at the next one
            log.warning("watching results failed", extra={"exc_type": type(exc).__name__})
        stop.wait(every)


def stored_need(session: Session, placement_id: str, who: Principal) -> Placement:
    """A stored need as stored now (404 where unknown or another host's)."""
    row = session.get(PlacementRow, placement_id)
    if row is None or (who.role == "host" and row.host_id != who.host_id):
        raise not_found("placement", placement_id)
    return Placement.model_validate(row.data)


def _answer(round_id: str, doc: dict[str, Any], who: Principal) -> dict[str, Any]:
    doc = {"round": round_id, **doc}
    if who.role == "host":  # hosts see counts, not who the volunteers are
        doc.pop("recommendations", None)
    return doc


def _own_draft(draft: Placement, who: Principal) -> None:
    """A host asks about its own host's needs only (else the 404 of a need it cannot see)."""
    if who.role == "host" and draft.host != who.host_id:
        raise not_found("placement", draft.id)


def feasibility_for(
    session: Session,
    warm: WarmRounds,
    draft: Placement,
    who: Principal,
    round_id: str | None = None,
) -> dict[str, Any]:
    """Feasibility of a draft need (a host: of its own host only, else 404 as for any
    need it cannot see)."""
    _own_draft(draft, who)
    rid, base = advice_base_for(session, warm, round_id)
    doc = advise_placement(base, draft, recommend=False).as_dict()
    doc.pop("recommendations")
    return _answer(rid, doc, who)


def placement_feasibility(
    session: Session,
    warm: WarmRounds,
    placement_id: str,
    who: Principal,
    round_id: str | None = None,
) -> dict[str, Any]:
    """Feasibility of a stored need, as it is stored now, against the current round."""
    need = stored_need(session, placement_id, who)
    rid, base = advice_base_for(session, warm, round_id)
    doc = advise_placement(base, need, recommend=False).as_dict()
    doc.pop("recommendations")
    return _answer(rid, doc, who)


def placement_recommendations(
    session: Session,
    warm: WarmRounds,
    placement_id: str,
    who: Principal,
    top: int = DEFAULT_TOP,
    round_id: str | None = None,
) -> dict[str, Any]:
    """The best volunteers for a stored need by exact regret: the round's own need where
    the round holds it unchanged, else the need added to the round with one slot."""
    need = stored_need(session, placement_id, who)
    rid, base = advice_base_for(session, warm, round_id)
    doc = advise_placement(base, need, top).as_dict()
    return _answer(rid, {**doc, "pure_optimum": base.pricing.exact}, who)


def volunteer_recommendations(
    session: Session,
    warm: WarmRounds,
    volunteer_id: str,
    top: int = DEFAULT_TOP,
    round_id: str | None = None,
) -> dict[str, Any]:
    """A volunteer's best placements in the current round by exact regret (404 for a
    volunteer the round does not hold)."""
    rid, base = advice_base_for(session, warm, round_id)
    vi = base.prep.compiled.vindex.get(volunteer_id)
    if vi is None:
        raise not_found("volunteer in this round", volunteer_id)
    return {"round": rid, **advise_volunteer(base, vi, top), "pure_optimum": base.pricing.exact}


def pool_feasibility(
    session: Session, pool: PoolCache, draft: Placement, who: Principal
) -> dict[str, Any]:
    """Feasibility of a need against the stored pool alone, under the default policy:
    the counts and changes of `feasibility_for` with `round` None and no availability."""
    _own_draft(draft, who)
    f = feasibility(pool.compiled(session), draft)
    return {"round": None, "placement": draft.id, "in_round": False, **f.as_dict()}


def live_feasibility(
    session: Session, warm: WarmRounds, pool: PoolCache, draft: Placement, who: Principal
) -> dict[str, Any]:
    """`feasibility_for` against the latest round, or `pool_feasibility` where no round
    has a result yet (the pages' answer instead of the API's 409)."""
    try:
        return feasibility_for(session, warm, draft, who)
    except ApiError as exc:
        if exc.status != NO_RESULT:
            raise
    return pool_feasibility(session, pool, draft, who)


def _pool_counts(compiled: CompiledRound, drafts: list[Placement]) -> list[dict[str, Any]]:
    return [
        {"round": None, "placement": d.id, "in_round": False, **feasibility(compiled, d).as_dict()}
        for d in drafts
    ]


def _round_counts(
    rid: str, base: AdviceBase, drafts: list[Placement], who: Principal
) -> list[dict[str, Any]]:
    out = []
    for draft in drafts:
        doc = advise_placement(base, draft, recommend=False).as_dict()
        doc.pop("recommendations")
        out.append(_answer(rid, doc, who))
    return out


def _ready_pool_counts(
    session: Session, db: Database, pool: PoolCache, drafts: list[Placement]
) -> list[dict[str, Any]] | None:
    """The drafts' counts against the stored pool where it is compiled already, else
    None with its build started."""
    compiled = pool.ready(session)
    if compiled is None:
        pool.warm(db)
        return None
    return _pool_counts(compiled, drafts)


def ready_feasibilities(
    session: Session,
    db: Database,
    warm: WarmRounds,
    pool: PoolCache,
    drafts: list[Placement],
    who: Principal,
) -> list[dict[str, Any]] | None:
    """`live_feasibility` of each need, the round (or the pool) looked up once for all
    (the host's needs list asks for every need of the host at once), where what they
    count against (the latest round's warm base, or the compiled pool) is built already;
    else None, with its build started on a background thread. A page shows its list at
    once and says its counts are being updated, instead of waiting seconds for a build
    (it never waits: a wait on a thread that competes for the interpreter with the build
    overran 0.1 s by 0.25 s at 10,000 volunteers); the counts it shows are those of the
    current round or pool (the pool's where the round is over the pair limit: then each
    count has `over_pair_limit`, the round's id, its candidate pairs and the limit)."""
    for draft in drafts:
        _own_draft(draft, who)
    try:
        r, stored_at = _round(session, None)
    except ApiError as exc:
        if exc.status != NO_RESULT:
            raise
        return _ready_pool_counts(session, db, pool, drafts)
    version = _version(session, r, stored_at)
    base = warm.peek(version)
    refused = warm.refused(version) if base is None else None
    if refused is not None:
        # The round is over the pair limit (never built): the stored pool answers, and
        # each count says so (the host's live line tells it, with the figures).
        counts = _ready_pool_counts(session, db, pool, drafts)
        over = {"round": r.id, "pairs": refused.pairs, "limit": refused.limit}
        return None if counts is None else [{**d, "over_pair_limit": over} for d in counts]
    if base is None:
        if not warm.pending():  # else the build asked first (newer, or a hand-over) goes on
            prewarm_round(db, warm, r.id)
        return None
    return _round_counts(r.id, base, drafts, who)
