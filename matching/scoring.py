"""Integer scores of eligible pairs, from named components.

score = placed + skills + languages + preference + ranking + priority, where each
component is its weight (`policy.weights`) times a fit in [0, 1], rounded:

* skills: the mean, over every skill the placement asks for (required or desired), of
  min(1, volunteer's level / level asked). Required asks are met by every eligible
  volunteer, so they weigh in as met; desired asks tell candidates apart. A placement
  that asks for nothing gives the full weight (nothing is missing).
* languages: the same over required and desired languages, on CEFR ranks
  (A1=1 ... C2=6, native=7).
* preference: the volunteer's ranking of the placement: first of n choices 1, k-th
  (n-k+1)/n, not listed 0.
* ranking: the host partner's ranking of the volunteer, likewise.
* priority: the placement's urgency, (priority-1)/4: 5 gives the full weight, 1 none.
* placed: the weight itself, for every assignment. It keeps every score positive, so an
  optimal round never leaves open a slot that an unplaced eligible volunteer could take,
  and it sets the exchange rate between placing people and fitting them well: the
  total is `placed x people placed + fit points`, so the optimum places one person
  fewer only where that gains more than `placed` fit points elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import Asks, CompiledRound
from volmatch.matching.eligibility import Pairs

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

COMPONENTS: Final[tuple[str, ...]] = (
    "placed",
    "skills",
    "languages",
    "preference",
    "ranking",
    "priority",
)


@dataclass(frozen=True)
class Scores:
    """Scores aligned with a `Pairs`: the total and each component."""

    total: I64
    components: dict[str, I64]

    def breakdown(self, i: int) -> dict[str, int]:
        """The components of pair `i` (only those that score)."""
        return {k: int(v[i]) for k, v in self.components.items() if v[i]}


def _ask_fit(level: NDArray[np.uint8], req: Asks, des: Asks, pairs: Pairs) -> F64:
    """Mean of min(1, have/asked) over the required and desired asks; 1 if none asked."""
    n = len(pairs)
    total = np.zeros(n, dtype=np.float64)
    count = np.zeros(n, dtype=np.int64)
    for asks in (req, des):
        if asks.code.shape[0] == 0 or not asks.count.any():
            continue
        per_pair = asks.count[pairs.p]
        count += per_pair
        # asks fill columns from the left, so column k only concerns pairs whose
        # placement asks more than k things: most placements ask one or two
        for k in range(asks.width):
            idx = np.flatnonzero(per_pair > k)
            if len(idx) == 0:
                break
            pk = pairs.p[idx]
            want = asks.level[pk, k]
            have = level[pairs.v[idx], asks.code[pk, k]]
            total[idx] += np.minimum(have, want) / want.astype(np.float64)
    return np.divide(total, count, out=np.ones(n, dtype=np.float64), where=count > 0)


def _rank_fit(
    c: CompiledRound,
    pairs: Pairs,
    ov: NDArray[np.int32],
    op: NDArray[np.int32],
    pos: NDArray[np.int32],
    length: NDArray[np.int32],
    by_volunteer: bool,
) -> F64:
    """(n-k)/n for the pair at 0-based position k of a list of n, 0 if not listed."""
    fit = np.zeros(len(pairs), dtype=np.float64)
    if len(ov) == 0 or len(pairs) == 0:
        return fit
    keys = c.pair_keys(ov, op)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    want = c.pair_keys(pairs.v, pairs.p)
    at = np.searchsorted(keys, want)
    at_c = np.minimum(at, len(keys) - 1)
    hit = keys[at_c] == want
    n = (length[pairs.v] if by_volunteer else length[pairs.p]).astype(np.float64)
    k = pos[order][at_c].astype(np.float64)
    fit[hit] = (n[hit] - k[hit]) / n[hit]
    return fit


def score_pairs(c: CompiledRound, pairs: Pairs, out: Scores | None = None) -> Scores:
    """Score every pair (vectorised); weights from the round's policy. With `out`
    (arrays as long as `pairs`, say slices of larger ones), the scores are written
    there and `out` is returned."""
    w = c.round.policy.weights
    n = len(pairs)
    fits: dict[str, F64] = {
        "skills": _ask_fit(c.skill_level, c.req_skills, c.des_skills, pairs),
        "languages": _ask_fit(c.lang_level, c.req_langs, c.des_langs, pairs),
        "preference": _rank_fit(
            c, pairs, c.pref_v, c.pref_p, c.pref_pos, c.pref_len, by_volunteer=True
        ),
        "ranking": _rank_fit(
            c, pairs, c.rank_v, c.rank_p, c.rank_pos, c.rank_len, by_volunteer=False
        ),
        "priority": (c.priority[pairs.p] - 1).astype(np.float64) / 4.0,
    }
    if out is None:
        out = Scores(
            total=np.empty(n, dtype=np.int64),
            components={k: np.empty(n, dtype=np.int64) for k in COMPONENTS},
        )
    comps = out.components
    comps["placed"][:] = w.placed
    for name, fit in fits.items():
        # rint of an exact binary fraction is platform-independent; ties round to even
        fit *= getattr(w, name)
        comps[name][:] = np.rint(fit, out=fit)
    total = out.total
    total[:] = comps["placed"]
    for name in fits:
        total += comps[name]
    return out


BONUS_COMPONENT: Final = "continuity"
"""Breakdown name of the points `policy.bonus` adds to named pairs."""


def add_bonus(c: CompiledRound, pairs: Pairs, scores: Scores) -> Scores:
    """`scores` with the policy's pair bonuses added (a `continuity` component); pairs
    named there that are not eligible get nothing."""
    bonus = c.round.policy.bonus
    if not bonus:
        return scores
    extra = np.zeros(len(pairs), dtype=np.int64)
    if len(pairs):
        keys = c.pair_keys(pairs.v, pairs.p)  # sorted: pairs are placement-major
        bv = np.array([c.vindex[b.volunteer] for b in bonus], dtype=np.int64)
        bp = np.array([c.pindex[b.placement] for b in bonus], dtype=np.int64)
        want = c.pair_keys(bv, bp)
        at = np.clip(np.searchsorted(keys, want), 0, len(keys) - 1)
        hit = keys[at] == want
        np.add.at(extra, at[hit], np.array([b.points for b in bonus], dtype=np.int64)[hit])
    return Scores(
        total=scores.total + extra, components={**scores.components, BONUS_COMPONENT: extra}
    )
