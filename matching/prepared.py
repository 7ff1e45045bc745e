"""A round prepared for solving, and what a solver hands back.

`prepare` compiles the round, finds its eligible pairs and scores them; every solver
(the flow of `matching.pure`, `matching.rules`, `matching.stable`) takes the `Prepared`
round and returns a `Solution`, which `matching.to_result` dresses as the contract's
`Result`. This module sits below all of them, so that none imports another's entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound, compile_round
from volmatch.matching.eligibility import Pairs
from volmatch.matching.failures import pair_failure_details
from volmatch.matching.parallel import find_pair_parts, join_pairs, score_pair_parts
from volmatch.matching.previous import pair_index
from volmatch.matching.scoring import Scores, add_bonus
from volmatch.models import Conflict, InfeasibleRound, Round

Progress = Callable[[str], None]
"""Called with the name of each stage as it starts (for progress bars)."""

STAGES = ("compile", "eligibility", "scoring", "solve", "explain", "kpis")
"""The stages `progress` is told of, in order."""


@dataclass
class Solution:
    """The chosen pairs of a round, before they are dressed up as a `Result`."""

    chosen: NDArray[np.intp]
    """Indices into the round's `Pairs`."""
    status: Literal["optimal", "feasible", "infeasible"]
    objective: int
    bound: int
    extra: dict[str, object] = field(default_factory=dict)
    """Mode-specific facts to add to the result (rule costs, moves, audit ...)."""


@dataclass
class Prepared:
    """A compiled round with its eligible pairs and their scores."""

    compiled: CompiledRound
    pairs: Pairs
    scores: Scores
    timings: dict[str, float]
    pure_chosen: NDArray[np.intp] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """The pairs of the pure optimum, once `solve_pure` has found them: the rules solver
    starts from it and the explanations of its result price on it, one flow for both
    (a flow is seconds at 50,000 volunteers). Not copied by `dataclasses.replace`."""


def prepare(r: Round, progress: Progress | None = None) -> Prepared:
    """Compile the round, find the eligible pairs and score them."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    if progress:
        progress("compile")
    c = compile_round(r)
    t["compile"] = time.perf_counter() - t0
    if progress:
        progress("eligibility")
    t0 = time.perf_counter()
    parts = find_pair_parts(c)
    t["eligibility"] = time.perf_counter() - t0
    if progress:
        progress("scoring")
    t0 = time.perf_counter()
    scores = score_pair_parts(c, parts)
    pairs = join_pairs(parts)
    scores = add_bonus(c, pairs, scores)
    t["scoring"] = time.perf_counter() - t0
    return Prepared(c, pairs, scores, t)


def locked_pair_indices(prep: Prepared) -> NDArray[np.intp]:
    """Indices of the locked pairs in `prep.pairs`; raises `InfeasibleRound` when a lock
    breaks a hard rule or the locks overfill a placement."""
    c, pairs = prep.compiled, prep.pairs
    if len(c.locked_v) == 0:
        return np.zeros(0, dtype=np.intp)
    at = pair_index(c, pairs, c.locked_v.astype(np.int64), c.locked_p.astype(np.int64))
    found = at >= 0
    conflicts: list[Conflict] = []
    for k in np.flatnonzero(~found).tolist():
        vi, pi = int(c.locked_v[k]), int(c.locked_p[k])
        details = pair_failure_details(c, vi, pi)
        conflicts.append(
            Conflict(
                rule="locked",
                message=(
                    f"locked pair {c.volunteer_ids[vi]}->{c.placement_ids[pi]} breaks the hard "
                    f"rule(s) {', '.join(details) or 'unknown'}: " + "; ".join(details.values())
                ),
                volunteers=(c.volunteer_ids[vi],),
                placements=(c.placement_ids[pi],),
            )
        )
    idx = np.unique(at[found]).astype(np.intp)
    per_p = np.bincount(pairs.p[idx], minlength=c.n_placements)
    for pi in np.flatnonzero(per_p > c.capacity).tolist():
        who = sorted(c.volunteer_ids[v] for v in pairs.v[idx][pairs.p[idx] == pi].tolist())
        conflicts.append(
            Conflict(
                rule="locked",
                message=(
                    f"{int(per_p[pi])} volunteers are locked to {c.placement_ids[pi]}, "
                    f"which has {int(c.capacity[pi])} slot(s)"
                ),
                volunteers=tuple(who),
                placements=(c.placement_ids[pi],),
            )
        )
    if conflicts:
        raise InfeasibleRound(conflicts)
    return idx
