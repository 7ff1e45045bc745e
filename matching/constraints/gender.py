"""Gender balance, a soft rule."""

from __future__ import annotations

import numpy as np

from matching.constraints.base import Penalty, RuleContext, segments
from models.codes import GENDERS

_BALANCED = (GENDERS.index("female"), GENDERS.index("male"))


def add_gender_balance(ctx: RuleContext) -> list[Penalty]:
    """A placement that receives two or more volunteers should hold at least one of each
    declared gender (female, male) that its eligible pool offers; each gender missing
    costs `gender_balance_penalty` points."""
    if not ctx.policy.gender_balance:
        return []
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    cap = c.capacity
    # which genders the whole eligible pool of each placement offers
    offers = {g: np.zeros(c.n_placements, dtype=np.bool_) for g in _BALANCED}
    for g in _BALANCED:
        offers[g][ctx.pairs.p[c.gender[ctx.pairs.v] == g]] = True
    misses = []
    gender = c.gender[pv.v]
    for p, ids in segments(pv.p):
        if cap[p] < 2 or len(ids) < 2 or not all(offers[g][p] for g in _BALANCED):
            continue
        several = m.new_bool_var(f"several{p}")
        m.add(int(cap[p]) * several >= pv.total(ids) - 1)
        for g in _BALANCED:
            miss = m.new_bool_var(f"miss{p}_{g}")
            have = ids[gender[ids] == g]
            m.add(miss >= several - pv.total(have))
            misses.append(miss)
    if not misses:
        return []
    return [Penalty("gender_balance", sum(misses), ctx.policy.gender_balance_penalty)]
