"""The nine hard rules of the contract, vectorised.

Two implementations share the rule definitions:

* `check_rules` evaluates every rule separately on given pairs. It is what explanations
  use (which rule does this pair fail?) and what tests compare against.
* `find_pairs` finds all eligible pairs of a round fast. A dense volunteers x placements
  matrix is out of the question at 100,000 x 20,000 (2 billion pairs), so it indexes the
  volunteers by requirement: one bitset of volunteers per distinct requirement (French at
  B2 or above, clearance 2 or above, may go to Kenya ...), ANDs the bitsets each placement
  needs, 64 volunteers per machine word, and only then checks the rules that depend on
  both sides at once (exact dates, age) on the few surviving pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from matching.compiled import NO_AGE, Asks, CompiledRound
from matching.dates import add_months, age_on, months_fitting_split

I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
U64 = NDArray[np.uint64]

RULES: Final[dict[str, str]] = {
    "skills": "has every required skill at the level asked",
    "languages": "speaks every required language at the CEFR level asked",
    "training": "has completed the required training modules",
    "length": "the lengths of service overlap",
    "dates": "the service fits both date windows",
    "country": "may be sent to the placement's country",
    "security": "has the security clearance asked",
    "age": "is within the placement's age range",
    "forbidden": "the pair is not forbidden by the coordinator",
}
"""The hard rules in the contract's order: name -> what passing it means."""


@dataclass(frozen=True)
class Pairs:
    """Eligible pairs, ordered by (placement, volunteer), with start day and months."""

    v: I32
    p: I32
    start: I64
    """Start day (day number): max(placement's earliest start, volunteer's availability)."""
    months: I64
    """The longest length in both ranges that ends inside the volunteer's window."""

    def __len__(self) -> int:
        return int(self.v.shape[0])

    def take(self, idx: NDArray[np.intp] | B) -> Pairs:
        return Pairs(self.v[idx], self.p[idx], self.start[idx], self.months[idx])


def _meets(level: NDArray[np.uint8], asks: Asks, pv: I32 | I64, pp: I32 | I64) -> B:
    """Per pair: the volunteer meets every ask of the placement (padding always passes).

    One side may be a scalar index (one volunteer against many placements, or the
    reverse); those cases read a row or a few columns instead of gathering per pair.
    """
    if asks.code.shape[0] == 0:
        return np.ones(np.broadcast(pv, pp).shape, dtype=np.bool_)
    if pv.ndim == 0:
        have = level[pv][asks.code[pp]]
    elif pp.ndim == 0:
        have = level[pv[:, None], asks.code[pp][None, :]]
    else:
        have = level[pv[:, None], asks.code[pp]]
    ok: B = np.all(have >= asks.level[pp], axis=-1)
    return ok


@dataclass(frozen=True)
class _Calendar:
    """int32 views of the dates and lengths that `schedule` reads, packed so that each
    pair needs few gathers: `*_code` is month * 32 + day of month, so that the whole
    months between two days are `(later_code - earlier_code) >> 5`."""

    af: NDArray[np.int32]
    pse: NDArray[np.int32]
    psl: NDArray[np.int32]
    own: NDArray[np.int32]
    """Whole months of each volunteer's own window (start at availability)."""
    au_code: NDArray[np.int32]
    """avail_until's code, with the day set to 31 on a month's last day (any day fits)."""
    pse_code: NDArray[np.int32]
    v_len: NDArray[np.int32]
    """min_months * 64 + max_months of volunteers; `p_len` likewise of placements."""
    p_len: NDArray[np.int32]


def _calendar(c: CompiledRound) -> _Calendar:
    cached = c.cache.get("calendar")
    if isinstance(cached, _Calendar):
        return cached
    au_day = np.where(c.au_eom, 31, c.au_dom)
    cal = _Calendar(
        af=c.avail_from.astype(np.int32),
        pse=c.p_start_earliest.astype(np.int32),
        psl=c.p_start_latest.astype(np.int32),
        own=months_fitting_split(c.af_month, c.af_dom, c.au_month, c.au_dom, c.au_eom).astype(
            np.int32
        ),
        au_code=(c.au_month * 32 + au_day).astype(np.int32),
        pse_code=(c.pse_month * 32 + c.pse_dom).astype(np.int32),
        v_len=(c.v_min * 64 + c.v_max).astype(np.int32),
        p_len=(c.p_min * 64 + c.p_max).astype(np.int32),
    )
    c.cache["calendar"] = cal
    return cal


def schedule(c: CompiledRound, pv: I32 | I64 | np.int64, pp: I32 | I64) -> tuple[I64, I64, B]:
    """Start day, months of service and whether the dates and lengths fit (rules 4 and 5)."""
    cal = _calendar(c)
    af, pse = cal.af[pv], cal.pse[pp]
    later = af > pse
    start = np.where(later, af, pse)
    # months from the start to the end of availability: the volunteer's own window when
    # they start at their availability, else from the placement's earliest start
    fit = np.where(later, cal.own[pv], (cal.au_code[pv] - cal.pse_code[pp]) >> 5)
    vl, pl = cal.v_len[pv], cal.p_len[pp]
    dmin = np.maximum(vl >> 6, pl >> 6)
    dmax = np.minimum(vl & 63, pl & 63)
    months = np.minimum(dmax, fit)
    ok = (start <= cal.psl[pp]) & (months >= dmin)
    # int32 on purpose: callers filter first and widen only the pairs they keep
    return start, months, ok


def _age_ok(c: CompiledRound, pv: I32 | I64 | np.int64, pp: I32 | I64, start: I64) -> B:
    pv, pp, start = (np.atleast_1d(x) for x in np.broadcast_arrays(pv, pp, start))
    lo, hi = c.age_min[pp], c.age_max[pp]
    limited = (lo != NO_AGE) | (hi != NO_AGE)
    ok = np.ones(len(pv), dtype=np.bool_)
    if not limited.any():
        return ok
    idx = np.flatnonzero(limited)
    vv = pv[idx]
    age = age_on(c.birth[vv], start[idx])
    good = c.has_birth[vv]
    good &= (lo[idx] == NO_AGE) | (age >= lo[idx])
    good &= (hi[idx] == NO_AGE) | (age <= hi[idx])
    ok[idx] = good
    return ok


def _not_forbidden(c: CompiledRound, pv: I32 | I64 | np.int64, pp: I32 | I64) -> B:
    pv, pp = (np.atleast_1d(x) for x in np.broadcast_arrays(pv, pp))
    if len(c.forbidden_v) == 0:
        return np.ones(len(pv), dtype=np.bool_)
    return ~np.isin(c.pair_keys(pv, pp), c.pair_keys(c.forbidden_v, c.forbidden_p))


def _trained(c: CompiledRound, pv: I32 | I64, pp: I32 | I64) -> B:
    ok: B = _meets(c.trained.view(np.uint8), c.req_training, pv, pp) & c.policy_trained[pv]
    return ok


def check_rules(c: CompiledRound, pv: I32 | I64 | int, pp: I32 | I64 | int) -> dict[str, B]:
    """Each hard rule evaluated on each given pair (True = the pair passes that rule).

    `pv` and `pp` are aligned index arrays, or one of them is a single index: then the
    rules are evaluated for that volunteer (placement) against every index on the other
    side, which is much faster than repeating the index.
    """
    pv = np.asarray(pv, dtype=np.int64)
    pp = np.asarray(pp, dtype=np.int64)
    n = np.broadcast(pv, pp).shape
    start, _months, dates_ok = schedule(c, pv, pp)
    dmin = np.maximum(c.v_min[pv], c.p_min[pp])
    dmax = np.minimum(c.v_max[pv], c.p_max[pp])
    pc = c.country[pp]
    country_ok = ~c.excluded[pv, pc]
    if c.round.policy.international_only:
        country_ok &= c.nationality[pv] != pc
    rules = {
        "skills": _meets(c.skill_level, c.req_skills, pv, pp),
        "languages": _meets(c.lang_level, c.req_langs, pv, pp),
        "training": _trained(c, pv, pp),
        "length": dmin <= dmax,
        # rule 5 is about dates only where the lengths overlap at all
        "dates": dates_ok | (dmin > dmax),
        "country": country_ok,
        "security": c.clearance[pv] >= c.security[pp],
        "age": _age_ok(c, pv, pp, start),
        "forbidden": _not_forbidden(c, pv, pp),
    }
    return {
        k: np.broadcast_to(np.reshape(x, n) if np.size(x) == 1 else x, n) for k, x in rules.items()
    }


def all_rules(c: CompiledRound, pv: I32 | I64, pp: I32 | I64) -> B:
    """Per pair: passes every hard rule."""
    rules = check_rules(c, pv, pp)
    ok = np.ones(len(pv), dtype=np.bool_)
    for passed in rules.values():
        ok &= passed
    return ok


# ---------------------------------------------------------------------------------------
# The fast path: bitsets of volunteers per requirement.


class _Bitsets:
    """Rows of packed volunteer bitsets; row 0 is 'every volunteer who may deploy'."""

    def __init__(self, n_volunteers: int, base: B) -> None:
        self.n = n_volunteers
        self.words = max((n_volunteers + 63) // 64, 1)
        self.rows: list[U64] = []
        self.keys: dict[tuple[object, ...], int] = {}
        self.add(("all",), base)

    def add(self, key: tuple[object, ...], mask: B) -> int:
        row = self.keys.get(key)
        if row is not None:
            return row
        packed = np.packbits(mask, bitorder="little")
        buf = np.zeros(self.words * 8, dtype=np.uint8)
        buf[: packed.shape[0]] = packed
        self.rows.append(buf.view(np.uint64))
        self.keys[key] = len(self.rows) - 1
        return len(self.rows) - 1

    def matrix(self) -> U64:
        return np.stack(self.rows)


@dataclass(frozen=True)
class RequirementIndex:
    """Bitsets of volunteers per requirement, and which rows each placement needs.

    Row 0 holds the volunteers who have the policy's required training. Column k of
    `cols` names, for every placement, a row whose volunteers pass one requirement of
    rule `col_rule[k]`; the AND over a placement's columns is exact for the separable
    rules and a superset for `dates` (relaxed to month buckets).
    """

    mat: U64
    cols: NDArray[np.int32]
    col_rule: tuple[str, ...]
    words: int

    def placement_masks(self, pi: int) -> dict[str, U64]:
        """Per rule, the packed set of volunteers passing it at placement `pi`."""
        out: dict[str, U64] = {"training": self.mat[0].copy()}
        for k, rule in enumerate(self.col_rule):
            row = self.mat[self.cols[pi, k]]
            out[rule] = out[rule] & row if rule in out else row.copy()
        return out

    def volunteer_passes(self, vi: int) -> dict[str, B]:
        """Per rule, which placements volunteer `vi` passes (separable rules; `dates`
        relaxed)."""
        bit = ((self.mat[:, vi // 64] >> np.uint64(vi % 64)) & np.uint64(1)).astype(np.bool_)
        table = bit[self.cols]
        out: dict[str, B] = {"training": np.full(self.cols.shape[0], bit[0], dtype=np.bool_)}
        for k, rule in enumerate(self.col_rule):
            out[rule] = out[rule] & table[:, k] if rule in out else table[:, k].copy()
        return out


def unpack_members(words: U64, n: int) -> NDArray[np.int64]:
    """Indices of the set bits of a packed bitset (of `n` volunteers)."""
    bits = np.unpackbits(words.view(np.uint8), bitorder="little")[:n]
    return np.flatnonzero(bits)


def popcount(words: U64) -> int:
    """Number of set bits."""
    return int(np.bitwise_count(words).sum())


def requirement_index(c: CompiledRound) -> RequirementIndex:
    """The round's requirement bitsets (built once per compiled round, then cached)."""
    cached = c.cache.get("requirement_index")
    if isinstance(cached, RequirementIndex):
        return cached
    bits = _Bitsets(c.n_volunteers, c.policy_trained)
    cols, names = _requirement_columns(c, bits)
    index = RequirementIndex(bits.matrix(), cols, tuple(names), bits.words)
    c.cache["requirement_index"] = index
    return index


def _requirement_columns(c: CompiledRound, bits: _Bitsets) -> tuple[NDArray[np.int32], list[str]]:
    """For each placement, the bitset rows whose AND is a superset of its eligible set,
    and the rule each column belongs to."""
    npl = c.n_placements
    cols: list[NDArray[np.int32]] = []
    names: list[str] = []

    def column(keys: NDArray[np.int64] | list[object], make: object) -> NDArray[np.int32]:
        out = np.zeros(npl, dtype=np.int32)
        uniq, inv = np.unique(np.asarray(keys), return_inverse=True, axis=0)
        rows = np.asarray([make(u) for u in uniq], dtype=np.int32)  # type: ignore[operator]
        out[:] = rows[inv.reshape(-1)]
        return out

    def add(rule: str, col: NDArray[np.int32]) -> None:
        cols.append(col)
        names.append(rule)

    intl = c.round.policy.international_only

    def country_row(ci: np.int64) -> int:
        mask = ~c.excluded[:, int(ci)]
        if intl:
            mask &= c.nationality != ci
        return bits.add(("country", int(ci)), mask)

    add("country", column(c.country.astype(np.int64), country_row))
    add(
        "security",
        column(
            c.security.astype(np.int64),
            lambda lv: bits.add(("security", int(lv)), c.clearance >= lv),
        ),
    )
    # length overlap is exact and separable: v_min <= p_max and v_max >= p_min
    add("length", column(c.p_max, lambda m: bits.add(("vmin<=", int(m)), c.v_min <= m)))
    add("length", column(c.p_min, lambda m: bits.add(("vmax>=", int(m)), c.v_max >= m)))
    # Dates, as three necessary conditions (the exact check runs on the pairs later):
    # available by the latest start (exact: the start is the later of the two firsts);
    # still there p_min months after the earliest start; and a window of their own
    # that holds p_min months.
    add(
        "dates", column(c.p_start_latest, lambda d: bits.add(("from<=", int(d)), c.avail_from <= d))
    )
    need_until = add_months(c.p_start_earliest, c.p_min)
    add("dates", column(need_until, lambda d: bits.add(("until>=", int(d)), c.avail_until >= d)))
    own = months_fitting_split(c.af_month, c.af_dom, c.au_month, c.au_dom, c.au_eom)
    add("dates", column(c.p_min, lambda m: bits.add(("window>=", int(m)), own >= m)))
    for asks, level, name, rule in (
        (c.req_skills, c.skill_level, "skill", "skills"),
        (c.req_langs, c.lang_level, "lang", "languages"),
        (c.req_training, c.trained.view(np.uint8), "module", "training"),
    ):
        if not asks.count.any():
            continue
        for k in range(asks.width):
            pairs = np.stack([asks.code[:, k], asks.level[:, k]], axis=1).astype(np.int64)

            def ask_row(
                u: NDArray[np.int64], level: NDArray[np.uint8] = level, name: str = name
            ) -> int:
                code, lv = int(u[0]), int(u[1])
                if code == level.shape[1] - 1:
                    return 0
                return bits.add((name, code, lv), level[:, code] >= lv)

            add(rule, column(pairs, ask_row))
    return np.stack(cols, axis=1), names


def _candidates(c: CompiledRound) -> tuple[I32, I32]:
    """(volunteer, placement) pairs passing the bitset filters, placement-major order."""
    nv, npl = c.n_volunteers, c.n_placements
    if nv == 0 or npl == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    index = requirement_index(c)
    mat, cols, words = index.mat, index.cols, index.words
    # Batches keep the working set near 8 MB whatever the pool size.
    batch = max(1, min(npl, (1 << 20) // words))
    out_v: list[I32] = []
    out_p: list[I32] = []
    for lo in range(0, npl, batch):
        hi = min(npl, lo + batch)
        bc = cols[lo:hi]
        acc = mat[np.zeros(hi - lo, dtype=np.int32)]
        for k in range(bc.shape[1]):
            col = bc[:, k]
            if not col.any():
                continue
            acc &= mat[col]
        bi, wi = np.nonzero(acc)
        if bi.shape[0] == 0:
            continue
        v, p = _set_bits(np.ascontiguousarray(acc[bi, wi]), wi, bi)
        out_v.append(v)
        out_p.append((p + lo).astype(np.int32))
    if not out_v:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    return np.concatenate(out_v), np.concatenate(out_p)


def _set_bits(words: U64, word_index: NDArray[np.intp], row: NDArray[np.intp]) -> tuple[I32, I32]:
    """(bit position, row) of every set bit, ordered by row then position.

    Peels the lowest set bit of every word at once, as many rounds as the fullest word
    has bits: a few rounds at a few percent density, where unpacking every word to 64
    bytes would touch twenty times the memory.
    """
    pos: list[NDArray[np.int64]] = []
    rows: list[NDArray[np.intp]] = []
    w = words.copy()
    base = word_index.astype(np.int64) * 64
    r = row
    while len(w):
        low = w & (~w + np.uint64(1))
        # a power of two is exact in float64; frexp gives its exponent + 1
        bit = np.frexp(low.astype(np.float64))[1].astype(np.int64) - 1
        pos.append(base + bit)
        rows.append(r)
        w ^= low
        more = w != 0
        w, base, r = w[more], base[more], r[more]
    v = np.concatenate(pos)
    p = np.concatenate(rows).astype(np.int64)
    order = np.argsort(p * (1 << 32) + v, kind="stable")
    return v[order].astype(np.int32), p[order].astype(np.int32)


EXACT_ON_PAIRS: Final[tuple[str, ...]] = ("dates", "age", "forbidden")
"""Rules that depend on both sides at once and are checked pair by pair."""


def volunteer_rule_table(c: CompiledRound, vi: int) -> dict[str, B]:
    """Every hard rule for volunteer `vi` against every placement (exact): the separable
    rules read from the requirement bitsets, the rest computed on the row."""
    index = requirement_index(c)
    table = index.volunteer_passes(vi)
    pp = np.arange(c.n_placements, dtype=np.int64)
    start, _months, dates_ok = schedule(c, np.int64(vi), pp)
    overlap = np.maximum(c.v_min[vi], c.p_min) <= np.minimum(c.v_max[vi], c.p_max)
    table["dates"] = dates_ok | ~overlap
    table["age"] = _age_ok(c, np.int64(vi), pp, start)
    table["forbidden"] = _not_forbidden(c, np.int64(vi), pp)
    ones = np.ones(c.n_placements, dtype=np.bool_)
    return {rule: table.get(rule, ones) for rule in RULES}


def find_pairs(c: CompiledRound) -> Pairs:
    """Every pair that passes all nine hard rules, ordered by (placement, volunteer)."""
    pv, pp = _candidates(c)
    start, months, ok = schedule(c, pv, pp)
    ok &= _age_ok(c, pv, pp, start)
    ok &= _not_forbidden(c, pv, pp)
    idx = np.flatnonzero(ok)
    return Pairs(pv[idx], pp[idx], start[idx].astype(np.int64), months[idx].astype(np.int64))


def dense_pairs(c: CompiledRound) -> Pairs:
    """The same pairs as `find_pairs`, by checking every rule on every pair.

    Quadratic: for tests and small rounds only; it shares no filtering code with the
    bitset path, which makes it a useful cross-check.
    """
    nv, npl = c.n_volunteers, c.n_placements
    pp, pv = np.divmod(np.arange(nv * npl, dtype=np.int64), max(nv, 1))
    ok = all_rules(c, pv, pp)
    pv, pp = pv[ok].astype(np.int32), pp[ok].astype(np.int32)
    start, months, _ = schedule(c, pv, pp)
    return Pairs(pv, pp, start.astype(np.int64), months.astype(np.int64))
