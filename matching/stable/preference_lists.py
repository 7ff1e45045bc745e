"""Both sides' ranked lists of eligible partners, as the contract orders them.

A volunteer ranks its eligible placements by its `preferences` where they name a
placement, then by descending score, ties by placement id; a placement ranks its
eligible volunteers by its `ranking`, then by descending score, ties by volunteer id.
Ids are sorted in the compiled round, so "ties by id" is "ties by index", and each
side's lists come from one argsort of a packed int64 key over the pair arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.prepared import Prepared

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]

UNRANKED: Final = np.iinfo(np.int64).max
"""A position after every list's last: a partner an explicit list does not name, or no
match held."""


@dataclass(frozen=True)
class Rankings:
    """Both sides' ranked lists of eligible partners, as positions over the pair arrays.

    `vorder` lists pair indices volunteer by volunteer, best first (`vstart` is its CSR
    index); `vrank[i]` is the position of pair i in its volunteer's list (0 = best).
    `porder`, `pstart` and `prank` are the same for placements.
    """

    vorder: I64
    vstart: I64
    vrank: I64
    porder: I64
    pstart: I64
    prank: I64


def list_positions(c: CompiledRound, pv: I32, pp: I32, ov: I32, op: I32, pos: I32) -> I64:
    """Per pair: the 0-based position of its partner in the owner's explicit list, or a
    huge number where the list does not name it."""
    out = np.full(len(pv), UNRANKED, dtype=np.int64)
    if len(ov) == 0 or len(pv) == 0:
        return out
    keys = c.pair_keys(pv, pp)  # pairs are placement-major, so these keys are sorted
    want = c.pair_keys(ov, op)
    # Sorted queries let searchsorted walk the keys forward: several times faster.
    by = np.argsort(want)
    want, pos = want[by], pos[by]
    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    found = keys[at] == want
    out[at[found]] = pos[found]
    return out


def csr(owner: I64, n: int) -> I64:
    """The CSR index of entries sorted by owner: owner k's entries are start[k]:start[k+1]."""
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=start[1:])
    return start


def _order(owner: I64, listed: I64, neg_score: I64, other: I64, n_other: int) -> I64:
    """Pair indices sorted by (owner, position in its explicit list, -score, other).

    One argsort of a packed int64 key where the four fields fit (they do at any
    realistic size): several times faster than `lexsort` over four arrays.
    """
    n = len(owner)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    named = listed < UNRANKED
    last = int(listed[named].max()) + 1 if named.any() else 0
    pos = np.where(named, listed, last)  # "not listed" sorts after every listed position
    pos_span = last + 1
    lo, hi = int(neg_score.min()), int(neg_score.max())
    score_span = hi - lo + 1
    width = float(int(owner.max()) + 1) * pos_span * score_span * max(n_other, 1)
    if width >= 2.0**62:
        return np.lexsort((other, neg_score, pos, owner)).astype(np.int64)
    key = ((owner * pos_span + pos) * score_span + (neg_score - lo)) * max(n_other, 1) + other
    return np.argsort(key).astype(np.int64)


def rankings(prep: Prepared) -> Rankings:
    """Both sides' preference lists per the contract (explicit list, score, id)."""
    c, pairs = prep.compiled, prep.pairs
    n = len(pairs)
    v = pairs.v.astype(np.int64)
    p = pairs.p.astype(np.int64)
    neg = -prep.scores.total
    vkey = list_positions(c, pairs.v, pairs.p, c.pref_v, c.pref_p, c.pref_pos)
    pkey = list_positions(c, pairs.v, pairs.p, c.rank_v, c.rank_p, c.rank_pos)
    vorder = _order(v, vkey, neg, p, c.n_placements)
    porder = _order(p, pkey, neg, v, c.n_volunteers)
    vstart = csr(v, c.n_volunteers)
    pstart = csr(p, c.n_placements)
    vrank = np.empty(n, dtype=np.int64)
    vrank[vorder] = np.arange(n, dtype=np.int64) - vstart[v[vorder]]
    prank = np.empty(n, dtype=np.int64)
    prank[porder] = np.arange(n, dtype=np.int64) - pstart[p[porder]]
    return Rankings(vorder, vstart, vrank, porder, pstart, prank)


def order_by_index(owner: I64, listed: I64, neg_score: I64) -> I64 | None:
    """What `_order` gives, with the pair index standing in for the partner, or None
    where the packed key would not fit.

    Pairs are placement-major and volunteer-minor, so within one owner's pairs the index
    orders the partners as their own indices do. With the index in the key's low bits,
    sorting the keys themselves (no argsort) yields the order: several times faster.
    """
    n = len(owner)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    named = listed < UNRANKED
    last = int(listed[named].max()) + 1 if named.any() else 0
    pos_span = last + 1
    lo, hi = int(neg_score.min()), int(neg_score.max())
    score_span = hi - lo + 1
    shift = n.bit_length()
    if float(int(owner.max()) + 1) * pos_span * score_span >= 2.0 ** (62 - shift):
        return None
    key = owner * pos_span
    key += np.where(named, listed, last)  # "not listed" sorts after every listed position
    key *= score_span
    key += neg_score
    key -= lo
    key <<= shift
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    key &= (1 << shift) - 1
    return key


def _listed_at(c: CompiledRound, keys: I64, ov: I32, op: I32, pos: I32) -> I64:
    """`list_positions` on the pairs' (sorted) keys, computed once by the caller."""
    out = np.full(len(keys), UNRANKED, dtype=np.int64)
    if len(ov) == 0 or len(keys) == 0:
        return out
    want = c.pair_keys(ov, op)
    by = np.argsort(want)
    want, pos = want[by], pos[by]
    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    found = keys[at] == want
    out[at[found]] = pos[found]
    return out


def fast_rankings(prep: Prepared) -> Rankings:
    """`rankings(prep)`, the same arrays, computed faster (see `order_by_index`)."""
    c, pairs = prep.compiled, prep.pairs
    keys = c.pair_keys(pairs.v, pairs.p)
    if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        return rankings(prep)  # not placement-major after all: the general path
    n = len(pairs)
    vkey = _listed_at(c, keys, c.pref_v, c.pref_p, c.pref_pos)
    pkey = _listed_at(c, keys, c.rank_v, c.rank_p, c.rank_pos)
    del keys
    v = pairs.v.astype(np.int64)
    p = pairs.p.astype(np.int64)
    neg = -prep.scores.total
    vorder = order_by_index(v, vkey, neg)
    porder = order_by_index(p, pkey, neg)
    if vorder is None or porder is None:
        return rankings(prep)
    vstart = csr(v, c.n_volunteers)
    pstart = csr(p, c.n_placements)
    # a pair's rank is its position in the order less its owner's start
    step = np.arange(n, dtype=np.int64)
    vrank = np.empty(n, dtype=np.int64)
    vrank[vorder] = step
    vrank -= vstart[v]
    prank = np.empty(n, dtype=np.int64)
    prank[porder] = step
    prank -= pstart[p]
    return Rankings(vorder, vstart, vrank, porder, pstart, prank)
