"""Deferred acceptance of singles, in rounds on arrays.

Every free volunteer proposes to the next placement on its list at once, each touched
placement keeps the best of its current holders and the new proposers (one `argsort` of
those candidates), and the rejected propose again in the next round. The result is the
same as the textbook one-proposal-at-a-time algorithm (deferred acceptance gives the
proposing side's optimal stable matching whatever the order of proposals). The
host-proposing variant (`policy.stable_side: hosts`) is the mirror image: every
placement with open slots offers them to the next volunteers on its list at once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.arrays import concat_ranges

I64 = NDArray[np.int64]


def volunteer_proposing(pv: I64, pp: I64, vlist: I64, vstart: I64, gp: I64, capacity: I64) -> I64:
    """Volunteer-optimal stable matching of singles by deferred acceptance in rounds.

    `vlist`/`vstart`: each volunteer's acceptable pairs, best first (CSR); `gp[i]`: a key
    that sorts pairs by placement, then by the placement's preference; `capacity`: slots
    per placement. Returns the held pair of each volunteer (-1 = unmatched).
    """
    n_v = len(vstart) - 1
    ptr = vstart[:-1].copy()
    end = vstart[1:]
    # Each placement keeps its holders in a fixed block of `cap` cells; a placement can
    # never hold more volunteers than propose to it, which bounds the blocks' total.
    cap = np.minimum(capacity, np.bincount(pp[vlist], minlength=len(capacity)))
    soff = np.zeros(len(cap) + 1, dtype=np.int64)
    np.cumsum(cap, out=soff[1:])
    cell = np.full(int(soff[-1]), -1, dtype=np.int64)
    held = np.zeros(len(cap), dtype=np.int64)
    proposers = np.flatnonzero(ptr < end).astype(np.int64)
    mark = np.zeros(len(cap), dtype=np.bool_)
    while len(proposers):
        q = vlist[ptr[proposers]]
        # A mask over the placements beats np.unique here: O(placements), no hashing.
        mark[pp[q]] = True
        touched = np.flatnonzero(mark)
        mark[touched] = False
        current = cell[concat_ranges(soff[touched], held[touched])]
        cand = np.concatenate([current, q])
        cand = cand[np.argsort(gp[cand], kind="stable")]
        cp = pp[cand]
        group_start = np.searchsorted(cp, cp, side="left")
        pos = np.arange(len(cand), dtype=np.int64) - group_start
        keep = pos < cap[cp]
        cell[soff[cp[keep]] + pos[keep]] = cand[keep]
        held[touched] = np.minimum(cap[touched], np.bincount(cp, minlength=len(cap))[touched])
        rv = pv[cand[~keep]]
        ptr[rv] += 1
        proposers = rv[ptr[rv] < end[rv]]
    out = np.full(n_v, -1, dtype=np.int64)
    # Cells past a placement's `held` count can hold stale entries: read live cells only.
    taken = cell[concat_ranges(soff[:-1], held)]
    out[pv[taken]] = taken
    return out


def host_proposing(
    pv: I64, pp: I64, plist: I64, pstart: I64, gv: I64, capacity: I64, n_volunteers: int
) -> I64:
    """Host-optimal stable matching of singles: placements offer their open slots to the
    next volunteers on their lists, round after round; a volunteer keeps its best offer.

    `plist`/`pstart`: each placement's acceptable pairs, best first (CSR); `gv[i]`: a key
    that sorts pairs by volunteer, then by the volunteer's preference. Returns the held
    pair of each volunteer (-1 = unmatched).
    """
    n_p = len(pstart) - 1
    ptr = pstart[:-1].copy()
    end = pstart[1:]
    held = np.zeros(n_p, dtype=np.int64)
    vheld = np.full(n_volunteers, -1, dtype=np.int64)
    proposers = np.flatnonzero((ptr < end) & (capacity > 0)).astype(np.int64)
    while len(proposers):
        d = np.minimum(capacity[proposers] - held[proposers], end[proposers] - ptr[proposers])
        offers = plist[concat_ranges(ptr[proposers], d)]
        ptr[proposers] += d
        tv = np.unique(pv[offers])
        current = vheld[tv]
        current = current[current >= 0]
        cand = np.concatenate([current, offers])
        cand = cand[np.argsort(gv[cand], kind="stable")]
        cv = pv[cand]
        best = np.ones(len(cand), dtype=np.bool_)
        best[1:] = cv[1:] != cv[:-1]
        win = cand[best]
        vheld[pv[win]] = win
        np.add.at(held, pp[win], 1)
        np.subtract.at(held, pp[current], 1)
        lost = pp[cand[~best]]
        proposers = np.unique(lost)
        more = (ptr[proposers] < end[proposers]) & (held[proposers] < capacity[proposers])
        proposers = proposers[more]
    return vheld
