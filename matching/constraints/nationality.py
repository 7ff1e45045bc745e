"""Nationality mix: no cohort of one nationality crowds a placement or a country."""

from __future__ import annotations

import numpy as np

from volmatch.matching.constraints.base import Penalty, RuleContext, segments


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
            m.add(pv.total(ids) <= limit).only_enforce_if(record)
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
    pct = round(share * 100)
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
            m.add(100 * mine <= pct * everyone + 100 * allow).only_enforce_if(on)
    return []
