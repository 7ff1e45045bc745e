"""Rounds with policy rules: CP-SAT on the whole round when it is small, a
neighbourhood search of CP-SAT windows when it is large, and a proven bound from
Lagrangian relaxations beside either.

`solve_with_rules` assembles the parts: `setup` (locks, pure optimum, relaxation, the
pairs the model holds), `greedy` (a start that keeps every hard rule), `model` (the
CP-SAT model of `matching.constraints`), `tiers` (the objective tier by tier),
`windows` and `search` (the neighbourhood search of large rounds, over `neighbourhoods`
and `evaluate`; `local` with `group_moves`, `host_chains` and `nationality_exchanges`
where windows stall), `bound`, `network`, `decompose` and `background` (the bound),
`soften` (rules that cannot all hold) and `report` (what each rule cost).
"""

from volmatch.matching.rules.report import rules_active
from volmatch.matching.rules.solver import solve_with_rules

__all__ = ["rules_active", "solve_with_rules"]
