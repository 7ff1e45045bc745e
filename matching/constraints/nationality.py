"""Nationality mix: no cohort of one nationality crowds a placement or a country.

Each rule is written once: `cap_holds` and `share_holds` state it on counts (Python
ints for the greedy insertion, numpy arrays for `placement_breaches` and
`share_breaches`, which the search's evaluation calls, or CP-SAT expressions for the
model's constraints below)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.base import IntP, Penalty, RuleContext, segments
from volmatch.matching.eligibility import Pairs
from volmatch.models import Policy


def cap_holds(same_nationality: Any, policy: Policy) -> Any:
    """At most `max_same_nationality_per_placement` of one nationality in a placement
    (the policy must set the cap): `same_nationality` counts them."""
    return same_nationality <= policy.max_same_nationality_per_placement


def share_holds(of_nationality: Any, in_country: Any, policy: Policy) -> Any:
    """One nationality makes up at most `max_nationality_share_per_country` of those
    placed in a host country, beyond `nationality_share_allowance` people (the policy
    must set the share); in hundredths, so that every count stays an integer."""
    assert policy.max_nationality_share_per_country is not None
    pct = round(policy.max_nationality_share_per_country * 100)
    return 100 * of_nationality <= pct * in_country + 100 * policy.nationality_share_allowance


def placement_breaches(
    c: CompiledRound, pairs: Pairs, picked: IntP, policy: Policy
) -> list[tuple[int, int]]:
    """(placement, nationality) where an assignment breaks the cap (none when unset)."""
    if policy.max_same_nationality_per_placement is None or not len(picked):
        return []
    n_nat = len(c.countries)
    key = pairs.p[picked].astype(np.int64) * n_nat + c.nationality[pairs.v[picked]]
    keys, counts = np.unique(key, return_counts=True)
    bad = keys[~cap_holds(counts, policy)]
    return [(int(k) // n_nat, int(k) % n_nat) for k in bad.tolist()]


def share_breaches(
    c: CompiledRound, pairs: Pairs, picked: IntP, policy: Policy
) -> list[tuple[int, int]]:
    """(host country, nationality) where an assignment breaks the share (none when unset)."""
    if policy.max_nationality_share_per_country is None or not len(picked):
        return []
    n = len(c.countries)
    co = c.country[pairs.p[picked]].astype(np.int64)
    nat = c.nationality[pairs.v[picked]].astype(np.int64)
    per_c = np.bincount(co, minlength=n)
    per_cn: NDArray[np.int64] = np.bincount(co * n + nat, minlength=n * n).reshape(n, n)
    bad = np.argwhere(~share_holds(per_cn, per_c[:, None], policy))
    return [(int(a), int(b)) for a, b in bad.tolist()]


def add_nationality_per_placement(ctx: RuleContext) -> list[Penalty]:
    """At most `max_same_nationality_per_placement` volunteers of one nationality in
    any one placement."""
    limit = ctx.policy.max_same_nationality_per_placement
    if limit is None:
        return []
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    n_nat = len(c.countries)
    key = pv.p.astype(np.int64) * n_nat + c.nationality[pv.v]
    for k, ids in segments(key):
        if len(ids) > limit and not pv.fixed_only(ids):
            record = ctx.on_record("nationality_per_placement", (k // n_nat, k % n_nat))
            m.add(cap_holds(pv.total(ids), ctx.policy)).only_enforce_if(record)
    return []


def add_nationality_share(ctx: RuleContext) -> list[Penalty]:
    """In each host country, volunteers of one nationality make up at most
    `max_nationality_share_per_country` of those placed there, beyond an allowance of
    `nationality_share_allowance` people (so a country with few volunteers is not
    blocked by the share alone)."""
    share = ctx.policy.max_nationality_share_per_country
    if share is None:
        return []
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    on = ctx.on("nationality_share")
    allow = ctx.policy.nationality_share_allowance
    country = c.country[pv.p]
    nat = c.nationality[pv.v]
    held_c: dict[int, int] = ctx.outside.get("country", {})
    held_cn: dict[tuple[int, int], int] = ctx.outside.get("country_nat", {})
    for co, ids in segments(country.astype(np.int64)):
        if pv.fixed_only(ids):
            continue
        by_nat = dict(segments(nat[ids].astype(np.int64)))
        more = {n: k for (c2, n), k in held_cn.items() if c2 == co}
        rows = [
            (by_nat.get(n), more.get(n, 0))
            for n in sorted(set(by_nat) | set(more))
            if len(by_nat.get(n, ())) + more.get(n, 0) > allow
        ]
        if not rows:
            continue
        # One variable for the country's head count: with the full sum repeated in every
        # nationality's row the model grows as nationalities x pairs and presolve stalls.
        k_all = held_c.get(co, 0)
        everyone = m.new_int_var(0, len(ids) + k_all, f"in_country{co}")
        m.add(everyone == pv.total(ids) + k_all)
        for sub, k in rows:
            mine = (pv.total(ids[sub]) if sub is not None else 0) + k
            m.add(share_holds(mine, everyone, ctx.policy)).only_enforce_if(on)
    return []
