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
    sol = max_score_assignment(c.n_volunteers, c.capacity.astype(np.int64), pv[pos], pp[pos],
                               scaled[pos])
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
    big = np.iinfo(np.int64).max // 4
    count = np.diff(starts)
    first: list[NDArray[np.int64]] = []
    for g in BALANCED_GENDERS:
        f = np.full(n_p, big, dtype=np.int64)
        at = np.flatnonzero(gender == g)
        lead = at[np.r_[True, place[at][1:] != place[at][:-1]]] if len(at) else at
        f[place[lead]] = rank[lead]
        first.append(f)
    has_f, has_m = first[0] < big, first[1] < big
    capped_full = None
    if allowed is not None:
        # the best capped set: greedy is exact (a cap per nationality and one on the
        # total form a matroid)
        pos = allowed & (vals > 0)
        cs = np.cumsum(pos)
        before = np.concatenate([[0], cs])[starts[:-1]]
        capped_full = pos & (cs - 1 - before[place] < slots[place])
    # Every set below takes a placement's first F, first M, capped set or entries
    # ranked under slots + 2: the rest is left out of the arithmetic.
    sub = (rank < slots[place] + 2) | (rank == first[0][place]) | (rank == first[1][place])
    if capped_full is not None:
        sub |= capped_full
    keep = np.flatnonzero(sub)
    vals, place, rank, gender = vals[keep], place[keep], rank[keep], gender[keep]
    s = slots[place]

    def per_place(mask: NDArray[np.bool_]) -> F64:
        got = np.bincount(place, weights=np.where(mask, vals, 0.0), minlength=n_p)
        return np.asarray(got, dtype=np.float64)

    f_f, f_m = first[0][place], first[1][place]
    is_f, is_m = rank == f_f, rank == f_m
    masks: list[NDArray[np.bool_]] = []
    values: list[F64] = []
    ok: list[NDArray[np.bool_]] = []
    # no gender rule: the best `slots` with positive value
    plain = (rank < s) & (vals > 0)
    # one person: no penalty
    single = (rank == 0) & (vals > 0)
    # two or more, each pattern of forced genders (a set holding a woman may as well
    # hold the best one), charged for the genders it does not force
    before_f = (f_f < rank).astype(np.int64)
    before_m = (f_m < rank).astype(np.int64)
    both = is_f | is_m | (~is_f & ~is_m & (rank - before_f - before_m < s - 2) & (vals > 0))
    r_f = rank - before_f
    only_f = is_f | (~is_f & ((r_f == 0) | ((r_f < s - 1) & (vals > 0))))
    r_m = rank - before_m
    only_m = is_m | (~is_m & ((r_m == 0) | ((r_m < s - 1) & (vals > 0))))
    neither = (rank < 2) | ((rank < s) & (vals > 0))
    for mask, missing, valid in (
        (single, 0, np.ones(n_p, dtype=np.bool_)),
        (both, 0, has_f & has_m),
        (only_f, 1, has_f & (count >= 2)),
        (only_m, 1, has_m & (count >= 2)),
        (neither, 2, count >= 2),
    ):
        masks.append(mask)
        values.append(per_place(mask) - pen * missing)
        ok.append(valid & applies)
    masks.append(plain)
    values.append(per_place(plain))
    ok.append(~applies)
    missings = [0, 0, 1, 1, 2, 0]
    capped = capped_exact = None
    if capped_full is not None:
        capped = capped_full[keep]
        capped_value = per_place(capped)
        n_c = np.bincount(place[capped], minlength=n_p)
        miss = np.zeros(n_p)
        for g in BALANCED_GENDERS:
            have = np.bincount(place[capped & (gender == g)], minlength=n_p) > 0
            miss += ~have
        capped_exact = capped_value - pen * np.where(applies & (n_c >= 2), miss, 0.0)
        values = [
            np.minimum(v, capped_value - pen * k) for v, k in zip(values, missings, strict=True)
        ]
    table = np.where(np.stack(ok), np.stack(values), -np.inf)
    pick = np.argmax(table, axis=0)
    best = table[pick, np.arange(n_p)]
    empty = best <= 0
    chosen = np.stack(masks)[pick[place], np.arange(len(vals))]
    if capped is not None and capped_exact is not None:
        # where the capped set reaches the bound it is the placement's exact choice
        exact = capped_exact >= best - 1e-9
        chosen = np.where(exact[place], capped, chosen)
    chosen &= ~empty[place]
    out = np.zeros(n, dtype=np.bool_)
    out[keep] = chosen
    return np.where(empty, 0.0, best), out


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
    rank: NDArray[np.int64], by_group: NDArray[np.intp], group_starts: NDArray[np.intp],
    group_of: NDArray[np.intp], cap: int,
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


def decomposition_steps(
    prep: Prepared,
    policy: Policy,
    lam: float,
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    target: float,
    iterations: int = 300,
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
    c, pairs = prep.compiled, prep.pairs
    w, const = weights(prep, policy, lam, prev_pairs, n_previous)
    budget = policy.budget
    applies = (
        balance_applies(c, pairs) if policy.gender_balance else np.zeros(c.n_placements, bool)
    )
    # pairs no assignment keeping the groups can use are left out
    usable = group_usable(prep, policy)
    if locked is not None and len(locked):
        # a locked volunteer has their locked pair only, and every choice of its
        # placement takes it: a bonus above anything else there, taken back as a
        # constant (a set without it is then never the best, and the bound holds
        # for every assignment that keeps the locks)
        fixed_v = np.zeros(c.n_volunteers, dtype=np.bool_)
        fixed_v[pairs.v[locked]] = True
        usable &= ~fixed_v[pairs.v]
        usable[locked] = True
    keep = np.flatnonzero(usable)
    pv, pp, w = pairs.v[keep], pairs.p[keep], w[keep]
    if locked is not None and len(locked):
        at = np.searchsorted(keep, np.unique(locked))
        # above any placement's other weights and penalties together (the bound
        # holds for any bonus; this one makes every choice take the locked pair)
        bonus = 1.0 + 2.0 * (
            float(np.abs(w).max()) * float(c.capacity.max()) + 2 * policy.gender_balance_penalty
        )
        w[at] += bonus
        const -= bonus * len(at)
    pay = placement_costs(c, policy)[pp].astype(np.float64) if budget is not None else None
    fixed_u = pairs.v[locked] if locked is not None else np.zeros(0, dtype=np.intp)

    def prices() -> F64:
        u = start_prices(c, pv, pp, w)
        u[fixed_u] = 0.0  # a locked volunteer's one pair is always taken: no price
        return u

    u = prices()
    pen = float(policy.gender_balance_penalty)
    gender = c.gender[pv]
    starts = np.searchsorted(pp, np.arange(c.n_placements + 1)).astype(np.int64)
    slots = c.capacity.astype(np.int64)
    cap = policy.max_same_nationality_per_placement
    if cap is not None and len(pv):
        by_group, group_starts, group_of = grouping(
            pp.astype(np.int64) * (int(c.nationality.max(initial=0)) + 1) + c.nationality[pv]
        )
    best = np.inf
    theta, stalls = 1.0, 0
    lam_moving = False  # the bound is not settled while the multiplier moves far
    anchor = lam  # the multiplier the prices were started at
    order = np.arange(len(pv))
    d_prev: F64 | None = None
    for k in range(iterations):
        if until is not None and time.perf_counter() > until:
            return
        reduced = w - u[pv]
        # placement, then value descending: one float key sorts 7x faster than lexsort
        span = 2.0 * float(np.abs(reduced).max(initial=0.0)) + 1.0
        # the last step's order is nearly right: timsort on it takes a third of a
        # fresh sort
        order = order[np.argsort((pp * span - reduced)[order], kind="stable")]
        allowed = None
        if cap is not None and len(pv):
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            allowed = nationality_allowed(rank, by_group, group_starts, group_of, cap)[order]
        value, chosen = all_choices(
            reduced[order], pp[order].astype(np.int64), starts, gender[order], slots, applies,
            pen, allowed,
        )
        total = float(u.sum()) + const + float(value.sum())
        used = np.bincount(pv[order[chosen]], minlength=c.n_volunteers).astype(np.float64)
        # float sums of a few million terms: a point of margin covers rounding
        yield DualStep(int(np.ceil(total + 1.0)), keep[order[chosen]])
        if total < best:
            best = total
            stalls = 0
        else:
            stalls += 1
            if stalls >= 3 and not lam_moving:
                theta, stalls = theta / 2, 0
        g = 1.0 - used  # d(bound)/du
        g[(u <= 0) & (g > 0)] = 0.0  # u cannot go below zero
        if d_prev is not None:
            # a step against the last one is deflected (Camerini, Fratta and
            # Maffioli): the steps zigzag less, and the bound at 10,000 x 2,000 ends
            # 0.02% tighter in about the same time
            dot = float(g @ d_prev)
            if dot < 0:
                g = g - 1.5 * dot / float(d_prev @ d_prev) * d_prev
                g[(u <= 0) & (g > 0)] = 0.0
        d_prev = g
        norm = float((g * g).sum())
        moved = False
        if balance_budget and budget is not None and pay is not None and (k >= 10 or norm == 0):
            # the first steps' choices are too far off to say which way it should go
            over = (float(pay[order[chosen]].sum()) - budget.total) / max(budget.total, 1)
            new_lam = lam * float(np.clip(1.0 + 0.5 * over, 0.95, 1.05))
            w -= (new_lam - lam) * pay
            const += (new_lam - lam) * budget.total
            moved, lam_moving = new_lam != lam, abs(new_lam - lam) > 0.01 * lam
            lam = new_lam
            if abs(lam - anchor) > 0.25 * anchor:
                # prices made for a multiplier this far off mislead the steps (the
                # bound diverged from twice the right one): start them afresh
                anchor = lam
                u = prices()
                theta, stalls, best, d_prev = 1.0, 0, np.inf, None
                continue
        if (norm == 0 and not moved) or theta < 1e-4:
            return
        if norm > 0:
            step = theta * max(min(total, best) - target, 1.0) / norm
            u = np.maximum(u - step * g, 0.0)
