"""Stable mode: the stable matching of a round for `policy.stable_side`.

Singles are matched by deferred acceptance (`matching.stable.deferred`), groups are
inserted afterwards (`matching.stable.couples`), and the exact check of
`matching.stable.stability` says whether the result is stable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared, Solution
from volmatch.matching.stable.couples import Couples
from volmatch.matching.stable.deferred import host_proposing, volunteer_proposing
from volmatch.matching.stable.market import market
from volmatch.matching.stable.preference_lists import Rankings, csr, rankings
from volmatch.matching.stable.stability import blocking

I64 = NDArray[np.int64]
IP = NDArray[np.intp]


def _chosen(vheld: I64, locked: IP) -> IP:
    """The held pairs and the locked ones, as sorted pair indices."""
    return np.sort(np.concatenate([vheld[vheld >= 0], locked.astype(np.int64)])).astype(np.intp)


def cheap_bound(prep: Prepared, rk: Rankings) -> int:
    """An upper bound on the total score of any assignment: the smaller of (every
    volunteer at its best pair) and (every placement's slots at its best pair)."""
    s = prep.scores.total
    c = prep.compiled
    if len(s) == 0:
        return 0
    best = np.zeros(c.n_volunteers, dtype=np.int64)
    has = rk.vstart[1:] > rk.vstart[:-1]
    best[has] = np.maximum.reduceat(s[rk.vorder], rk.vstart[:-1][has])
    per_p = np.zeros(c.n_placements, dtype=np.int64)
    has = rk.pstart[1:] > rk.pstart[:-1]
    # Pairs are placement-major, so each placement's pairs are one contiguous block.
    per_p[has] = np.maximum.reduceat(s, rk.pstart[:-1][has])
    return int(min(best.sum(), (per_p * c.capacity).sum()))


def solve_stable(prep: Prepared) -> Solution:
    """The stable matching of the round for `policy.stable_side` (volunteers by default).

    `status` is "feasible" (a stable matching does not maximise the total score);
    `objective` is the chosen pairs' total score; `bound` is `cheap_bound` (an audit
    tightens it to the min-cost-flow optimum). `extra["stable"]` says whether the result
    is stable, which side it favours, and for groups how insertion went and which groups
    block it when no stable matching was found.
    """
    rk = rankings(prep)
    mk = market(prep)
    side = prep.compiled.round.policy.stable_side
    single = mk.allowed & ~mk.in_group[mk.pv]
    vlist = rk.vorder[single[rk.vorder]]
    vstart = csr(mk.pv[vlist], prep.compiled.n_volunteers)
    if side == "hosts":
        plist = rk.porder[single[rk.porder]]
        pstart = csr(mk.pp[plist], prep.compiled.n_placements)
        gv = np.empty(len(mk.pv), dtype=np.int64)
        gv[rk.vorder] = np.arange(len(mk.pv), dtype=np.int64)
        vheld = host_proposing(
            mk.pv, mk.pp, plist, pstart, gv, mk.capacity, prep.compiled.n_volunteers
        )
    else:
        gp = np.empty(len(mk.pv), dtype=np.int64)
        gp[rk.porder] = np.arange(len(mk.pv), dtype=np.int64)
        vheld = volunteer_proposing(mk.pv, mk.pp, vlist, vstart, gp, mk.capacity)
    info: dict[str, Any] = {"side": side, "groups": len(mk.groups)}
    if mk.groups:
        couples = Couples(prep, rk, mk, vheld, vlist, vstart)
        couples.run()
        vheld = couples.vheld
        info["group_steps"] = couples.steps
        info["gave_up"] = couples.gave_up
    chosen = _chosen(vheld, mk.locked)
    check = blocking(prep, chosen, rk, mk)
    info["stable"] = check["blocking_pairs"] == 0 and check["blocking_groups"] == 0
    if not info["stable"]:
        info["blocking_groups"] = check["blocking_groups"]
        info["blocking_group_ids"] = check["blocking_group_ids"]
        info["blocking_pairs"] = check["blocking_pairs"]
    objective = int(prep.scores.total[chosen].sum())
    return Solution(
        chosen=chosen,
        status="feasible",
        objective=objective,
        bound=max(cheap_bound(prep, rk), objective),
        extra={"stable": info},
    )
