"""Policy rules, one module each: every `add_<rule>(ctx)` adds its constraints to the
CP-SAT model and returns the penalty terms of its soft part (if any)."""

from volmatch.matching.constraints.assignment import add_assignment
from volmatch.matching.constraints.budget import add_budget
from volmatch.matching.constraints.coverage import add_min_fill, urgent_coverage
from volmatch.matching.constraints.fairness import fairness_floor
from volmatch.matching.constraints.gender import add_gender_balance
from volmatch.matching.constraints.groups import add_groups
from volmatch.matching.constraints.hosts import add_max_per_host
from volmatch.matching.constraints.moves import add_moves
from volmatch.matching.constraints.nationality import (
    add_nationality_per_placement,
    add_nationality_share,
)

__all__ = [
    "add_assignment",
    "add_budget",
    "add_gender_balance",
    "add_groups",
    "add_max_per_host",
    "add_min_fill",
    "add_moves",
    "add_nationality_per_placement",
    "add_nationality_share",
    "fairness_floor",
    "urgent_coverage",
]
