"""The previous published assignment: which of its pairs still hold, and who moved."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import Pairs
from volmatch.matching.failures import pair_failures
from volmatch.matching.scoring import Scores
from volmatch.models.reasons import Reason, part, text_of


def pair_index(
    c: CompiledRound, pairs: Pairs, v: NDArray[np.int64], p: NDArray[np.int64]
) -> NDArray[np.intp]:
    """Index in `pairs` of each (v, p), -1 where the pair is not eligible."""
    keys = c.pair_keys(pairs.v, pairs.p)  # sorted: pairs are placement-major
    want = c.pair_keys(v, p)
    if len(keys) == 0:
        return np.full(len(want), -1, dtype=np.intp)
    at = np.clip(np.searchsorted(keys, want), 0, len(keys) - 1)
    return np.where(keys[at] == want, at, -1).astype(np.intp)


def previous_pairs(c: CompiledRound, pairs: Pairs) -> dict[int, int]:
    """Previous volunteer index -> index in `pairs` of their previous pair (-1: the pair
    no longer passes the hard rules)."""
    prev = c.round.previous
    if not prev:
        return {}
    v = np.array([c.vindex[a.volunteer] for a in prev], dtype=np.int64)
    p = np.array([c.pindex[a.placement] for a in prev], dtype=np.int64)
    return dict(zip(v.tolist(), pair_index(c, pairs, v, p).tolist(), strict=True))


def moves_report(
    c: CompiledRound,
    pairs: Pairs,
    scores: Scores,
    picked: NDArray[np.intp],
    prev_pair: dict[int, int],
) -> list[dict[str, Any]]:
    """Who moved from the previous assignment, where to, and why: `reason` in English,
    `detail` the same reason as structured parts (`models.reasons`), for the pages."""
    at = {int(pairs.v[i]): int(i) for i in picked.tolist()}
    out = []
    for a in c.round.previous:
        vi, pi = c.vindex[a.volunteer], c.pindex[a.placement]
        now = at.get(vi)
        if now is not None and int(pairs.p[now]) == pi:
            continue
        prev = prev_pair[vi]
        why: Reason
        if prev < 0:
            why = part(
                "move_breaks_rule",
                rule_parts=[
                    part("rule_failed", rule=k, failure_parts=[r])
                    for k, r in pair_failures(c, vi, pi).items()
                ],
            )
        elif now is None:
            why = part("move_unplaced")
        elif scores.total[now] > scores.total[prev]:
            why = part(
                "move_scores_higher",
                placement=c.placement_ids[pairs.p[now]],
                score=int(scores.total[now]),
                was_score=int(scores.total[prev]),
            )
        else:
            why = part("move_makes_room")
        out.append(
            {
                "volunteer": a.volunteer,
                "from": a.placement,
                "to": None if now is None else c.placement_ids[int(pairs.p[now])],
                "reason": text_of(why),
                "detail": why,
            }
        )
    return out
