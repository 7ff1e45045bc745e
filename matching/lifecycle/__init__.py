"""After the match (issue 18): reserve lists, backfill after declines, waves, outcomes
feeding the next round, and the programme report. Pure functions, no I/O."""

from volmatch.matching.lifecycle.backfill import (
    add_wave,
    backfill_round,
    is_pure_backfill,
    propose_backfill,
)
from volmatch.matching.lifecycle.outcomes import (
    Reliability,
    apply_outcomes,
    host_reliability,
    outcome_kpis,
    solve_with_outcomes,
    with_outcome_kpis,
)
from volmatch.matching.lifecycle.reserves import RESERVE_SIZE, Reserve, ReserveList, reserve_lists

__all__ = [
    "RESERVE_SIZE",
    "Reliability",
    "Reserve",
    "ReserveList",
    "add_wave",
    "apply_outcomes",
    "backfill_round",
    "host_reliability",
    "is_pure_backfill",
    "outcome_kpis",
    "propose_backfill",
    "reserve_lists",
    "solve_with_outcomes",
    "with_outcome_kpis",
]
