"""Reserve lists: per placement, the unplaced eligible volunteers who would fill it best,
each with the exact cost to the round of taking them.

The cost is the drop in the round's optimal total if that volunteer gets a slot of the
placement, everyone else re-matched as well as possible (someone may leave the placement
or move elsewhere to make room: a vacancy chain). It comes from the residual network of
the published optimum (`matching.regret.ResidualNetwork.regrets_at`), which is exact for
the pure round (a shortest cycle in the residual network of an optimal min-cost flow is
the optimum with the choice forced; no re-solve and no LP duals involved). Where the
round has policy rules the network is that of the pure optimum of the same pairs, so the
cost is the pure round's, said as such (`exact` False).

A cost of 0 is a tie: taking that volunteer loses nothing. Ranked by cost, then by their
score at the placement (higher first), then by volunteer id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

from volmatch.matching.prepared import Prepared, locked_pair_indices
from volmatch.matching.pure import needs_rules, solve_pure
from volmatch.matching.regret import UNREACHABLE, ResidualNetwork

RESERVE_SIZE: Final = 5
"""Reserves listed per placement by default: enough for a few declines in a row."""


@dataclass(frozen=True)
class Reserve:
    """One volunteer on a placement's reserve list."""

    volunteer: str
    score: int
    """Their score at the placement."""
    cost: int
    """Exact drop in the round's optimal total if they take a slot of it."""


@dataclass(frozen=True)
class ReserveList:
    """A placement's ranked reserves."""

    placement: str
    reserves: tuple[Reserve, ...]
    exact: bool
    """True: costs against this round's optimum; False: against the pure optimum of its
    pairs (the round has policy rules)."""


def reserve_lists(
    prep: Prepared,
    chosen: np.ndarray,
    *,
    placements: Iterable[str] | None = None,
    size: int = RESERVE_SIZE,
) -> list[ReserveList]:
    """The reserve list of each placement (all, or those named) of a published round.

    `chosen`: the published assignment as pair indices into `prep.pairs` (a `Solution`'s
    `chosen`). One Dijkstra over the placements per list: ask only for the placements
    needed on large rounds.
    """
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    exact = c.round.policy.mode == "optimal" and not needs_rules(prep)
    base = np.asarray(chosen, dtype=np.int64) if exact else solve_pure(prep).chosen
    net = ResidualNetwork(
        c.n_volunteers,
        c.capacity,
        pairs.v,
        pairs.p,
        scores.total,
        base,
        locked_pair_indices(prep),
    )
    placed = np.zeros(c.n_volunteers, dtype=np.bool_)
    placed[pairs.v[np.asarray(chosen, dtype=np.int64)]] = True
    wanted = range(c.n_placements) if placements is None else [c.pindex[p] for p in placements]
    out: list[ReserveList] = []
    for p in wanted:
        idx, regret = net.regrets_at(p)
        ok = ~placed[pairs.v[idx]] & (regret != UNREACHABLE)
        idx, regret = idx[ok], regret[ok]
        vids = np.array([c.volunteer_ids[v] for v in pairs.v[idx].tolist()], dtype=object)
        order = np.lexsort((vids, -scores.total[idx], regret))[:size]
        out.append(
            ReserveList(
                placement=c.placement_ids[p],
                reserves=tuple(
                    Reserve(str(vids[k]), int(scores.total[idx[k]]), int(regret[k]))
                    for k in order.tolist()
                ),
                exact=exact,
            )
        )
    return out
