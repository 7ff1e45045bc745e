"""The offer states as the service stores them: the engine's one table
(`volmatch.models.lifecycle.TRANSITIONS`), `withdrawn` included (the service closes an
offer so when a confirmed backfill moves its volunteer or the host withdraws the need),
turned into the service's answers (409 for a change the table forbids, 422 for an
unknown state or a wrong reason)."""

from __future__ import annotations

from typing import Final

from volmatch.api.service.errors import ApiError
from volmatch.models.lifecycle import (
    FINAL_STATES,
    FROZEN_STATES,
    OPEN_STATES,
    VACATING_STATES,
    WITHDRAWABLE_STATES,
    DeclineReason,
    EarlyEndReason,
    OfferState,
    TransitionError,
    check_transition,
)

WITHDRAWN: Final = OfferState.WITHDRAWN
"""An offer closed by the service: moved by a confirmed backfill, or its need withdrawn."""

WITHDRAWABLE: Final = WITHDRAWABLE_STATES
"""States an offer can be withdrawn from (a deployed volunteer ends early instead)."""

HOLDING: Final = frozenset({*FROZEN_STATES, OfferState.COMPLETED, OfferState.ENDED_EARLY})
"""States whose volunteer holds the slot for a backfill: said yes, there, or was there."""

FINAL: Final = FINAL_STATES
"""States after which nothing changes."""

STANDING_CHANGES: Final = frozenset({OfferState.ACCEPTED, *VACATING_STATES, WITHDRAWN})
"""Entering one of these changes who stands where: the round's version moves on."""

ALL_STATES: Final = tuple(s.value for s in OfferState)

__all__ = [
    "ALL_STATES",
    "FINAL",
    "FROZEN_STATES",
    "HOLDING",
    "OPEN_STATES",
    "STANDING_CHANGES",
    "VACATING_STATES",
    "WITHDRAWABLE",
    "WITHDRAWN",
    "check_reason",
    "next_state",
]


def next_state(frm: str, to: str, offer_id: int) -> str:
    """`to` when an offer in state `frm` may become it (the engine's table); 409 naming
    both otherwise, 422 for an unknown state."""
    try:
        return check_transition(frm, to).value
    except TransitionError as exc:
        raise ApiError(409, f"offer {offer_id}: {exc}") from None
    except ValueError:
        raise ApiError(422, f"unknown state {to!r} (one of {', '.join(ALL_STATES)})") from None


def check_reason(to: str, reason: str | None, offer_id: int) -> str | None:
    """The reason code of a change to `to`: required and from the fixed list for a
    decline or an early end; none for other changes (422 naming the offer otherwise)."""
    codes: tuple[str, ...] = ()
    if to == OfferState.DECLINED:
        codes = tuple(DeclineReason)
    elif to == OfferState.ENDED_EARLY:
        codes = tuple(EarlyEndReason)
    if not codes:
        if reason is not None and to != OfferState.EXPIRED:
            raise ApiError(
                422,
                f"offer {offer_id}: a reason is only given for a decline or "
                f"an early end, not for {to!r}",
            )
        return reason
    if reason not in codes:
        raise ApiError(
            422,
            f"offer {offer_id}: reason must be one of {', '.join(codes)} "
            f"for {to!r}, not {reason!r}",
        )
    return reason
