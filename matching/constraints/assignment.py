"""The assignment itself: one placement per volunteer, slots per placement, locks."""

from __future__ import annotations

import numpy as np

from volmatch.matching.constraints.base import Penalty, RuleContext, segments


def add_assignment(ctx: RuleContext, locked: np.ndarray) -> list[Penalty]:
    """A volunteer goes to one placement at most; a placement takes at most its slots;
    a locked pair is always in the result.

    `locked` are indices into `ctx.vars` of the locked (and frozen) pairs.
    """
    pv, m = ctx.vars, ctx.model
    for _, ids in segments(pv.v):
        if len(ids) > 1:
            m.add_at_most_one([pv.x[i] for i in ids.tolist()])
    cap = ctx.compiled.capacity
    for p, ids in segments(pv.p):
        if len(ids) > cap[p] and not pv.fixed_only(ids):
            m.add(pv.total(ids) <= int(cap[p]))
    for i in np.asarray(locked).tolist():
        m.add(pv.x[i] == 1).only_enforce_if(ctx.on_record("locked", (int(pv.v[i]), int(pv.p[i]))))
    return []
