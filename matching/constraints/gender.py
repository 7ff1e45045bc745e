"""Gender balance, a soft rule, written once: `balance_misses` counts the genders
missing from per-gender counts (ints for the greedy, arrays per placement for
`misses`, which the search's evaluation and the report call); the model's
constraints below state the same on CP-SAT variables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def balance_misses(per_gender: Sequence[Any], load: Any, applies: Any) -> Any:
    """Balanced genders missing where the rule applies (`applies`: 2+ slots and a
    pool offering both) and `load` volunteers (two or more) are placed;
    `per_gender`: how many of each of `BALANCED_GENDERS` are there. Ints or arrays."""
    several = applies & (load >= 2)
    return sum(several & (k == 0) for k in per_gender)


def misses(c: CompiledRound, pairs: Pairs, picked: NDArray[np.intp]) -> NDArray[np.int64]:
    """Per placement, the balanced genders an assignment misses there."""
    pp = pairs.p[picked]
    gender = c.gender[pairs.v[picked]]
    per_gender = [np.bincount(pp[gender == g], minlength=c.n_placements) for g in BALANCED_GENDERS]
    load = np.bincount(pp, minlength=c.n_placements)
    out = balance_misses(per_gender, load, balance_applies(c, pairs))
    return np.asarray(out, dtype=np.int64)


def missing_genders(c: CompiledRound, pairs: Pairs, picked: NDArray[np.intp]) -> int:
    """Placements x genders the rule misses in an assignment (counted without a solver)."""
    return int(misses(c, pairs, picked).sum())


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
