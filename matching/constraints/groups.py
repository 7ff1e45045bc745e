"""Groups (couples, pairs): placed together or not at all."""

from __future__ import annotations

import numpy as np

from matching.constraints.base import Penalty, RuleContext, segments


def add_groups(ctx: RuleContext) -> list[Penalty]:
    """Volunteers who share a `group` are all placed or none is, and all at the same
    placement (`group_together: placement`) or in the same host country (`country`).

    A group with no placement (or country) that takes every member stays unplaced; the
    reason is left in `ctx.notes["groups_unplaceable"]`.
    """
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    on = ctx.on("groups")
    together = ctx.policy.group_together
    gvol = c.group[pv.v]
    unplaceable: dict[str, str] = {}
    for g, ids in segments(gvol.astype(np.int64)):
        if g < 0:
            continue
        members = np.flatnonzero(c.group == g)
        if len(members) < 2 or pv.fixed_only(ids):
            continue
        key = pv.p if together == "placement" else c.country[pv.p]
        placed = m.new_bool_var(f"group{g}")
        # every member: placed exactly when the group is
        for mem in members.tolist():
            mine = ids[pv.v[ids] == mem]
            m.add(pv.total(mine) == placed).only_enforce_if(on)
        # the same placement / country for all: the members' counts per key are equal
        shared = 0
        for _k, kids in segments(key[ids].astype(np.int64)):
            at = ids[kids]
            who = pv.v[at]
            if len(np.unique(who)) < len(members):
                # a key that does not take every member takes none of them
                for i in at.tolist():
                    if not isinstance(pv.x[i], int):  # a held pair belongs to a placed group
                        m.add(pv.x[i] == 0).only_enforce_if(on)
                continue
            shared += 1
            first = at[who == members[0]]
            for mem in members[1:].tolist():
                m.add(pv.total(at[who == mem]) == pv.total(first)).only_enforce_if(on)
        if shared == 0:
            name = c.group_ids[g]
            where = "placement" if together == "placement" else "host country"
            unplaceable[name] = (
                f"group {name!r}: no {where} accepts all {len(members)} members "
                f"({', '.join(c.volunteer_ids[i] for i in members.tolist())})"
            )
    ctx.notes["groups_unplaceable"] = unplaceable
    return []
