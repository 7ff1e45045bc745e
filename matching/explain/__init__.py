"""Reasons a coordinator can act on, as structured parts (`models.reasons`): why a pair
is ineligible, why a volunteer is not placed and what placing them would cost, why a
slot stays open and what filling it would cost.

- `no_pairs`: volunteers no placement accepts, placements nobody is eligible for;
- `costs`: exact costs from the residual network of the best round (`matching.regret`);
- `policy`: what only rounds with policy rules say;
- `volunteer`: `volmatch explain`, pair by pair.
"""

from volmatch.matching.explain.costs import (
    Explained,
    Pricing,
    is_pure_optimum,
    open_reasons,
    pricing,
    unplaced_reasons,
)
from volmatch.matching.explain.no_pairs import placements_without_pairs, volunteers_without_pairs
from volmatch.matching.explain.policy import kept_out, rules_note, solver_note
from volmatch.matching.explain.volunteer import explain_volunteer
from volmatch.matching.failures import pair_failure_details, pair_failures

__all__ = [
    "Explained",
    "Pricing",
    "explain_volunteer",
    "is_pure_optimum",
    "kept_out",
    "open_reasons",
    "pair_failure_details",
    "pair_failures",
    "placements_without_pairs",
    "pricing",
    "rules_note",
    "solver_note",
    "unplaced_reasons",
    "volunteers_without_pairs",
]
