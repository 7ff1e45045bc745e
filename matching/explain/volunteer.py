"""`volmatch explain`: for one volunteer and each placement, the hard rules the pair
fails, or its score and why it was or was not chosen, with its exact regret."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.eligibility import Pairs
from volmatch.matching.explain.costs import Pricing
from volmatch.matching.failures import pair_failures
from volmatch.matching.regret import UNREACHABLE, ResidualNetwork
from volmatch.matching.scoring import Scores
from volmatch.models.reasons import Reason, part, text_of

Failures = Callable[[int], dict[str, Reason]]
"""The failed rules (rule -> reason) of the volunteer explained at placement `pi`."""


def explain_volunteer(
    pr: Pricing, chosen: NDArray[np.intp], vi: int, placements: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """One row per placement (all, or those given): `eligible`; for an ineligible pair
    `failed_rules` (rule -> sentence) and `failures` (rule -> reason); for an eligible
    one `score`, `breakdown`, `regret` (the exact drop of the round's best total if the
    volunteer goes there; null where a lock makes it impossible), `outcome` (a sentence)
    and `reason` (its parts)."""
    prep = pr.prep
    c = prep.compiled
    return volunteer_rows(
        pr.net,
        prep.pairs,
        prep.scores,
        pr.exact,
        chosen,
        vi,
        c.placement_ids,
        placements,
        lambda pi: pair_failures(c, vi, pi),
    )


def volunteer_rows(
    net: ResidualNetwork,
    pairs: Pairs,
    scores: Scores,
    exact: bool,
    chosen: NDArray[np.intp],
    vi: int,
    placement_ids: Sequence[str],
    placements: Sequence[int] | None,
    failures: Failures,
) -> list[dict[str, Any]]:
    """`explain_volunteer` from the priced round's arrays alone (`net`: the residual
    network it prices on, `exact` as `Pricing.exact`), the ineligible pairs' rules
    given by `failures`: a service that stored these arrays with the result explains
    without compiling the whole round."""
    pis = list(range(len(placement_ids))) if placements is None else list(placements)
    mine, regret = net.regrets_of(vi)
    pair_at = {
        int(p): (int(i), int(r))
        for i, p, r in zip(mine.tolist(), pairs.p[mine].tolist(), regret.tolist(), strict=True)
    }
    chosen_set = set(np.asarray(chosen).tolist())
    rows: list[dict[str, Any]] = []
    for pi in pis:
        row: dict[str, Any] = {"placement": placement_ids[pi]}
        found = pair_at.get(pi)
        if found is None:
            failed = failures(pi)
            row["eligible"] = False
            row["failed_rules"] = {rule: text_of(r) for rule, r in failed.items()}
            row["failures"] = failed
            rows.append(row)
            continue
        i, r = found
        reason = _outcome(exact, i in chosen_set, r)
        row.update(
            eligible=True,
            score=int(scores.total[i]),
            breakdown=scores.breakdown(i),
            regret=None if r == UNREACHABLE else r,
            outcome=text_of(reason),
            reason=reason,
        )
        rows.append(row)
    return rows


def _outcome(exact: bool, here: bool, regret: int) -> Reason:
    if here:
        return part("pair_assigned")
    if regret == UNREACHABLE:
        return part("pair_locked_out")
    if exact:
        return part("pair_tie") if regret == 0 else part("pair_regret", regret=regret)
    if regret == 0:
        return part("pair_tie_hard_rules")
    return part("pair_regret_hard_rules", regret=regret)
