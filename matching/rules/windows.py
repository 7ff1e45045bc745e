"""CP-SAT on one window of the search: the window's free pairs as variables, the held
pairs at the placements it touches as constants, and the rest of the assignment
counted into the global rules; and the search of a large round run with it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.constraints import budget
from volmatch.matching.constraints.base import PairVars, RuleContext
from volmatch.matching.constraints.groups import unplaceable_groups
from volmatch.matching.constraints.moves import forced_moves, move_limit
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.bound import per_placement
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.greedy import greedy_start
from volmatch.matching.rules.model import (
    RulesModel,
    build_model,
    hint_everything,
    solve_watched,
)
from volmatch.matching.rules.neighbourhoods import Window
from volmatch.matching.rules.objective import tier_names
from volmatch.matching.rules.search import improve
from volmatch.matching.rules.setup import BOUND_SHARE, CPSAT_SHARE, RulesSetup
from volmatch.models import Policy

WINDOW_WORKERS = 1
"""CP-SAT workers per window: windows are small, and one worker keeps them reproducible."""
WINDOW_EFFORT = 0.1
"""CP-SAT deterministic time per window (a fraction of a second of wall clock): guided
windows hold a dozen placements, and less effort leaves more of them unproven."""


def solve_by_windows(
    prep: Prepared, setup: RulesSetup, policy: Policy, start: NDArray[np.intp]
) -> tuple[NDArray[np.intp], RulesModel, dict[str, Any], bool]:
    """Large rounds: from a start that keeps every hard rule, re-optimise window after
    window with CP-SAT (`matching.rules.search`) until the policy's share of the time is spent."""
    share = CPSAT_SHARE
    if setup.relaxed is not None and setup.relaxed.in_background:
        # the result waits for the bound's process until BOUND_SHARE anyway
        share = max(CPSAT_SHARE, BOUND_SHARE)
    deadline = setup.started + share * policy.time_limit_s
    late = _LateGuide(prep, setup, policy, share)
    # a fresh start is offered when the start did not come from the bound: its first
    # flow came late (no guide), or the placements' choices came after its flow
    # (couples10-country-gender at 10,000 x 2,000: their repair 0.7% above the
    # flow's, more than eight seconds of windows gained)
    offer = setup.guide is None or (per_placement(policy) and setup.other_hint is None)
    picked, _floors, stats = improve(
        prep,
        policy,
        start,
        setup.locked,
        setup.prev_pair,
        _WindowSolver(prep, setup, policy),
        deadline,
        guide=setup.guide,
        fresh_guide=late.guide if setup.guide is None else setup.fresh_guide,
        fresh_start=late.start if offer else None,
        watch=setup.watch,
    )
    ev = Evaluator(prep, policy, setup.prev_pair)
    values: dict[str, Any] = {
        name: {"value": v, "bound": None, "optimal": False}
        for name, v in zip(tier_names(policy), ev.values(picked), strict=True)
    }
    values["search"] = stats
    return picked, _notes_model(prep, setup, policy), values, False


FRESH_ROOM = 3.0
"""A fresh start's repair is made only while this many times the start's greedy time
is left of the search: the repair, and windows to use it after."""


@dataclass
class _LateGuide:
    """The bound's newest assignment, for a search that started without it (the
    bound's first flow came after the start's wait, as under load: the start was the
    pure flow's repair, 1.4% from the bound on groups3-10-placement at 10,000 x 2,000
    where the repair of the bound's flow starts 0.004% from it). It guides the windows
    once it comes, and its greedy repair is offered as a start."""

    prep: Prepared
    setup: RulesSetup
    policy: Policy
    share: float
    """The share of the time limit the search ends at."""

    def guide(self) -> NDArray[np.intp] | None:
        """The placement-by-placement choices where they run, else the flow's
        assignment (None while the bound's process has sent nothing)."""
        relax = None if self.setup.relaxed is None else self.setup.relaxed.latest()
        if relax is None:
            return None
        if relax.start is not None:
            return relax.start
        return relax.chosen if len(relax.chosen) else None

    def start(self, guide: NDArray[np.intp]) -> NDArray[np.intp] | None:
        """The greedy repair of `guide` (every hard rule kept, groups whole); None
        when less than `FRESH_ROOM` times what the start's greedy took is left of the
        search (a repair costs about as much: under load, a second of couples, which
        the time limit cannot spare at its end)."""
        setup = self.setup
        took = setup.stages.get("start_greedy", 0.0)
        if setup.seconds_left(self.policy, self.share) < FRESH_ROOM * took:
            return None
        mp = np.union1d(setup.model_pairs, guide).astype(np.intp)
        chosen = greedy_start(
            self.prep, replace(setup, model_pairs=mp, hint=guide), self.policy, frozenset()
        )
        return np.sort(mp[chosen]).astype(np.intp)


def _notes_model(prep: Prepared, setup: RulesSetup, policy: Policy) -> RulesModel:
    """The rules' notes for the result (groups no placement takes, min_fill needs),
    counted on the arrays: an empty model that carries them."""
    c, pairs = prep.compiled, prep.pairs
    empty = np.zeros(0, dtype=np.intp)
    pv = PairVars(empty, pairs.v[empty], pairs.p[empty], prep.scores.total[empty], [])
    ctx = RuleContext(cp_model.CpModel(), pv, c, pairs, prep.scores, policy)
    ctx.notes["groups_unplaceable"] = unplaceable_groups(c, pairs, policy.group_together)
    if policy.min_fill:
        ctx.notes["min_fill_needs"] = {
            p: min(int(policy.min_fill[int(c.priority[p])]), int(c.capacity[p]))
            for p in range(c.n_placements)
            if int(c.priority[p]) in policy.min_fill
        }
    return RulesModel(ctx, [], [], 0)


@dataclass
class _Local:
    """What a window's model sees of the global rules."""

    policy: Policy
    """The policy with the budget and the move limit less what the pairs left out use."""
    prev_pair: dict[int, int]
    """Previous assignments of the window's volunteers only."""
    outside: dict[str, dict[Any, int]]
    """The held pairs left out of the model, counted (see `RuleContext.outside`)."""


def _window_scope(
    prep: Prepared, setup: RulesSetup, policy: Policy, win: Window
) -> tuple[NDArray[np.intp], _Local]:
    """The held pairs a window's model needs, and what the others take from the global
    rules. A held pair matters as a pair only at a placement the window touches
    (slots, nationality cap, gender, min_fill; fairness counts every pair). Elsewhere
    it is a constant: counted per host country, nationality and host for the shares
    and host caps, its cost off the budget, and a volunteer outside the window who has
    moved counted against `max_moves`."""
    c, pairs = prep.compiled, prep.pairs
    touched = np.unique(pairs.p[win.free])
    held = win.fixed
    hp = pairs.p[held]
    keep = np.isin(hp, touched)
    if "fairness" in policy.objective:
        keep[:] = True
    out = held[~keep]
    op = pairs.p[out]
    oc = c.country[op].astype(np.int64)
    on = c.nationality[pairs.v[out]].astype(np.int64)
    counted: dict[str, dict[Any, int]] = {
        "country": dict(zip(*np.unique(oc, return_counts=True), strict=True)),
        "host": dict(zip(*np.unique(c.host[op].astype(np.int64), return_counts=True), strict=True)),
        "country_nat": {
            (int(k) // len(c.countries), int(k) % len(c.countries)): int(n)
            for k, n in zip(*np.unique(oc * len(c.countries) + on, return_counts=True), strict=True)
        },
    }
    counted["country"] = {int(k): int(n) for k, n in counted["country"].items()}
    counted["host"] = {int(k): int(n) for k, n in counted["host"].items()}
    update: dict[str, Any] = {}
    if policy.budget is not None and len(out):
        spent = budget.spent(c, pairs, out, policy)
        update["budget"] = policy.budget.model_copy(update={"total": policy.budget.total - spent})
    in_window = np.zeros(c.n_volunteers, dtype=np.bool_)
    in_window[pairs.v[win.free]] = True
    prev_local = {v: i for v, i in setup.prev_pair.items() if in_window[v]}
    if policy.max_moves is not None and len(prev_local) < len(setup.prev_pair):
        current = np.zeros(len(pairs), dtype=np.bool_)
        current[win.current] = True
        moved = sum(
            1 for v, i in setup.prev_pair.items() if not in_window[v] and (i < 0 or not current[i])
        )
        prev = np.array([i for i in setup.prev_pair.values() if i >= 0], dtype=np.intp)
        gone = len(setup.prev_pair) - len(prev)
        forced = forced_moves(gone, pairs.p[prev], c.capacity)
        update["max_moves"] = move_limit(policy, forced) - moved
    local = policy.model_copy(update=update) if update else policy
    return held[keep], _Local(local, prev_local, counted)


MIN_WINDOW_SECONDS = 0.1
"""Wall clock a window gets at least, however little time is left."""


@dataclass(frozen=True)
class _WindowSolver:
    """CP-SAT on one window: its free pairs, the rest of the assignment fixed (a
    `SolveWindow`)."""

    prep: Prepared
    setup: RulesSetup
    policy: Policy

    def __call__(
        self, win: Window, keep: list[str], name: str, seconds: float
    ) -> tuple[NDArray[np.intp], bool] | None:
        prep, setup, policy = self.prep, self.setup, self.policy
        held, local = _window_scope(prep, setup, policy, win)
        mp = np.union1d(win.free, held).astype(np.intp)
        is_fixed = np.isin(mp, held)
        sub = replace(
            setup,
            model_pairs=mp,
            hint=win.current,
            locked=setup.locked[np.isin(setup.locked, mp)],
            prev_pair=local.prev_pair,
        )
        built = build_model(prep, sub, local.policy, held=is_fixed, outside=local.outside)
        model = built.ctx.model
        pv = built.ctx.vars
        exprs: dict[str, Any] = dict(built.tiers)
        if name not in exprs:
            return None
        now = hint_everything(model, pv, np.isin(mp, win.current), policy, watch=self.setup.watch)
        if now is None:
            return None
        # Tiers before this one: no worse than now. Constants the window leaves out
        # (rules of placements it does not touch) cancel on both sides.
        for tier in keep:
            if tier in exprs:
                model.add(exprs[tier] >= now.value(exprs[tier]))
        self._objective(model, built, name, win)
        s = cp_model.CpSolver()
        s.parameters.num_workers = WINDOW_WORKERS
        s.parameters.max_time_in_seconds = max(seconds, MIN_WINDOW_SECONDS)
        # Most windows are proven within this effort; the others stop with what they
        # have. An effort, not a time: a window gives the same answer on any machine.
        s.parameters.max_deterministic_time = WINDOW_EFFORT
        s.parameters.random_seed = policy.seed
        s.parameters.catch_sigint_signal = False  # (see model.cpsat_solver)
        status = solve_watched(s, model, self.setup.watch)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        chosen = pv.value(s)
        whole = status == cp_model.OPTIMAL and len(win.fixed) == 0 and len(mp) == len(prep.pairs)
        # `held` pairs left out of the model are unchanged: the caller adds win.fixed
        return mp[chosen & ~is_fixed], whole

    def _objective(
        self, model: cp_model.CpModel, built: RulesModel, name: str, win: Window
    ) -> None:
        """Maximise tier `name`; before the last tier, the last one (score) too, below it."""
        exprs: dict[str, Any] = dict(built.tiers)
        last = built.tiers[-1][0]
        if name == last:
            model.maximize(exprs[name])
            return
        # This tier first, then the last one (score): a weight above anything the
        # last tier can move inside the window keeps the order lexicographic.
        prep, policy = self.prep, self.policy
        swing = int(prep.scores.total[win.free].sum())
        swing += 2 * policy.gender_balance_penalty * len(np.unique(prep.pairs.p[win.free]))
        swing += policy.move_cost * len(np.unique(prep.pairs.v[win.free]))
        model.maximize((swing + 1) * exprs[name] + exprs[last])
