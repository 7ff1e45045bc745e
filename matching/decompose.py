"""A tighter bound for rounds with gender balance: a Lagrangian relaxation that prices
each volunteer and then solves every placement on its own, exactly.

Pricing "each volunteer takes at most one placement" with u_v >= 0 splits the round
into one small problem per placement: choose at most `slots` of its candidates to
maximise the sum of (weight - u_v) less the gender balance penalty the choice incurs,
counted exactly (the flow networks of `matching.bound` can only approximate that rule
from above, and are loose where placements are part-filled, as under a tight budget).
For any u >= 0,

    sum(u) + sum over placements of their best choice + lam * budget - move_cost * previous

bounds every assignment that keeps the budget: an assignment's own choices are
feasible per placement, and each volunteer it places uses up at most its u_v once. The
weights are the relaxation's (score, the bonus for keeping a previous pair, minus
lam x the placement's cost). A group member's pairs count only where the whole group
can go. Rules left out only remove assignments (host and nationality caps, shares, move
limits, locks), so the bound stays valid. (Keeping the nationality cap inside each
placement's problem was tried: 0.006% tighter at 10,000 x 2,000, a third slower per
step, so fewer steps and a looser bound at 50,000 x 10,000 within its time.)

u starts at the prices of the plain assignment (a flow, then placement prices by
longest paths) and is improved by projected subgradient steps: a volunteer chosen by
several placements gets dearer, one chosen by none cheaper.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from matching.compiled import CompiledRound
from matching.constraints.budget import placement_costs
from matching.constraints.gender import _BALANCED, balance_applies
from matching.flow import max_score_assignment
from matching.solve import Prepared
from models import Policy

F64 = NDArray[np.float64]

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
    scaled = np.rint(16 * w).astype(np.int64)
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
) -> tuple[F64, NDArray[np.bool_]]:
    """Every placement's best set of at most `slots` candidates at once, the gender
    penalty counted exactly where the rule applies: entries sorted by placement, then
    value descending (`starts` = first entry of each placement). Returns each
    placement's best value and which entries its best set takes. (The tests check it
    against a one-placement version and that against every subset.)"""
    n_p = len(starts) - 1
    rank = np.arange(len(vals)) - starts[place]
    s = slots[place]
    big = np.iinfo(np.int64).max // 4

    def per_place(mask: NDArray[np.bool_]) -> F64:
        got = np.bincount(place, weights=np.where(mask, vals, 0.0), minlength=n_p)
        return np.asarray(got, dtype=np.float64)

    count = np.diff(starts)
    first: list[NDArray[np.int64]] = []
    for g in _BALANCED:
        f = np.full(n_p, big, dtype=np.int64)
        at = gender == g
        np.minimum.at(f, place[at], rank[at])
        first.append(f)
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
    has_f, has_m = first[0] < big, first[1] < big
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
    table = np.where(np.stack(ok), np.stack(values), -np.inf)
    pick = np.argmax(table, axis=0)
    best = table[pick, np.arange(n_p)]
    empty = best <= 0
    chosen = np.stack(masks)[pick[place], np.arange(len(vals))] & ~empty[place]
    return np.where(empty, 0.0, best), chosen


def decomposition_bounds(
    prep: Prepared,
    policy: Policy,
    lam: float,
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    target: float,
    iterations: int = 300,
) -> Iterator[int]:
    """Each better bound found (rounded up), for `iterations` subgradient steps at
    most. `target`: a value the bound is not expected to go below (a found
    assignment's, or a fraction under the network bound), which sizes the steps."""
    c, pairs = prep.compiled, prep.pairs
    w, const = weights(prep, policy, lam, prev_pairs, n_previous)
    applies = (
        balance_applies(c, pairs) if policy.gender_balance else np.zeros(c.n_placements, bool)
    )
    # pairs no assignment keeping the groups can use are left out
    keep = np.flatnonzero(group_usable(prep, policy))
    pv, pp, w = pairs.v[keep], pairs.p[keep], w[keep]
    u = start_prices(c, pv, pp, w)
    pen = float(policy.gender_balance_penalty)
    gender = c.gender[pv]
    starts = np.searchsorted(pp, np.arange(c.n_placements + 1)).astype(np.int64)
    slots = c.capacity.astype(np.int64)
    best = np.inf
    theta, stalls = 1.0, 0
    for _ in range(iterations):
        reduced = w - u[pv]
        # placement, then value descending: one float key sorts 7x faster than lexsort
        span = 2.0 * float(np.abs(reduced).max(initial=0.0)) + 1.0
        order = np.argsort(pp * span - reduced, kind="stable")
        value, chosen = all_choices(
            reduced[order], pp[order].astype(np.int64), starts, gender[order], slots, applies, pen
        )
        total = float(u.sum()) + const + float(value.sum())
        used = np.bincount(pv[order[chosen]], minlength=c.n_volunteers).astype(np.float64)
        if total < best:
            best = total
            stalls = 0
            # float sums of a few million terms: a point of margin covers rounding
            yield int(np.ceil(total + 1.0))
        else:
            stalls += 1
            if stalls >= 3:
                theta, stalls = theta / 2, 0
        g = 1.0 - used  # d(bound)/du
        g[(u <= 0) & (g > 0)] = 0.0  # u cannot go below zero
        norm = float((g * g).sum())
        if norm == 0 or theta < 1e-4:
            return
        step = theta * max(total - target, 1.0) / norm
        u = np.maximum(u - step * g, 0.0)
