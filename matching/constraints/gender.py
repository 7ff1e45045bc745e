"""Gender balance, a soft rule."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.base import Penalty, RuleContext, segments
from volmatch.matching.eligibility import Pairs
from volmatch.models.codes import GENDERS

BALANCED_GENDERS = (GENDERS.index("female"), GENDERS.index("male"))
"""The genders the balance rule asks a placement to hold one of each of (female, male)."""


def balance_applies(c: CompiledRound, pairs: Pairs) -> NDArray[np.bool_]:
    """Per placement: it has 2+ slots and its eligible pool offers both genders
    (cached on the compiled round for its pairs: every window of the search asks)."""
    hit = c.cache.get("balance_applies")
    if isinstance(hit, tuple) and hit[0] is pairs:
        cached: NDArray[np.bool_] = hit[1]
        return cached
    offers = c.capacity >= 2
    for g in BALANCED_GENDERS:
        has = np.zeros(c.n_placements, dtype=np.bool_)
        has[pairs.p[c.gender[pairs.v] == g]] = True
        offers &= has
    c.cache["balance_applies"] = (pairs, offers)
    return offers


def missing_genders(c: CompiledRound, pairs: Pairs, picked: NDArray[np.intp]) -> int:
    """Placements x genders the rule misses in an assignment (counted without a solver)."""
    applies = balance_applies(c, pairs) & (
        np.bincount(pairs.p[picked], minlength=c.n_placements) >= 2
    )
    missing = 0
    for g in BALANCED_GENDERS:
        at = pairs.p[picked][c.gender[pairs.v[picked]] == g]
        missing += int((applies & (np.bincount(at, minlength=c.n_placements) == 0)).sum())
    return missing


def add_gender_balance(ctx: RuleContext) -> list[Penalty]:
    """A placement that receives two or more volunteers should hold at least one of each
    declared gender (female, male) that its eligible pool offers; each gender missing
    costs `gender_balance_penalty` points."""
    if not ctx.policy.gender_balance:
        return []
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    cap = c.capacity
    offers = balance_applies(c, ctx.pairs)
    misses = []
    gender = c.gender[pv.v]
    for p, ids in segments(pv.p):
        if len(ids) < 2 or not offers[p] or pv.fixed_only(ids):
            continue
        several = m.new_bool_var(f"several{p}")
        m.add(int(cap[p]) * several >= pv.total(ids) - 1)
        for g in BALANCED_GENDERS:
            miss = m.new_bool_var(f"miss{p}_{g}")
            have = ids[gender[ids] == g]
            m.add(miss >= several - pv.total(have))
            misses.append(miss)
    if not misses:
        return []
    return [Penalty("gender_balance", sum(misses), ctx.policy.gender_balance_penalty)]
