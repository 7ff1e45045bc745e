"""A tighter bound for rounds with gender balance or a nationality cap per placement: a
Lagrangian relaxation that prices each volunteer and then solves every placement on
its own, exactly.

Pricing "each volunteer takes at most one placement" with u_v >= 0 splits the round
into one small problem per placement: choose at most `slots` of its candidates to
maximise the sum of (weight - u_v) less the gender balance penalty the choice incurs,
counted exactly (the flow networks of `matching.rules.network` can only approximate
that rule from above, and are loose where placements are part-filled, as under a
tight budget). For any u >= 0,

    sum(u) + sum over placements of their best choice + lam * budget - move_cost * previous

bounds every assignment that keeps the budget: an assignment's own choices are
feasible per placement, and each volunteer it places uses up at most its u_v once. The
weights are the relaxation's (score, the bonus for keeping a previous pair, minus
lam x the placement's cost). A group member's pairs count only where the whole group
can go; a locked volunteer has only their locked pair, which its placement always
takes. The nationality cap per placement is kept inside each placement's problem (the
best set within the cap, found greedily, caps every gender pattern's value: exact
whenever that set keeps the gender rule). Rules left out only remove assignments (host
caps, shares, move limits, tiers), so the bound stays valid.

u starts at the prices of the plain assignment (a flow, then placement prices by
longest paths) and is improved by projected subgradient steps: a volunteer chosen by
several placements gets dearer, one chosen by none cheaper. The budget's multiplier
lam can follow the choices' spending (`balance_budget`): every step's bound is valid at
its own lam, so it needs no flows to find lam first.

The placements' choices at good prices are nearly an assignment (few volunteers are
chosen twice): the search starts from them, repaired, and looks first where they
differ from its assignment (`matching.rules.neighbourhoods.guided_groups`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies
from volmatch.matching.flow import max_score_assignment
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.network import SCALE
from volmatch.models import Policy

F64 = NDArray[np.float64]


DECOMPOSITION_STEPS = 300
"""Subgradient steps at most of the placement-by-placement bound (it settles well
within them on the rounds measured)."""
TARGET_SHARE = 0.99
"""The steps' target (a value the bound is not expected to go below, which sizes the
steps) as a share of a flow's bound, when no better value is known."""
PRICE_PASSES = 200
"""Longest-path passes at most for the starting placement prices (any prices give a
valid bound; these only make the start good)."""


def weights(
    prep: Prepared, policy: Policy, lam: float, prev_pairs: NDArray[np.intp], n_previous: int
) -> tuple[F64, float]:
    """Per pair: score + keep bonus - lam * cost; and the constant lam * budget - move
    penalties of every previous assignment."""
    w = prep.scores.total.astype(np.float64)
    const = 0.0
    if n_previous and policy.move_cost:
        w[prev_pairs] += policy.move_cost
        const -= policy.move_cost * n_previous
    if policy.budget is not None and lam > 0:
        w -= lam * placement_costs(prep.compiled, policy)[prep.pairs.p]
        const += lam * policy.budget.total
    return w, const


def start_prices(c: CompiledRound, pv: NDArray[np.int32], pp: NDArray[np.int32], w: F64) -> F64:
    """u from the plain assignment's optimal prices (slots only, no rule)."""
    scaled = np.rint(SCALE * w).astype(np.int64)
    pos = np.flatnonzero(scaled > 0)
    u = np.zeros(c.n_volunteers)
    if len(pos) == 0:
        return u
    sol = max_score_assignment(
        c.n_volunteers, c.capacity.astype(np.int64), pv[pos], pp[pos], scaled[pos]
    )
    chosen = pos[sol.chosen]
    at = np.full(c.n_volunteers, -1, dtype=np.int64)
    at[pv[chosen]] = chosen
    full = np.bincount(pp[chosen], minlength=c.n_placements) >= c.capacity
    own = at[pv]
    placed = own >= 0
    # pi_p >= w_vp for an unplaced candidate, >= pi_q + w_vp - w_vq for one placed at q
    pi = np.zeros(c.n_placements)
    np.maximum.at(pi, pp[~placed], w[~placed])
    move = placed & (own != np.arange(len(pv)))
    src, dst, gain = pp[own[move]], pp[move], w[move] - w[own[move]]
    pi[~full] = 0.0
    for _ in range(PRICE_PASSES):
        new = pi.copy()
        np.maximum.at(new, dst, pi[src] + gain)
        new[~full] = 0.0
        if np.array_equal(new, pi):
            break
        pi = new
    np.maximum.at(u, pv, w - pi[pp])
    return np.maximum(u, 0.0)


def group_usable(prep: Prepared, policy: Policy) -> NDArray[np.bool_]:
    """Pairs a volunteer of a group can use: groups go all or none to one placement
    (`group_together: placement`) or one host country, so a member's pair is of use
    only where every member has one (the bound is taken only when groups hold)."""
    c, pairs = prep.compiled, prep.pairs
    g = c.group[pairs.v].astype(np.int64)
    usable = np.ones(len(pairs), dtype=np.bool_)
    member = g >= 0
    if not member.any():
        return usable
    size = np.bincount(c.group[c.group >= 0].astype(np.int64))
    member &= size[np.maximum(g, 0)] >= 2
    if not member.any():
        return usable
    if policy.group_together == "placement":
        place = pairs.p.astype(np.int64)
        span = c.n_placements
    else:
        place = c.country[pairs.p].astype(np.int64)
        span = len(c.countries)
    key = g[member] * span + place[member]
    # members with a pair there (each counted once per key)
    who = np.unique(key * c.n_volunteers + pairs.v[member].astype(np.int64))
    keys, counts = np.unique(who // c.n_volunteers, return_counts=True)
    have = counts[np.searchsorted(keys, key)]
    usable[np.flatnonzero(member)] = have == size[g[member]]
    return usable


NO_RANK = np.iinfo(np.int64).max // 4
"""A rank past every placement's candidates: no candidate of that gender."""


def all_choices(
    vals: F64,
    place: NDArray[np.int64],
    starts: NDArray[np.int64],
    gender: NDArray[np.int8],
    slots: NDArray[np.int64],
    applies: NDArray[np.bool_],
    pen: float,
    allowed: NDArray[np.bool_] | None = None,
) -> tuple[F64, NDArray[np.bool_]]:
    """Every placement's best set of at most `slots` candidates at once, the gender
    penalty counted exactly where the rule applies: entries sorted by placement, then
    value descending (`starts` = first entry of each placement). Returns each
    placement's best value and which entries its best set takes. (The tests check it
    against a one-placement version and that against every subset.)

    `allowed` (the nationality cap: each placement's best `cap` entries of each
    nationality) makes the value an upper bound of the best set within the cap, exact
    whenever the best capped set keeps the gender rule: a set of each gender pattern
    is worth at most both its best value without the cap and the best capped set's
    value less that pattern's penalty."""
    n_p = len(starts) - 1
    n = len(vals)
    rank = np.arange(n) - starts[place]
    first = _first_ranks(gender, place, rank, n_p)
    capped_full = None if allowed is None else _capped_sets(allowed, vals, starts, place, slots)
    # Every set below takes a placement's first F, first M, capped set or entries
    # ranked under slots + 2: the rest is left out of the arithmetic.
    sub = (rank < slots[place] + 2) | (rank == first[0][place]) | (rank == first[1][place])
    if capped_full is not None:
        sub |= capped_full
    keep = np.flatnonzero(sub)
    e = _Entries(vals[keep], place[keep], rank[keep], gender[keep], n_p)
    masks, missings, ok = _patterns(e, first, slots, applies, np.diff(starts))
    values = [
        e.per_place(mask) - pen * missing
        for mask, missing in zip(masks[:-1], missings[:-1], strict=True)
    ]
    values.append(e.per_place(masks[-1]))  # the plain set: no penalty
    capped = capped_exact = None
    if capped_full is not None:
        capped = capped_full[keep]
        capped_value = e.per_place(capped)
        capped_exact = capped_value - pen * np.where(
            applies & (e.sizes(capped) >= 2), e.missing_genders(capped), 0.0
        )
        values = [
            np.minimum(v, capped_value - pen * k) for v, k in zip(values, missings, strict=True)
        ]
    table = np.where(np.stack(ok), np.stack(values), -np.inf)
    pick = np.argmax(table, axis=0)
    best = table[pick, np.arange(n_p)]
    empty = best <= 0
    chosen = np.stack(masks)[pick[e.place], np.arange(len(e.vals))]
    if capped is not None and capped_exact is not None:
        # where the capped set reaches the bound it is the placement's exact choice
        exact = capped_exact >= best - EXACT_TOLERANCE
        chosen = np.where(exact[e.place], capped, chosen)
    chosen &= ~empty[e.place]
    out = np.zeros(n, dtype=np.bool_)
    out[keep] = chosen
    return np.where(empty, 0.0, best), out


EXACT_TOLERANCE = 1e-9
"""Float slack within which the best capped set counts as reaching the bound."""


def _first_ranks(
    gender: NDArray[np.int8], place: NDArray[np.int64], rank: NDArray[np.int64], n_p: int
) -> list[NDArray[np.int64]]:
    """Per balanced gender, per placement: the rank of its best candidate of that gender
    (`NO_RANK`: none)."""
    first: list[NDArray[np.int64]] = []
    for g in BALANCED_GENDERS:
        f = np.full(n_p, NO_RANK, dtype=np.int64)
        at = np.flatnonzero(gender == g)
        lead = at[np.r_[True, place[at][1:] != place[at][:-1]]] if len(at) else at
        f[place[lead]] = rank[lead]
        first.append(f)
    return first


def _capped_sets(
    allowed: NDArray[np.bool_],
    vals: F64,
    starts: NDArray[np.int64],
    place: NDArray[np.int64],
    slots: NDArray[np.int64],
) -> NDArray[np.bool_]:
    """Each placement's best set within the nationality cap: greedy is exact (a cap per
    nationality and one on the total form a matroid)."""
    pos = allowed & (vals > 0)
    cs = np.cumsum(pos)
    before = np.concatenate([[0], cs])[starts[:-1]]
    capped: NDArray[np.bool_] = pos & (cs - 1 - before[place] < slots[place])
    return capped


@dataclass(frozen=True)
class _Entries:
    """The candidates `all_choices` looks at, with per-placement sums over them."""

    vals: F64
    place: NDArray[np.int64]
    rank: NDArray[np.int64]
    gender: NDArray[np.int8]
    n_p: int

    def per_place(self, mask: NDArray[np.bool_]) -> F64:
        """Per placement, the value of its entries in `mask`."""
        got = np.bincount(self.place, weights=np.where(mask, self.vals, 0.0), minlength=self.n_p)
        return np.asarray(got, dtype=np.float64)

    def sizes(self, mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Per placement, its entries in `mask`."""
        return np.bincount(self.place[mask], minlength=self.n_p)

    def missing_genders(self, mask: NDArray[np.bool_]) -> F64:
        """Per placement, the balanced genders its entries in `mask` lack."""
        miss = np.zeros(self.n_p)
        for g in BALANCED_GENDERS:
            have = np.bincount(self.place[mask & (self.gender == g)], minlength=self.n_p) > 0
            miss += ~have
        return miss


def _patterns(
    e: _Entries,
    first: list[NDArray[np.int64]],
    slots: NDArray[np.int64],
    applies: NDArray[np.bool_],
    count: NDArray[np.int64],
) -> tuple[list[NDArray[np.bool_]], list[int], list[NDArray[np.bool_]]]:
    """The candidate sets of every placement, one per pattern: one person; two or more
    with both genders, only a woman, only a man, or neither forced (a set holding a
    woman may as well hold the best one); and the plain best `slots` where the rule
    does not apply. Returns the sets' masks, the genders each pattern misses, and per
    pattern the placements where it is a valid choice."""
    rank, vals = e.rank, e.vals
    s = slots[e.place]
    f_f, f_m = first[0][e.place], first[1][e.place]
    is_f, is_m = rank == f_f, rank == f_m
    has_f, has_m = first[0] < NO_RANK, first[1] < NO_RANK
    # no gender rule: the best `slots` with positive value
    plain = (rank < s) & (vals > 0)
    # one person: no penalty
    single = (rank == 0) & (vals > 0)
    # two or more, each pattern of forced genders, charged for the genders it does
    # not force
    before_f = (f_f < rank).astype(np.int64)
    before_m = (f_m < rank).astype(np.int64)
    both = is_f | is_m | (~is_f & ~is_m & (rank - before_f - before_m < s - 2) & (vals > 0))
    r_f = rank - before_f
    only_f = is_f | (~is_f & ((r_f == 0) | ((r_f < s - 1) & (vals > 0))))
    r_m = rank - before_m
    only_m = is_m | (~is_m & ((r_m == 0) | ((r_m < s - 1) & (vals > 0))))
    neither = (rank < 2) | ((rank < s) & (vals > 0))
    masks = [single, both, only_f, only_m, neither, plain]
    missings = [0, 0, 1, 1, 2, 0]
    valid = [
        np.ones(e.n_p, dtype=np.bool_),
        has_f & has_m,
        has_f & (count >= 2),
        has_m & (count >= 2),
        count >= 2,
    ]
    ok = [v & applies for v in valid] + [~applies]
    return masks, missings, ok


def grouping(key: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """The entries ordered by `key` (stably), the first position of each key in that
    order, and each ordered entry's group number: what `nationality_allowed` takes."""
    by_group = np.argsort(key, kind="stable").astype(np.intp)
    sk = key[by_group]
    change = sk[1:] != sk[:-1]
    group_starts = np.flatnonzero(np.r_[True, change]).astype(np.intp)
    group_of = np.cumsum(np.r_[False, change]).astype(np.intp)
    return by_group, group_starts, group_of


def nationality_allowed(
    rank: NDArray[np.int64],
    by_group: NDArray[np.intp],
    group_starts: NDArray[np.intp],
    group_of: NDArray[np.intp],
    cap: int,
) -> NDArray[np.bool_]:
    """Per entry: among the `cap` best of its (placement, nationality) group, `rank`
    being each entry's place in the value order (distinct, so ties cannot let more
    in). `by_group` orders the entries by group, `group_starts` are the first of each
    and `group_of` each ordered entry's group."""
    r = rank[by_group]
    left = r.copy()
    done = np.iinfo(np.int64).max
    threshold = np.zeros(len(group_starts), dtype=np.int64)
    for _ in range(cap):
        threshold = np.minimum.reduceat(left, group_starts)
        left[left <= threshold[group_of]] = done
    out = np.empty(len(rank), dtype=np.bool_)
    out[by_group] = r <= threshold[group_of]
    return out


class DualStep(NamedTuple):
    """One subgradient step: its bound and the placements' choices it rests on."""

    bound: int
    """The bound at this step's prices (rounded up): valid whatever the prices."""
    chosen: NDArray[np.intp]
    """Pairs (indices into the round's pairs) each placement chose at these prices:
    nearly an assignment (few volunteers chosen twice), and a far better start for
    the search than a flow's."""


def best_step(steps: Iterator[DualStep], least: int = 1) -> DualStep | None:
    """The step of `steps` with the best bound (None when fewer than `least` came, as
    when a deadline cut them short: the prices are still far off)."""
    best: DualStep | None = None
    taken = 0
    for step in steps:
        taken += 1
        if best is None or step.bound < best.bound:
            best = step
    return best if taken >= least else None


STALLS = 3
"""Steps in a row without a better bound after which the step size is halved."""
DEFLECTION = 1.5
"""How far a step against the last one is turned away from it (Camerini, Fratta and
Maffioli): the steps zigzag less."""
MIN_THETA = 1e-4
"""Step size factor below which the steps stop: they no longer move the bound."""
BUDGET_WARMUP = 10
"""Steps before the budget's multiplier starts to follow the choices: the first
steps' choices are too far off to say which way it should go."""
BUDGET_PULL = 0.5
"""The multiplier moves by this share of the choices' relative overspend per step ..."""
BUDGET_MOVE = 0.05
"""... but by no more than this share of itself."""
SETTLED_MOVE = 0.01
"""A multiplier moving by less than this share of itself counts as settled (the step
size may then shrink)."""
RESTART_DRIFT = 0.25
"""Prices are started afresh once the multiplier is this share away from the one
they were made for: prices made for a multiplier that far off mislead the steps."""
ROUNDING_MARGIN = 1.0
"""Points added to each bound: float sums of a few million terms round."""


def decomposition_steps(
    prep: Prepared,
    policy: Policy,
    lam: float,
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    target: float,
    iterations: int = DECOMPOSITION_STEPS,
    until: float | None = None,
    balance_budget: bool = False,
    locked: NDArray[np.intp] | None = None,
) -> Iterator[DualStep]:
    """Every subgradient step, for `iterations` steps at most. `target`: a value the
    bound is not expected to go below (a found assignment's, or a fraction under the
    network bound), which sizes the steps. `until`: a perf_counter() value after
    which no step starts. `balance_budget`: after the first steps, move the budget's
    multiplier towards the choices spending the budget (each step's bound stays valid
    at its own multiplier): the choices then make a better start."""
    sub = _Subgradient(prep, policy, lam, prev_pairs, n_previous, target, balance_budget, locked)
    for k in range(iterations):
        if until is not None and time.perf_counter() > until:
            return
        yield sub.choose()
        if not sub.step(k):
            return


class _Subgradient:
    """The state of the subgradient steps: the weights at the current multiplier, the
    volunteers' prices, the step size and the last step taken."""

    def __init__(
        self,
        prep: Prepared,
        policy: Policy,
        lam: float,
        prev_pairs: NDArray[np.intp],
        n_previous: int,
        target: float,
        balance_budget: bool,
        locked: NDArray[np.intp] | None,
    ) -> None:
        c, pairs = prep.compiled, prep.pairs
        self.c, self.policy, self.target = c, policy, target
        w, self.const = weights(prep, policy, lam, prev_pairs, n_previous)
        self.applies = (
            balance_applies(c, pairs) if policy.gender_balance else np.zeros(c.n_placements, bool)
        )
        self.keep = _usable_pairs(prep, policy, locked)
        self.pv, self.pp, self.w = pairs.v[self.keep], pairs.p[self.keep], w[self.keep]
        if locked is not None and len(locked):
            at = np.searchsorted(self.keep, np.unique(locked))
            # above any placement's other weights and penalties together (the bound
            # holds for any bonus; this one makes every choice take the locked pair)
            bonus = 1.0 + 2.0 * (
                float(np.abs(self.w).max()) * float(c.capacity.max())
                + 2 * policy.gender_balance_penalty
            )
            self.w[at] += bonus
            self.const -= bonus * len(at)
        self.budget = policy.budget if balance_budget else None
        self.pay = (
            placement_costs(c, policy)[self.pp].astype(np.float64)
            if policy.budget is not None
            else None
        )
        self.fixed_u = pairs.v[locked] if locked is not None else np.zeros(0, dtype=np.intp)
        self.u = self.prices()
        self.key, self.key_class = group_keys(prep, policy, self.keep)
        self.mu = np.zeros(len(self.key_class))
        self.member = np.flatnonzero(self.key >= 0)
        self.pen = float(policy.gender_balance_penalty)
        self.gender = c.gender[self.pv]
        self.starts = np.searchsorted(self.pp, np.arange(c.n_placements + 1)).astype(np.int64)
        self.slots = c.capacity.astype(np.int64)
        self.cap = policy.max_same_nationality_per_placement
        if self.cap is not None and len(self.pv):
            self.groups = grouping(
                self.pp.astype(np.int64) * (int(c.nationality.max(initial=0)) + 1)
                + c.nationality[self.pv]
            )
        self.best = np.inf
        self.theta, self.stalls = 1.0, 0
        self.lam = lam
        self.lam_moving = False  # the bound is not settled while the multiplier moves far
        self.anchor = lam  # the multiplier the prices were started at
        self.order = np.arange(len(self.pv))
        self.d_prev: F64 | None = None
        self.total = 0.0
        self.chosen = np.zeros(0, dtype=np.bool_)

    def prices(self) -> F64:
        """The starting prices of the volunteers (`start_prices`)."""
        u = start_prices(self.c, self.pv, self.pp, self.w)
        u[self.fixed_u] = 0.0  # a locked volunteer's one pair is always taken: no price
        return u

    def choose(self) -> DualStep:
        """Every placement's best choice at the current prices, and the bound."""
        pv, pp = self.pv, self.pp
        reduced = self.w - self.u[pv]
        if len(self.member):
            # the groups' multipliers sum to zero over each group and place: any
            # assignment that keeps the groups gains nothing from them
            reduced[self.member] += self.mu[self.key[self.member]]
        # placement, then value descending: one float key sorts faster than lexsort
        span = 2.0 * float(np.abs(reduced).max(initial=0.0)) + 1.0
        # the last step's order is nearly right: timsort on it is quicker than a
        # fresh sort
        self.order = self.order[np.argsort((pp * span - reduced)[self.order], kind="stable")]
        order = self.order
        allowed = None
        if self.cap is not None and len(pv):
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            allowed = nationality_allowed(rank, *self.groups, self.cap)[order]
        value, self.chosen = all_choices(
            reduced[order],
            pp[order].astype(np.int64),
            self.starts,
            self.gender[order],
            self.slots,
            self.applies,
            self.pen,
            allowed,
        )
        self.total = float(self.u.sum()) + self.const + float(value.sum())
        return DualStep(int(np.ceil(self.total + ROUNDING_MARGIN)), self.keep[order[self.chosen]])

    def step(self, k: int) -> bool:
        """Move the prices (and the multiplier) after step k; False when the steps
        are done."""
        used = np.bincount(self.pv[self.order[self.chosen]], minlength=self.c.n_volunteers).astype(
            np.float64
        )
        if self.total < self.best:
            self.best = self.total
            self.stalls = 0
        else:
            self.stalls += 1
            if self.stalls >= STALLS and not self.lam_moving:
                self.theta, self.stalls = self.theta / 2, 0
        g = self._direction(used)
        norm = float((g * g).sum())
        g_mu = self._group_direction()
        norm += float((g_mu * g_mu).sum())
        moved = False
        if self.budget is not None and self.pay is not None and (k >= BUDGET_WARMUP or norm == 0):
            moved = self._follow_budget(self.budget.total)
            if abs(self.lam - self.anchor) > RESTART_DRIFT * self.anchor:
                self.anchor = self.lam
                self.u = self.prices()
                self.theta, self.stalls, self.best, self.d_prev = 1.0, 0, np.inf, None
                return True
        if (norm == 0 and not moved) or self.theta < MIN_THETA:
            return False
        if norm > 0:
            size = self.theta * max(min(self.total, self.best) - self.target, 1.0) / norm
            self.u = np.maximum(self.u - size * g, 0.0)
            self.mu -= size * g_mu
        return True

    def _group_direction(self) -> F64:
        """d(bound)/d(mu) projected onto the multipliers that sum to zero per group
        and place: a member chosen there more often than the group's average gets
        dearer there, one chosen less cheaper, until the choices take groups whole."""
        if len(self.key_class) == 0:
            return self.mu[:0]
        picked = self.order[self.chosen]
        keys = self.key[picked]
        y = np.bincount(keys[keys >= 0], minlength=len(self.key_class)).astype(np.float64)
        n = np.bincount(self.key_class).astype(np.float64)
        mean = np.bincount(self.key_class, weights=y) / np.maximum(n, 1.0)
        return y - mean[self.key_class]

    def _direction(self, used: F64) -> F64:
        """The projected subgradient d(bound)/du, deflected against the last step."""
        u = self.u
        g = 1.0 - used
        g[(u <= 0) & (g > 0)] = 0.0  # u cannot go below zero
        if self.d_prev is not None:
            dot = float(g @ self.d_prev)
            if dot < 0:
                g = g - DEFLECTION * dot / float(self.d_prev @ self.d_prev) * self.d_prev
                g[(u <= 0) & (g > 0)] = 0.0
        self.d_prev = g
        return g

    def _follow_budget(self, total: int) -> bool:
        """Move the multiplier towards the choices spending the budget `total`;
        returns whether it moved."""
        assert self.pay is not None
        lam = self.lam
        over = (float(self.pay[self.order[self.chosen]].sum()) - total) / max(total, 1)
        new_lam = lam * float(np.clip(1.0 + BUDGET_PULL * over, 1 - BUDGET_MOVE, 1 + BUDGET_MOVE))
        self.w -= (new_lam - lam) * self.pay
        self.const += (new_lam - lam) * total
        moved, self.lam_moving = new_lam != lam, abs(new_lam - lam) > SETTLED_MOVE * lam
        self.lam = new_lam
        return moved


def group_keys(
    prep: Prepared, policy: Policy, keep: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The group members' places, for the multipliers of "a group goes whole": per
    pair of `keep`, the key of its (member, placement or host country, as
    `group_together` counts it), -1 for volunteers in no group of two or more; and per
    key, the class of its (group, place). The members of a group that keeps the rule
    are all at one place or none: for each class the members' counts there are equal,
    so multipliers that sum to zero over each class change no such assignment's value.
    (Every member has a pair at each place of its class: `group_usable` left out the
    places the whole group cannot go.)"""
    c, pairs = prep.compiled, prep.pairs
    none = np.zeros(0, dtype=np.intp)
    if not (c.group >= 0).any():
        return np.full(len(keep), -1, dtype=np.intp), none
    g = c.group[pairs.v[keep]].astype(np.int64)
    size = np.bincount(c.group[c.group >= 0].astype(np.int64))
    member = g >= 0
    member &= size[np.maximum(g, 0)] >= 2
    if policy.group_together == "placement":
        place = pairs.p[keep].astype(np.int64)
        span = c.n_placements
    else:
        place = c.country[pairs.p[keep]].astype(np.int64)
        span = max(len(c.countries), 1)
    key = np.full(len(keep), -1, dtype=np.intp)
    if not member.any():
        return key, none
    at = np.flatnonzero(member)
    who = pairs.v[keep[at]].astype(np.int64) * span + place[at]
    uniq, inv = np.unique(who, return_inverse=True)
    key[at] = inv
    # each key's class: its member's group and the place
    kv, kw = uniq // span, uniq % span
    _, key_class = np.unique(c.group[kv].astype(np.int64) * span + kw, return_inverse=True)
    return key, key_class.astype(np.intp)


def usable_mask(
    prep: Prepared, policy: Policy, locked: NDArray[np.intp] | None, groups: bool = True
) -> NDArray[np.bool_]:
    """Per pair, whether an assignment that keeps the groups (unless `groups` is
    False) and the locks can use it: not where a member's group cannot go whole, and
    of a locked volunteer only the locked pair. Every bound may leave the other pairs
    out and stay valid."""
    c, pairs = prep.compiled, prep.pairs
    usable = group_usable(prep, policy) if groups else np.ones(len(pairs), dtype=np.bool_)
    if locked is not None and len(locked):
        fixed_v = np.zeros(c.n_volunteers, dtype=np.bool_)
        fixed_v[pairs.v[locked]] = True
        usable &= ~fixed_v[pairs.v]
        usable[locked] = True
    return usable


def _usable_pairs(
    prep: Prepared, policy: Policy, locked: NDArray[np.intp] | None
) -> NDArray[np.intp]:
    """The pairs the placements may choose (`usable_mask`): a locked volunteer's
    locked pair only, which every choice of its placement takes (a bonus above
    anything else there, taken back as a constant, so that a set without it is never
    the best and the bound holds for every assignment that keeps the locks)."""
    return np.flatnonzero(usable_mask(prep, policy, locked))
