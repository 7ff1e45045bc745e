"""What a solve with rules starts from (`set_up`): the locks, frozen stages included,
the previous pairs, the pure round's optimum, the relaxation that bounds the round
(maybe still running in a child process) with the start it offers, and the pairs the
model holds; and the shares of `time_limit_s` the parts of the solve keep to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.failures import pair_failure_details
from volmatch.matching.prepared import Prepared, locked_pair_indices
from volmatch.matching.previous import pair_index, previous_pairs
from volmatch.matching.pure import has_groups, solve_pure
from volmatch.matching.rules.background import Pending, relaxation_later
from volmatch.matching.rules.bound import Relaxation, per_placement
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Conflict, InfeasibleRound, Policy

IntP = NDArray[np.intp]

BOUND_SHARE = 0.9
"""Share of `time_limit_s` after which a relaxation still running is stopped (its best
bound so far stands). Large rounds' children restart the placement-by-placement bound
until then, so a solve takes about this share plus the building of the result."""
CPSAT_SHARE = 0.85
"""Share of `time_limit_s` by which the solve should be done (building the result and
explaining it take the rest)."""
START_SHARE = 0.25
"""Share of `time_limit_s` a large round waits for the relaxation's first assignment,
its search's start (it comes after one flow, seconds on large rounds); past it, the
search starts from the pure flow's."""
FINISH_SHARE = 0.95
"""Share of `time_limit_s` by which every part of the rules' solve (the rules' costs
and the gap's rule included) is done: the result's explanations take the rest."""
MIN_STEP_SECONDS = 0.05
"""Seconds a CP-SAT solve gets at least, even when the time limit is spent: enough
for it to read its model and hint and answer (a small overrun rather than no answer)."""
FULL_MODEL_PAIRS = 6_000
"""Up to this many eligible pairs, the model holds all of them (and can prove
optimality); beyond, CP-SAT's presolve of one boolean per pair outlasts the time."""
PER_VOLUNTEER = 6
"""Best pairs kept per volunteer in a restricted model."""
PER_PLACEMENT_EXTRA = 6
"""Best candidates kept per placement beyond its slots."""


@dataclass
class RulesSetup:
    """What every part of a solve with rules starts from."""

    started: float
    """perf_counter() when the round's solve began."""
    model_pairs: NDArray[np.intp]
    """Indices into prep.pairs of the pairs the model holds (all of them on small rounds)."""
    relaxed_bound: int
    """The bound of the flow without rules, which also bounds the rules' round."""
    locked: NDArray[np.intp]
    """Indices into prep.pairs of locked and frozen pairs."""
    prev_pair: dict[int, int]
    """previous volunteer index -> index into prep.pairs of their previous pair (-1: gone)."""
    hint: NDArray[np.intp]
    """The search's start (indices into prep.pairs), before the greedy repair."""
    pure_objective: int
    """The optimum of the round without rules."""
    relaxed: Pending | None = None
    """The relaxation (its bound and assignment), maybe still being computed."""
    guide: NDArray[np.intp] | None = None
    """The placement-by-placement bound's choices (nearly an assignment, worth more
    than the start repaired from them): the search looks first where they differ."""
    other_hint: NDArray[np.intp] | None = None
    """A second start (the bound's flow's assignment) where `hint` is the placements'
    choices: those ignore the shares per country, and on rounds where shares bind the
    greedy repair of the flow's assignment is the better start (kept when it is)."""
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds each part of the solve took (set-up, search, bound and report): where
    the time went, for the result's `solver` stats."""
    watch: StopWatch = NO_STOP
    """The solve's stop signal, looked at by every part of it (`matching.stop`)."""

    def seconds_left(self, policy: Policy, share: float = FINISH_SHARE) -> float:
        """Seconds until `share` of the time limit is spent (0 when it is), counted
        from the start of the round's solve, its preparation included."""
        return max(0.0, self.started + share * policy.time_limit_s - time.perf_counter())

    def clamp(self, seconds: float, policy: Policy) -> float:
        """`seconds`, cut to what is left of the time limit (`MIN_STEP_SECONDS` at least)."""
        return max(MIN_STEP_SECONDS, min(seconds, self.seconds_left(policy)))

    def fresh_guide(self) -> NDArray[np.intp] | None:
        """The relaxation's newest choices so far (the child's bound converges while
        the search runs), None when it has none (a search that started without a
        guide takes the flow's assignment too: `windows._LateGuide`)."""
        relax = None if self.relaxed is None else self.relaxed.latest()
        return None if relax is None else relax.start

    def bound(self, deadline: float | None = None) -> int:
        """The proven bound: the relaxation's (the best found by `deadline`), where it
        is tighter than the flow's."""
        return self.bound_and_source(deadline)[0]

    def bound_and_source(self, deadline: float | None = None) -> tuple[int, str]:
        """The proven bound (`bound`) and where it comes from, for the result's stats:
        `relaxation`, or `pure_optimum` (the round without rules, always valid) with
        why the relaxation did not give a tighter one."""
        relax = None if self.relaxed is None else self.relaxed.result(deadline)
        if relax is None:
            return self.relaxed_bound, "pure_optimum: the relaxation sent no bound in time"
        if relax.bound < self.relaxed_bound:
            return relax.bound, "relaxation"
        return self.relaxed_bound, "pure_optimum: the relaxation is no tighter on this round"


def _frozen_locks(prep: Prepared) -> NDArray[np.intp]:
    """Pairs of previous assignments at a frozen stage; they must still be eligible."""
    c, r = prep.compiled, prep.compiled.round
    frozen = [a for a in r.previous if a.stage is not None and a.stage in r.policy.frozen_stages]
    if not frozen:
        return np.zeros(0, dtype=np.intp)
    v = np.array([c.vindex[a.volunteer] for a in frozen], dtype=np.int64)
    p = np.array([c.pindex[a.placement] for a in frozen], dtype=np.int64)
    at = pair_index(c, prep.pairs, v, p)
    conflicts = []
    for k in np.flatnonzero(at < 0).tolist():
        details = pair_failure_details(c, int(v[k]), int(p[k]))
        conflicts.append(
            Conflict(
                rule="frozen_stages",
                message=(
                    f"{frozen[k].volunteer} is frozen at {frozen[k].placement} (stage "
                    f"{frozen[k].stage!r}) but the pair now breaks "
                    + "; ".join(f"{r_}: {d}" for r_, d in details.items())
                ),
                volunteers=(frozen[k].volunteer,),
                placements=(frozen[k].placement,),
            )
        )
    if conflicts:
        raise InfeasibleRound(conflicts)
    return at


def _select_pairs(prep: Prepared, must: list[NDArray[np.intp]]) -> NDArray[np.intp]:
    """The pairs the model holds (all of them for small rounds)."""
    c, pairs, score = prep.compiled, prep.pairs, prep.scores.total
    n = len(pairs)
    if n <= FULL_MODEL_PAIRS:
        return np.arange(n, dtype=np.intp)
    keep = np.zeros(n, dtype=np.bool_)
    for arr in must:
        keep[arr[arr >= 0]] = True
    # each volunteer's best pairs
    order = best_first(pairs.v, score)
    sv = pairs.v[order]
    first = np.searchsorted(sv, sv, side="left")
    keep[order[(np.arange(n) - first) < PER_VOLUNTEER]] = True
    # each placement's best candidates (pairs are placement-major already)
    order = best_first(pairs.p, score)
    sp = pairs.p[order]
    first = np.searchsorted(sp, sp, side="left")
    limit = c.capacity[sp] + PER_PLACEMENT_EXTRA
    keep[order[(np.arange(n) - first) < limit]] = True
    # every pair of a group member, so groups can find a common placement
    keep |= c.group[pairs.v] >= 0
    return np.flatnonzero(keep)


def best_first(by: NDArray[np.integer], score: NDArray[np.int64]) -> NDArray[np.intp]:
    """The order of `np.lexsort((-score, by))` (by `by`, best score first, the
    original order on ties), from one stable sort of a single integer key: at
    millions of pairs a third of the time of the two-key sort."""
    if not len(score):
        return np.zeros(0, dtype=np.intp)
    low, high = int(score.min()), int(score.max())
    key = by.astype(np.int64) * (high - low + 1) + (high - score)
    return np.argsort(key, kind="stable").astype(np.intp)


def set_up(prep: Prepared, started: float, watch: StopWatch = NO_STOP) -> RulesSetup:
    """Check the locks, start the relaxation, solve the pure round and choose the
    search's start and the pairs the model holds. `started`: perf_counter() when the
    round's solve began (its preparation included). Raises `Stopped` once `watch`
    says stop, the relaxation's child process ended."""
    c, r = prep.compiled, prep.compiled.round
    stages: dict[str, float] = {}
    t = time.perf_counter()
    # the locks are checked first (InfeasibleRound), so nothing below raises on them
    locked = np.union1d(locked_pair_indices(prep), _frozen_locks(prep)).astype(np.intp)
    prev_pair = previous_pairs(c, prep.pairs)
    prev_idx = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
    # large rounds: the relaxation's flows start on the other core now, beside the
    # flow below and the search
    args = (prep, r.policy, locked, prev_idx, len(r.previous))
    same = _relaxation_is_pure(prep, r.policy, locked, len(r.previous))
    relax_wait = Pending(args, watch=watch) if same else relaxation_later(*args, watch=watch)
    t = _lap(stages, "setup_relaxation", t)
    try:
        pure = solve_pure(prep)
        watch.check()
        if same:
            # the relaxation's network would be this flow's: not solved twice
            relax_wait = Pending(args, Relaxation(pure.objective, pure.chosen, 0.0, 0), watch)
        t = _lap(stages, "setup_pure_flow", t)
        if len(prep.pairs) <= FULL_MODEL_PAIRS:
            hint, guide, must = _small_start(relax_wait, pure.chosen, locked, prev_idx)
            other = None
        else:
            hint, guide, other = _large_start(prep, relax_wait, pure.chosen, started, stages)
            must = [pure.chosen, hint, locked, prev_idx] + ([] if other is None else [other])
    except BaseException:
        # (a stop or a failure before the solve holds the relaxation: its child ends)
        relax_wait.cancel()
        raise
    t = _lap(stages, "setup_start", t)
    if relax_wait.first_seconds is not None:
        # when the bound's first flow came, counted from the child's start (beside
        # the pure flow above)
        stages["setup_first_flow_came"] = relax_wait.first_seconds
    model_pairs = _select_pairs(prep, must)
    _lap(stages, "setup_model_pairs", t)
    return RulesSetup(
        started,
        model_pairs,
        pure.objective,
        locked,
        prev_pair,
        hint,
        pure.objective,
        relax_wait,
        guide,
        other_hint=other,
        stages=stages,
        watch=watch,
    )


def _relaxation_is_pure(
    prep: Prepared, policy: Policy, locked: NDArray[np.intp], n_previous: int
) -> bool:
    """Whether the relaxation's flow network (`matching.rules.network`) is the pure
    round's, so that its bound and assignment are the pure flow's: no rule it keeps
    beyond the slots (host or nationality caps, gender balance, a budget, groups,
    locks, a bonus for keeping previous pairs), and no placement-by-placement bound."""
    return (
        policy.budget is None
        and policy.max_per_host is None
        and policy.max_same_nationality_per_placement is None
        and not policy.gender_balance
        and not len(locked)
        and not (n_previous and policy.move_cost)
        and not has_groups(prep)
    )


def _lap(stages: dict[str, float], name: str, since: float) -> float:
    """Count the seconds since `since` as stage `name`; returns now."""
    now = time.perf_counter()
    stages[name] = stages.get(name, 0.0) + now - since
    return now


def _small_start(
    relax_wait: Pending, pure: IntP, locked: IntP, prev_idx: IntP
) -> tuple[IntP, IntP | None, list[IntP]]:
    """A small round's start and guide: the relaxation's placement choices (computed
    before the search), else its flow's assignment; and the pairs the model must hold."""
    relax = relax_wait.result()
    assert relax is not None
    # (a relaxation that came from a child process carries no pairs)
    hint = relax.chosen if len(relax.chosen) else pure
    guide = relax.start
    if relax.start is not None:
        hint = relax.start
    return hint, guide, [pure, relax.chosen, hint, locked, prev_idx]


def _large_start(
    prep: Prepared,
    relax_wait: Pending,
    pure: IntP,
    started: float,
    stages: dict[str, float],
) -> tuple[IntP, IntP | None, IntP | None]:
    """A large round's start and guide. The bound comes from a child process while
    the search runs; its first assignment (host and nationality caps or the gender
    stand-in, the groups' reach, the move bonus, the budget priced in) is a far better
    start than the pure flow's and guides the first windows where the start differs
    from it. The placement-by-placement choices the child computes next (where
    placements have rules of their own) are taken as well when they have come by then:
    the start is the better of the two repaired (`tiers._better_start`). They are not
    waited for, nor computed here: the child's steps from that flow's multiplier are
    the same steps, and the search takes its newer choices as guides as they come."""
    policy = prep.compiled.round.policy
    t = time.perf_counter()
    first = relax_wait.first(started + START_SHARE * policy.time_limit_s)
    _lap(stages, "setup_first_flow_wait", t)
    if first is None or not len(first.chosen):
        # the child's flow did not come in time: the pure flow's assignment
        return pure, None, None
    # every shape gets guided windows: where the repaired start (groups made whole,
    # shares kept) differs from the bound's flow, the bound and the incumbent disagree
    choices = relax_wait.latest()
    if choices is not None and choices.start is not None and per_placement(policy):
        return choices.start, choices.start, first.chosen
    return first.chosen, first.chosen, None
