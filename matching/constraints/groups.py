"""Groups (couples, pairs): placed together or not at all."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.constraints.base import IntP, Penalty, RuleContext, segments
from volmatch.matching.eligibility import Pairs
from volmatch.models.reasons import Reason, part


def add_groups(ctx: RuleContext) -> list[Penalty]:
    """Volunteers who share a `group` are all placed or none is, and all at the same
    placement (`group_together: placement`) or in the same host country (`country`).

    A group with no placement (or country) that takes every member stays unplaced; the
    reason is left in `ctx.notes["groups_unplaceable"]` (group id -> `unplaceable_reason`).
    """
    c, pv, m = ctx.compiled, ctx.vars, ctx.model
    together = ctx.policy.group_together
    gvol = c.group[pv.v]
    unplaceable: dict[str, Reason] = {}
    for g, ids in segments(gvol.astype(np.int64)):
        if g < 0:
            continue
        members = np.flatnonzero(c.group == g)
        if len(members) < 2 or pv.fixed_only(ids):
            continue
        key = pv.p if together == "placement" else c.country[pv.p]
        on = ctx.on_record("groups", (g,))
        placed = m.new_bool_var(f"group{g}")
        # every member: placed exactly when the group is
        for mem in members.tolist():
            mine = ids[pv.v[ids] == mem]
            m.add(pv.total(mine) == placed).only_enforce_if(on)
        if _same_place(ctx, on, ids, members, key) == 0:
            unplaceable[c.group_ids[g]] = unplaceable_reason(c, g, members, together)
    ctx.notes["groups_unplaceable"] = unplaceable
    return []


def breaches(c: CompiledRound, pairs: Pairs, picked: IntP, together: str) -> list[int]:
    """Groups an assignment splits: members placed apart (another placement, or host
    country, per `together`) or some placed and some not."""
    if not (c.group >= 0).any():
        return []
    at = np.full(c.n_volunteers, -1, dtype=np.int64)
    at[pairs.v[picked]] = pairs.p[picked]
    key = at if together == "placement" else np.where(at >= 0, c.country[np.maximum(at, 0)], -1)
    member = np.flatnonzero(c.group >= 0)
    g = c.group[member].astype(np.int64)
    # a group is whole when every member has its first member's key
    order = np.argsort(g, kind="stable")
    gs, ks = g[order], key[member[order]]
    first = np.searchsorted(gs, gs, side="left")
    split = np.unique(gs[ks != ks[first]])
    return [int(x) for x in split.tolist()]


def unplaceable_reason(c: CompiledRound, g: int, members: IntP, together: str) -> Reason:
    """Why group `g` (its `members`) stays unplaced: no placement (or host country) takes
    them all; a reason with parts, so that the pages can translate it."""
    return part(
        "group_unplaceable" if together == "placement" else "group_unplaceable_country",
        group=c.group_ids[g],
        count=len(members),
        volunteers=[c.volunteer_ids[i] for i in members.tolist()],
    )


def unplaceable_groups(c: CompiledRound, pairs: Pairs, together: str) -> dict[str, Reason]:
    """The groups no placement (or host country) takes whole, with the reason
    `add_groups` gives: counted on the pair arrays, without a model."""
    member = c.group[pairs.v] >= 0
    gv, gp = pairs.v[member], pairs.p[member]
    gid = c.group[gv].astype(np.int64)
    key = (gp if together == "placement" else c.country[gp]).astype(np.int64)
    size = np.bincount(c.group[c.group >= 0], minlength=len(c.group_ids))
    # distinct members per (group, key); a key takes the group when it takes them all
    trip = np.unique(np.stack([gid, key, gv.astype(np.int64)]), axis=1)
    gk, n = np.unique(trip[:2], axis=1, return_counts=True)
    whole = np.zeros(len(c.group_ids), dtype=np.bool_)
    whole[gk[0][n == size[gk[0]]]] = True
    out: dict[str, Reason] = {}
    # as in the model: only groups with a member who has some eligible pair
    has_pair = np.zeros(len(c.group_ids), dtype=np.bool_)
    has_pair[gid] = True
    for g in np.flatnonzero((size >= 2) & ~whole & has_pair).tolist():
        members = np.flatnonzero(c.group == g)
        out[c.group_ids[g]] = unplaceable_reason(c, g, members, together)
    return out


def _same_place(
    ctx: RuleContext, on: cp_model.IntVar, ids: IntP, members: IntP, key: NDArray[np.int32]
) -> int:
    """The same placement (or country) for all members of a group: the members' counts
    per key are equal, and a key that does not take every member takes none of them.
    `ids` are the group's modelled pairs, `key` each modelled pair's placement or
    country. Returns the keys that take every member."""
    pv, m = ctx.vars, ctx.model
    shared = 0
    for _k, kids in segments(key[ids].astype(np.int64)):
        at = ids[kids]
        who = pv.v[at]
        if len(np.unique(who)) < len(members):
            for i in at.tolist():
                if not isinstance(pv.x[i], int):  # a held pair belongs to a placed group
                    m.add(pv.x[i] == 0).only_enforce_if(on)
            continue
        shared += 1
        first = at[who == members[0]]
        for mem in members[1:].tolist():
            m.add(pv.total(at[who == mem]) == pv.total(first)).only_enforce_if(on)
    return shared
