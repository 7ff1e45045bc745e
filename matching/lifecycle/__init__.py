"""After the match (issue 18): reserve lists, backfill after declines, waves, outcomes
feeding the next round, and the programme report. Pure functions, no I/O."""

from volmatch.matching.lifecycle.backfill import (
    add_wave,
    backfill_round,
    is_pure_backfill,
    propose_backfill,
)
from volmatch.matching.lifecycle.reserves import RESERVE_SIZE, Reserve, ReserveList, reserve_lists

__all__ = [
    "RESERVE_SIZE",
    "Reserve",
    "ReserveList",
    "add_wave",
    "backfill_round",
    "is_pure_backfill",
    "propose_backfill",
    "reserve_lists",
]
