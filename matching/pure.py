"""The pure round: the exact max-score assignment under the hard rules (min-cost flow),
and the tests that send a round with more than that to the rules solver."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.flow import max_score_assignment
from volmatch.matching.prepared import Prepared, Solution, locked_pair_indices
from volmatch.matching.previous import moves_report, previous_pairs


def solve_pure(prep: Prepared) -> Solution:
    """The exact max-score assignment under the hard rules and the locks (min-cost flow),
    solved once per prepared round (`Prepared.pure_chosen`: the flow is deterministic,
    so a second solve would choose the same pairs)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    locked = locked_pair_indices(prep)
    prev_pair = previous_pairs(c, pairs)
    if prep.pure_chosen is None:
        prep.pure_chosen = _pure_chosen(prep, locked, prev_pair)
    chosen = prep.pure_chosen.copy()  # callers may change theirs
    total = int(scores.total[chosen].sum())
    extra: dict[str, object] = {}
    if prev_pair:
        extra["moves"] = moves_report(c, pairs, scores, chosen, prev_pair)
    return Solution(chosen=chosen, status="optimal", objective=total, bound=total, extra=extra)


def _pure_chosen(
    prep: Prepared, locked: NDArray[np.intp], prev_pair: dict[int, int]
) -> NDArray[np.intp]:
    """The pairs of the max-score assignment (`solve_pure`), by one min-cost flow."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    capacity = c.capacity.copy()
    # without locks every pair is free: no gather of the arrays (a noticeable cost on
    # millions of pairs)
    idx: NDArray[np.intp] | None = None
    if len(locked):
        taken = np.zeros(c.n_volunteers, dtype=np.bool_)
        taken[pairs.v[locked]] = True
        free = ~taken[pairs.v]
        capacity -= np.bincount(pairs.p[locked], minlength=c.n_placements)
        free &= capacity[pairs.p] > 0
        idx = np.flatnonzero(free)
    weight = scores.total
    if prev_pair:
        # Among the assignments of the best total, keep the most previous pairs:
        # scaled scores plus one per kept pair is lexicographic, since all the bonuses
        # together stay below one unit of the scaled score.
        kept = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
        weight = scores.total * (len(prev_pair) + 1)
        weight[kept] += 1
    if idx is None:
        sol = max_score_assignment(c.n_volunteers, capacity, pairs.v, pairs.p, weight)
        chosen = sol.chosen.astype(np.intp)
    else:
        sol = max_score_assignment(
            c.n_volunteers, capacity, pairs.v[idx], pairs.p[idx], weight[idx]
        )
        chosen = np.sort(np.concatenate([locked, idx[sol.chosen]])).astype(np.intp)
    return chosen


def has_groups(prep: Prepared) -> bool:
    """Whether any two volunteers share a group."""
    g = prep.compiled.group
    g = g[g >= 0]
    return bool(len(g)) and len(np.unique(g)) < len(g)


def needs_rules(prep: Prepared) -> bool:
    """Whether the round asks for more than the hard rules: then it goes to CP-SAT."""
    r = prep.compiled.round
    policy = r.policy
    # Previous assignments alone are a tie-break the flow keeps exactly (solve_pure):
    # only a price per move or a frozen stage makes them a rule.
    rematch = bool(r.previous) and (
        policy.move_cost > 0
        or any(a.stage is not None and a.stage in policy.frozen_stages for a in r.previous)
    )
    return bool(policy.rules_in_use() or has_groups(prep) or rematch)
