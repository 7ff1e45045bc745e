"""Stable mode: deferred acceptance on the compiled arrays, couples, stability audit.

`solve_stable` is the solver; `stability_audit` and `blocking` check any assignment;
`stable_reasons` explains a stable result in terms of ranks.
"""

from volmatch.matching.stable.audit import stability_audit
from volmatch.matching.stable.deferred import host_proposing, volunteer_proposing
from volmatch.matching.stable.preference_lists import Rankings, rankings
from volmatch.matching.stable.reasons import stable_reasons
from volmatch.matching.stable.solver import cheap_bound, solve_stable
from volmatch.matching.stable.stability import LIST_CAP, blocking

__all__ = [
    "LIST_CAP",
    "Rankings",
    "blocking",
    "cheap_bound",
    "host_proposing",
    "rankings",
    "solve_stable",
    "stability_audit",
    "stable_reasons",
    "volunteer_proposing",
]
