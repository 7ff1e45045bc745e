"""Advice for one need or one volunteer, as plain functions the routers and the web
pages call: feasibility of a draft or stored need against the pool of the current
round, and recommendations with exact regrets (`matching.advice`, docs/advice.md).

"The current round" is the latest round created, or the one asked for; a round still
queued or solving is a 409 carrying its status. Hosts see no rounds: they get the
counts and changes of their own needs, never who the volunteers are.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.tables import Job, PlacementRow, ResultRow, RoundRow
from volmatch.api.service.warm import WarmRounds
from volmatch.matching.advice import (
    DEFAULT_TOP,
    AdviceBase,
    advise_placement,
    advise_volunteer,
)
from volmatch.models import Placement


def _round(session: Session, round_id: str | None) -> tuple[RoundRow, ResultRow]:
    """The round advice is given against, with its result (409 while it has none)."""
    if round_id is None:
        r = session.scalars(
            select(RoundRow).order_by(RoundRow.created_at.desc(), RoundRow.id.desc())
        ).first()
        if r is None:
            raise ApiError(409, "no round yet: advice needs a solved round (POST /rounds)")
    else:
        r = session.get(RoundRow, round_id)
        if r is None:
            raise not_found("round", round_id)
    job = session.get(Job, r.id)
    res = session.get(ResultRow, r.id)
    if job is None or job.status != "done" or res is None:
        status = job.status if job is not None else "unknown"
        raise ApiError(409, f"round {r.id!r} has no result yet: it is {status}",
                       extra={"round": r.id, "status": status})
    return r, res


def _build(r: RoundRow, res: ResultRow) -> AdviceBase:
    import numpy as np

    from volmatch.matching import prepare
    from volmatch.matching.advice import advice_base
    from volmatch.matching.explain import is_pure_optimum
    from volmatch.matching.previous import pair_index
    from volmatch.models import parse_round

    prep = prepare(parse_round(r.document))
    c = prep.compiled
    result = res.result
    known = [a for a in result["assignments"]
             if a["volunteer"] in c.vindex and a["placement"] in c.pindex]
    v = np.array([c.vindex[a["volunteer"]] for a in known], dtype=np.int64)
    p = np.array([c.pindex[a["placement"]] for a in known], dtype=np.int64)
    at = pair_index(c, prep.pairs, v, p)
    chosen = np.sort(at[at >= 0]).astype(np.intp)
    exact = is_pure_optimum(prep, str(result["status"]), str(result["mode"]))
    return advice_base(prep, chosen, exact)


def advice_base_for(
    session: Session, warm: WarmRounds, round_id: str | None = None
) -> tuple[str, AdviceBase]:
    """The warm advice base of the current round (or `round_id`), and its id."""
    r, res = _round(session, round_id)
    return r.id, warm.get((r.id, str(res.created_at)), lambda: _build(r, res))


def _stored(session: Session, placement_id: str, who: Principal) -> Placement:
    row = session.get(PlacementRow, placement_id)
    if row is None or (who.role == "host" and row.host_id != who.host_id):
        raise not_found("placement", placement_id)
    return Placement.model_validate(row.data)


def _answer(round_id: str, doc: dict[str, Any], who: Principal) -> dict[str, Any]:
    doc = {"round": round_id, **doc}
    if who.role == "host":  # hosts see counts, not who the volunteers are
        doc.pop("recommendations", None)
    return doc


def feasibility_for(
    session: Session, warm: WarmRounds, draft: Placement, who: Principal,
    round_id: str | None = None,
) -> dict[str, Any]:
    """Feasibility of a draft need (a host: of its own host only, else 404 as for any
    need it cannot see)."""
    if who.role == "host" and draft.host != who.host_id:
        raise not_found("placement", draft.id)
    rid, base = advice_base_for(session, warm, round_id)
    doc = advise_placement(base, draft, recommend=False).as_dict()
    doc.pop("recommendations")
    return _answer(rid, doc, who)


def placement_feasibility(
    session: Session, warm: WarmRounds, placement_id: str, who: Principal,
    round_id: str | None = None,
) -> dict[str, Any]:
    """Feasibility of a stored need, as it is stored now, against the current round."""
    need = _stored(session, placement_id, who)
    rid, base = advice_base_for(session, warm, round_id)
    doc = advise_placement(base, need, recommend=False).as_dict()
    doc.pop("recommendations")
    return _answer(rid, doc, who)


def placement_recommendations(
    session: Session, warm: WarmRounds, placement_id: str, who: Principal,
    top: int = DEFAULT_TOP, round_id: str | None = None,
) -> dict[str, Any]:
    """The best volunteers for a stored need by exact regret: the round's own need where
    the round holds it unchanged, else the need added to the round with one slot."""
    need = _stored(session, placement_id, who)
    rid, base = advice_base_for(session, warm, round_id)
    return _answer(rid, advise_placement(base, need, top).as_dict(), who)


def volunteer_recommendations(
    session: Session, warm: WarmRounds, volunteer_id: str, top: int = DEFAULT_TOP,
    round_id: str | None = None,
) -> dict[str, Any]:
    """A volunteer's best placements in the current round by exact regret (404 for a
    volunteer the round does not hold)."""
    rid, base = advice_base_for(session, warm, round_id)
    vi = base.prep.compiled.vindex.get(volunteer_id)
    if vi is None:
        raise not_found("volunteer in this round", volunteer_id)
    return {"round": rid, **advise_volunteer(base, vi, top)}
