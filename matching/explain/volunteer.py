"""`volmatch explain`: for one volunteer and each placement, the hard rules the pair
fails, or its score and why it was or was not chosen, with its exact regret."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.explain.costs import Pricing
from volmatch.matching.failures import pair_failures
from volmatch.matching.regret import UNREACHABLE
from volmatch.models.reasons import Reason, part, text_of


def explain_volunteer(
    pr: Pricing, chosen: NDArray[np.intp], vi: int, placements: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """One row per placement (all, or those given): `eligible`; for an ineligible pair
    `failed_rules` (rule -> sentence) and `failures` (rule -> reason); for an eligible
    one `score`, `breakdown`, `regret` (the exact drop of the round's best total if the
    volunteer goes there; null where a lock makes it impossible), `outcome` (a sentence)
    and `reason` (its parts)."""
    prep = pr.prep
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    pis = list(range(c.n_placements)) if placements is None else list(placements)
    mine, regret = pr.net.regrets_of(vi)
    pair_at = {
        int(p): (int(i), int(r))
        for i, p, r in zip(mine.tolist(), pairs.p[mine].tolist(), regret.tolist(), strict=True)
    }
    chosen_set = set(np.asarray(chosen).tolist())
    rows: list[dict[str, Any]] = []
    for pi in pis:
        row: dict[str, Any] = {"placement": c.placement_ids[pi]}
        found = pair_at.get(pi)
        if found is None:
            failures = pair_failures(c, vi, pi)
            row["eligible"] = False
            row["failed_rules"] = {rule: text_of(r) for rule, r in failures.items()}
            row["failures"] = failures
            rows.append(row)
            continue
        i, r = found
        reason = _outcome(pr, i in chosen_set, r)
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


def _outcome(pr: Pricing, here: bool, regret: int) -> Reason:
    if here:
        return part("pair_assigned")
    if regret == UNREACHABLE:
        return part("pair_locked_out")
    if pr.exact:
        return part("pair_tie") if regret == 0 else part("pair_regret", regret=regret)
    if regret == 0:
        return part("pair_tie_hard_rules")
    return part("pair_regret_hard_rules", regret=regret)
