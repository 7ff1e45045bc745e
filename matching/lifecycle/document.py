"""A backfill proposal as a result document (for `volmatch backfill` and the service).

The document is the contract's result of the backfill round (`backfill_round`: frozen
people locked, declined people and withdrawn needs forbidden, pending offers as
`previous`), so `assignments` is the whole new assignment with scores, dates and
breakdowns, and every unplaced volunteer and open slot carries its reasons, read against
that round. On top: `new_offers`, `moves`, `total_before`, `total_change`, `frozen`,
`declined` and `withdrawn` (the fields of `BackfillProposal`). A declined volunteer's
reason says they declined; a withdrawn need's open slots say the host withdrew it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

import numpy as np

from volmatch.matching.lifecycle.backfill import proposal_of, solve_backfill, standing_round
from volmatch.matching.lifecycle.barred import said_truly, said_truly_of_volunteer
from volmatch.matching.lifecycle.standing import read_standing
from volmatch.matching.prepared import Prepared, Solution, prepare
from volmatch.matching.previous import pair_index
from volmatch.matching.to_result import build_result
from volmatch.models import OpenSlot, Result, UnmatchedVolunteer
from volmatch.models.lifecycle import BackfillProposal
from volmatch.models.reasons import part, text_of


def backfill_document(
    prep: Prepared,
    offers: Mapping[str, str],
    *,
    declined: Iterable[str] = (),
    accepted: Iterable[str] | None = None,
    withdrawn: Iterable[str] = (),
    reserves: int = 0,
) -> tuple[BackfillProposal, Result]:
    """The proposal (as `propose_backfill`) and its result document; with `reserves`
    > 0, the reserve lists of the proposed assignment in the backfill round (frozen
    people stay, declined ones are never reserves)."""
    st = read_standing(prep, offers, declined, accepted, withdrawn)
    sol = solve_backfill(prep, st)
    proposal = proposal_of(prep, st, sol)
    sub = prepare(standing_round(prep, st))
    c, pairs = prep.compiled, prep.pairs
    chosen = pair_index(
        sub.compiled,
        sub.pairs,
        pairs.v[sol.chosen].astype(np.int64),
        pairs.p[sol.chosen].astype(np.int64),
    )
    extra = proposal.model_dump(
        mode="json",
        by_alias=True,
        include={
            "new_offers",
            "moves",
            "total_before",
            "total",
            "total_change",
            "frozen",
            "declined",
            "withdrawn",
        },
    )
    result = build_result(
        sub,
        Solution(
            chosen=np.sort(chosen).astype(np.intp),
            status=sol.status,
            objective=sol.objective,
            bound=sol.bound,
            extra=extra,
        ),
        c.round.policy.mode,
        reserves=reserves,
    )
    down = {c.volunteer_ids[v]: c.placement_ids[st.offer_p[v]] for v in st.declined.tolist()}
    gone = set(proposal.withdrawn)
    forbade = {(f.volunteer, f.placement) for f in c.round.policy.forbidden}
    unmatched = [
        _of_volunteer(u, sub, gone, forbade)
        if u.volunteer not in down
        else UnmatchedVolunteer(
            volunteer=u.volunteer,
            reasons=[text_of(why := part("declined_offer", placement=down[u.volunteer]))],
            details=[why],
        )
        for u in result.unmatched_volunteers
    ]
    withdrawn = part("withdrawn_by_host")
    open_slots = [
        OpenSlot(
            placement=o.placement, open=o.open, reasons=[text_of(withdrawn)], details=[withdrawn]
        )
        if o.placement in gone
        else _said_truly(o, sub, down, forbade)
        for o in result.open_slots
    ]
    return proposal, result.model_copy(
        update={"unmatched_volunteers": unmatched, "open_slots": open_slots}
    )


def _said_truly(
    o: OpenSlot, sub: Prepared, down: Mapping[str, str], forbade: Set[tuple[str, str]]
) -> OpenSlot:
    """Open slot `o` whose reasons say a declined volunteer declined (not forbidden)."""
    if not down or o.details is None:
        return o
    details = said_truly(sub.compiled, list(o.details), o.placement, down, forbade)
    if details == list(o.details):
        return o
    return o.model_copy(update={"details": details, "reasons": [text_of(d) for d in details]})


def _of_volunteer(
    u: UnmatchedVolunteer, sub: Prepared, gone: Set[str], forbade: Set[tuple[str, str]]
) -> UnmatchedVolunteer:
    """Unplaced `u` whose reasons say a withdrawn need was withdrawn (not forbidden)."""
    if not gone or not u.details:
        return u
    details = said_truly_of_volunteer(sub.compiled, list(u.details), u.volunteer, gone, forbade)
    if details == list(u.details):
        return u
    return u.model_copy(update={"details": details, "reasons": [text_of(d) for d in details]})
