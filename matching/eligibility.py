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

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import NO_AGE, Asks, CompiledRound
from volmatch.matching.dates import add_months, age_on, months_fitting_split, split_days
from volmatch.matching.pair_limit import PairCount
from volmatch.models.reasons import HARD_RULES

I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
U64 = NDArray[np.uint64]

RULES: Final[dict[str, str]] = HARD_RULES
"""The hard rules in the contract's order: name -> what passing it means. The very table
of `models.reasons.HARD_RULES`, whose texts reasons quote (`rule_text`) and pages translate."""


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
class ScheduleCalendar:
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


def schedule_calendar(c: CompiledRound) -> ScheduleCalendar:
    """The round's packed dates and lengths, built on first use and cached on the
    compiled round (the threads of `matching.parallel` want it built before they start)."""
    cached = c.cache.get("calendar")
    if isinstance(cached, ScheduleCalendar):
        return cached
    au_day = np.where(c.au_eom, 31, c.au_dom)
    cal = ScheduleCalendar(
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


def _start_and_fit(
    cal: ScheduleCalendar, pv: I32 | I64 | np.int64, pp: I32 | I64
) -> tuple[I64, I64]:
    """Start day `s` and the most whole months from `s` that end by the volunteer's last day."""
    af, pse = cal.af[pv], cal.pse[pp]
    later = af > pse
    start = np.where(later, af, pse)
    # months from the start to the end of availability: the volunteer's own window when
    # they start at their availability, else from the placement's earliest start
    fit = np.where(later, cal.own[pv], (cal.au_code[pv] - cal.pse_code[pp]) >> 5)
    return start, fit


def schedule(c: CompiledRound, pv: I32 | I64 | np.int64, pp: I32 | I64) -> tuple[I64, I64, B]:
    """Start day, months of service and whether the dates and lengths fit (rules 4 and 5)."""
    cal = schedule_calendar(c)
    start, fit = _start_and_fit(cal, pv, pp)
    vl, pl = cal.v_len[pv], cal.p_len[pp]
    dmin = np.maximum(vl >> 6, pl >> 6)
    dmax = np.minimum(vl & 63, pl & 63)
    months = np.minimum(dmax, fit)
    ok = (start <= cal.psl[pp]) & (months >= dmin)
    # int32 on purpose: callers filter first and widen only the pairs they keep
    return start, months, ok


def dates_rule(c: CompiledRound, pv: I32 | I64 | np.int64, pp: I32 | I64) -> tuple[I64, B]:
    """Start day and rule 5 as the contract words it (`s <= start_latest` and `s + dmin`
    months by the volunteer's last day), whether or not the lengths overlap (rule 4): a
    pair that fails both must not be told it fails only the length."""
    cal = schedule_calendar(c)
    start, fit = _start_and_fit(cal, pv, pp)
    dmin = np.maximum(cal.v_len[pv] >> 6, cal.p_len[pp] >> 6)
    return start, (start <= cal.psl[pp]) & (fit >= dmin)


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
    start, dates_ok = dates_rule(c, pv, pp)
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
        "dates": dates_ok,
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
                    # padding: no ask. A row everyone passes, not row 0 (the policy's
                    # training), so that the rule's own bitset stays exact for the
                    # explanations' per-rule counts.
                    return bits.add(("anyone",), np.ones(c.n_volunteers, dtype=np.bool_))
                return bits.add((name, code, lv), level[:, code] >= lv)

            add(rule, column(pairs, ask_row))
    return np.stack(cols, axis=1), names


def _candidates(
    c: CompiledRound, count: PairCount, first: int = 0, stop: int | None = None
) -> tuple[I32, I32]:
    """(volunteer, placement) pairs passing the bitset filters, placement-major order,
    for placements `first` to `stop` (all by default). Each batch's pairs are added to
    `count` before they are unpacked; once it is over its limit nothing more is unpacked
    (what was is returned, and the caller raises), only counted."""
    nv, npl = c.n_volunteers, c.n_placements if stop is None else stop
    if nv == 0 or npl <= first:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    index = requirement_index(c)
    mat, cols, words = index.mat, index.cols, index.words
    # Batches keep the working set near 8 MB whatever the pool size.
    batch = max(1, min(npl - first, (1 << 20) // words))
    out_v: list[I32] = []
    out_p: list[I32] = []
    for lo in range(first, npl, batch):
        hi = min(npl, lo + batch)
        bc = cols[lo:hi]
        acc = mat[np.zeros(hi - lo, dtype=np.int32)]
        for k in range(bc.shape[1]):
            col = bc[:, k]
            if not col.any():
                continue
            acc &= mat[col]
        if not count.add(popcount(acc)):
            continue
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
    start, table["dates"] = dates_rule(c, np.int64(vi), pp)
    table["age"] = _age_ok(c, np.int64(vi), pp, start)
    table["forbidden"] = _not_forbidden(c, np.int64(vi), pp)
    ones = np.ones(c.n_placements, dtype=np.bool_)
    return {rule: table.get(rule, ones) for rule in RULES}


# ---------------------------------------------------------------------------------------
# Batched tables for explanations: many volunteers (or placements) at once.


@dataclass(frozen=True)
class _RuleClasses:
    """The separable rules by classes of placements.

    `rules[rule]` is (rows, class): the distinct tuples of bitset rows that placements
    AND for the rule (`rows[k, j]`), and each placement's class. `groups` merges rules
    whose combined classes stay few: (the rules, each combination's class per rule, each
    placement's combination), so that failures add up with one gather per group.
    """

    index: RequirementIndex
    rules: dict[str, tuple[NDArray[np.int32], NDArray[np.intp]]]
    groups: list[tuple[tuple[str, ...], NDArray[np.intp], NDArray[np.intp]]]
    sizes: dict[str, NDArray[np.int64]]
    """Per rule: how many placements each class holds."""


def _rule_classes(c: CompiledRound) -> _RuleClasses:
    """The separable rules' placement classes (built once per requirement index).

    `training` starts with row 0 (the policy's training), as `volunteer_passes` does; a
    rule without any column has one class of no rows, which every volunteer passes.
    """
    index = requirement_index(c)
    cached = c.cache.get("rule_classes")
    if isinstance(cached, _RuleClasses) and cached.index is index:
        return cached
    npl = c.n_placements
    rules: dict[str, tuple[NDArray[np.int32], NDArray[np.intp]]] = {}
    for rule in RULES:
        if rule in EXACT_ON_PAIRS:
            continue
        ks = [k for k, r in enumerate(index.col_rule) if r == rule]
        rows = index.cols[:, ks].astype(np.int32)
        if rule == "training":
            rows = np.concatenate([np.zeros((npl, 1), dtype=np.int32), rows], axis=1)
        if rows.shape[1] == 0 or npl == 0:
            rules[rule] = (np.zeros((1, 0), dtype=np.int32), np.zeros(npl, dtype=np.intp))
            continue
        rules[rule] = unique_rows(rows, index.mat.shape[0])
    sizes = {
        rule: np.bincount(cls, minlength=rows.shape[0]).astype(np.int64)
        for rule, (rows, cls) in rules.items()
    }
    out = _RuleClasses(index, rules, _class_groups(rules, npl), sizes)
    c.cache["rule_classes"] = out
    return out


def unique_rows(rows: NDArray[np.int32], base: int) -> tuple[NDArray[np.int32], NDArray[np.intp]]:
    """`np.unique(rows, axis=0, return_inverse=True)` for entries in [0, base), through
    one packed int64 key per row where it fits (several times faster). The fit is
    judged in logarithms: `base ** columns` overflows a float from ~100 columns (a
    placement asking 200 skills)."""
    if base > 1 and rows.shape[1] * math.log2(base) >= 62:
        uniq, inv = np.unique(rows, axis=0, return_inverse=True)
        return uniq.astype(np.int32), inv.reshape(-1).astype(np.intp)
    key = np.zeros(rows.shape[0], dtype=np.int64)
    for j in range(rows.shape[1]):
        key *= base
        key += rows[:, j]
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    return rows[first].astype(np.int32), inv.reshape(-1).astype(np.intp)


def _class_groups(
    rules: dict[str, tuple[NDArray[np.int32], NDArray[np.intp]]], npl: int
) -> list[tuple[tuple[str, ...], NDArray[np.intp], NDArray[np.intp]]]:
    """Merge the rules that can fail, fewest classes first, while their combinations
    stay below a quarter of the placements."""
    limit = max(64, npl // 4)
    live = sorted(
        (r for r, (rows, _) in rules.items() if rows.shape[1]), key=lambda r: len(rules[r][0])
    )
    groups: list[tuple[tuple[str, ...], NDArray[np.intp], NDArray[np.intp]]] = []

    def close(members: list[str], key: NDArray[np.int64]) -> None:
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        per_rule = np.stack([rules[r][1][first] for r in members], axis=1)
        groups.append((tuple(members), per_rule.astype(np.intp), inv.reshape(-1).astype(np.intp)))

    members: list[str] = []
    key = np.zeros(npl, dtype=np.int64)
    for rule in live:
        rows, cls = rules[rule]
        comb, ids = np.unique(key * rows.shape[0] + cls, return_inverse=True)
        if members and len(comb) > limit:
            close(members, key)
            members, key = [rule], cls.astype(np.int64)
        else:
            members.append(rule)
            key = ids.reshape(-1).astype(np.int64)
    if members:
        close(members, key)
    return groups


@dataclass(frozen=True)
class RuleFailures:
    """Which hard rules some volunteers fail against every placement: for the k-th
    volunteer asked, what `volunteer_rule_table` says (negated), held compactly.

    A separable rule's verdict depends on the placement only through the bitset rows it
    needs, and few placements differ in those: `by_class[rule]` holds the failures per
    class of placements and volunteer (`classes.rules[rule][1]` gives each placement's
    class). `dates` is per volunteer and placement; `age` per volunteer and placement
    with an age range (`age_cols`); `forbidden` lists the (row, placement) pairs the
    coordinator forbade.
    """

    classes: _RuleClasses
    by_class: dict[str, B]
    dates: B
    age: B
    age_cols: I64
    forbidden: tuple[I64, I64]

    def counts(self) -> dict[str, I64]:
        """Per rule, in the contract's order: at how many placements each volunteer
        fails it."""
        n = self.dates.shape[0]
        out: dict[str, I64] = {}
        for rule in RULES:
            if rule == "dates":
                out[rule] = self.dates.sum(axis=1, dtype=np.int64)
            elif rule == "age":
                out[rule] = self.age.sum(axis=1, dtype=np.int64)
            elif rule == "forbidden":
                out[rule] = np.bincount(self.forbidden[0], minlength=n).astype(np.int64)
            else:
                out[rule] = self.classes.sizes[rule] @ self.by_class[rule].astype(np.int64)
        return out

    def n_fail(self) -> NDArray[np.uint8]:
        """Per volunteer and placement: how many rules the pair fails (at most the nine
        rules: bytes, which callers search as they are, not a copy eight times wider)."""
        n, npl = self.dates.shape
        # placement-major while gathering classes (whole rows), volunteer-major after
        acc_t = np.zeros((npl, n), dtype=np.uint8)
        buf = np.empty((npl, n), dtype=np.uint8)
        for rules, per_rule, of in self.classes.groups:
            if len(rules) == 1:  # every class of the rule, in order
                total = self.by_class[rules[0]].view(np.uint8)
            else:
                total = np.zeros((per_rule.shape[0], n), dtype=np.uint8)
                for j, rule in enumerate(rules):
                    total += self.by_class[rule][per_rule[:, j]]
            acc_t += np.take(total, of, axis=0, out=buf)
        acc = np.ascontiguousarray(acc_t.T)
        acc += self.dates
        if len(self.age_cols):
            acc[:, self.age_cols] += self.age
        rows, cols = self.forbidden
        acc[rows, cols] += 1
        return acc

    def passes(self, rows: I64, pis: I64) -> dict[str, B]:
        """Per rule, in the contract's order: whether volunteer row `rows[k]` passes it at
        placement `pis[k]`."""
        out: dict[str, B] = {}
        npl = self.dates.shape[1]
        for rule in RULES:
            if rule == "dates":
                out[rule] = ~self.dates[rows, pis]
            elif rule == "age":
                ok = np.ones(len(rows), dtype=np.bool_)
                if len(self.age_cols):
                    at = np.minimum(np.searchsorted(self.age_cols, pis), len(self.age_cols) - 1)
                    hit = self.age_cols[at] == pis
                    ok[hit] = ~self.age[rows[hit], at[hit]]
                out[rule] = ok
            elif rule == "forbidden":
                fr, fp = self.forbidden
                out[rule] = ~np.isin(rows * npl + pis, fr * npl + fp)
            else:
                out[rule] = ~self.by_class[rule][self.classes.rules[rule][1][pis], rows]
        return out


def volunteer_rule_failures(c: CompiledRound, vis: I64) -> RuleFailures:
    """`volunteer_rule_table` for many volunteers at once, negated and compact (see
    `RuleFailures`). Memory is a few bytes per volunteer and placement: callers batch."""
    vis = np.asarray(vis, dtype=np.int64)
    n = vis.shape[0]
    classes = _rule_classes(c)
    shift = (vis % 64).astype(np.uint64)
    bits = ((classes.index.mat[:, vis // 64] >> shift) & np.uint64(1)).astype(np.bool_)
    by_class: dict[str, B] = {}
    for rule, (rows, _cls) in classes.rules.items():
        ok = np.ones((rows.shape[0], n), dtype=np.bool_)
        for j in range(rows.shape[1]):
            ok &= bits[rows[:, j]]
        by_class[rule] = ~ok
    dates, later = _dates_fail_rows(c, vis)
    age_cols = np.flatnonzero((c.age_min != NO_AGE) | (c.age_max != NO_AGE)).astype(np.int64)
    age = ~_age_ok_cols(c, vis, age_cols, later[:, age_cols])
    return RuleFailures(classes, by_class, dates, age, age_cols, _forbidden_rows(c, vis))


def _dates_fail_rows(c: CompiledRound, vis: I64) -> tuple[B, B]:
    """Per volunteer of `vis` and placement: the pair fails rule 5 (as `dates_rule` and
    `volunteer_rule_table` decide it), and whether the volunteer starts later than the
    placement's earliest start.

    The rule fails where the start is past the latest start or the window holds fewer
    than dmin = max(v_min, p_min) months, whether or not the lengths overlap. Each
    term compares one volunteer number with one placement number: no arithmetic per
    pair.
    """
    cal = schedule_calendar(c)
    i64 = np.int64
    af = cal.af[vis].astype(i64)[:, None]
    own = cal.own[vis].astype(i64)[:, None]
    au = cal.au_code[vis].astype(i64)[:, None]
    vmin = c.v_min[vis][:, None]
    pse, psl, pse_code = cal.pse.astype(i64), cal.psl.astype(i64), cal.pse_code.astype(i64)
    pmin = c.p_min
    never = np.iinfo(i64).min
    later = af > pse
    # the start, max(af, pse), is past the latest start (always, where pse > psl)
    fail = af > np.where(pse > psl, never, psl)
    # starting at their availability, the window holds `own` months
    short = own < pmin
    short[(own < vmin)[:, 0]] = True  # whole rows: cheaper than a broadcast OR
    # else (au_code - pse_code) >> 5 months: fewer than d iff au_code - pse_code < 32 d
    # (the matrices below reuse one buffer: a fresh one per comparison costs as much
    # as the comparison, in page faults)
    buf = np.empty_like(short)
    short_early = np.less(au - 32 * vmin, pse_code)
    short_early |= np.less(au, pse_code + 32 * pmin, out=buf)
    short ^= short_early
    short &= later
    short ^= short_early
    fail |= short
    return fail, later


def _year_and_day(days: I64) -> tuple[I64, I64]:
    """(year, month of year * 32 + zero-based day of month) of day numbers, as `age_on`
    splits them."""
    d = np.asarray(days, dtype=np.int64)
    year = d.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
    month, dom = split_days(d)
    return year, (month - year * 12) * 32 + dom


def _age_ok_cols(c: CompiledRound, vis: I64, cols: I64, later: B) -> B:
    """`_age_ok` of each volunteer of `vis` at each placement of `cols` (`later`: the
    volunteer starts at their availability, else at the placement's earliest start)."""
    if len(cols) == 0 or len(vis) == 0:
        return np.ones((len(vis), len(cols)), dtype=np.bool_)
    py, pday, lo, hi = _age_columns(c, cols)
    birth = c.birth[vis]
    by, bday = _year_and_day(birth)
    age = py - by[:, None]
    age -= pday < bday[:, None]
    at_own = age_on(birth, c.avail_from[vis])
    np.copyto(age, np.broadcast_to(at_own[:, None], age.shape), where=later)
    good = age >= lo
    good &= age <= hi
    good[~c.has_birth[vis]] = False
    return good


@dataclass(frozen=True)
class _AgeColumns:
    cols: I64
    year: I64
    day: I64
    lo: I64
    hi: I64


def _age_columns(c: CompiledRound, cols: I64) -> tuple[I64, I64, I64, I64]:
    """Of the placements `cols`: the earliest start's year and (month, day) code, and
    the age range with absent limits made unbounding (cached for the last `cols`)."""
    cached = c.cache.get("age_columns")
    if not (isinstance(cached, _AgeColumns) and np.array_equal(cached.cols, cols)):
        year, day = _year_and_day(c.p_start_earliest[cols])
        lo, hi = c.age_min[cols], c.age_max[cols]
        big = np.iinfo(np.int64).max
        cached = _AgeColumns(
            cols.copy(),
            year,
            day,
            np.where(lo == NO_AGE, -big, lo),
            np.where(hi == NO_AGE, big, hi),
        )
        c.cache["age_columns"] = cached
    return cached.year, cached.day, cached.lo, cached.hi


def _forbidden_rows(c: CompiledRound, vis: I64) -> tuple[I64, I64]:
    """The forbidden pairs of the volunteers of `vis`: (row in `vis`, placement), once."""
    none = np.zeros(0, dtype=np.int64)
    if len(c.forbidden_v) == 0 or len(vis) == 0:
        return none, none
    order = np.argsort(vis, kind="stable")
    fv = c.forbidden_v.astype(np.int64)
    lo = np.searchsorted(vis[order], fv, side="left")
    n = np.searchsorted(vis[order], fv, side="right") - lo
    total = int(n.sum())
    if total == 0:
        return none, none
    at = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total, dtype=np.int64)
    npl = max(c.n_placements, 1)
    keys = np.unique(order[at] * npl + np.repeat(c.forbidden_p.astype(np.int64), n))
    return keys // npl, keys % npl


def pair_wise_rules(c: CompiledRound, pv: I64, pp: I64) -> dict[str, B]:
    """The rules of `EXACT_ON_PAIRS` on aligned pairs, as `check_rules` evaluates them
    (without the separable rules, which the requirement bitsets answer)."""
    pv = np.asarray(pv, dtype=np.int64)
    pp = np.asarray(pp, dtype=np.int64)
    start, dates_ok = dates_rule(c, pv, pp)
    return {
        "dates": dates_ok,
        "age": _age_ok(c, pv, pp, start),
        "forbidden": _not_forbidden(c, pv, pp),
    }


@dataclass(frozen=True)
class _ClassMasks:
    classes: _RuleClasses
    masks: dict[str, tuple[U64, NDArray[np.intp]]]


def separable_rule_masks(c: CompiledRound) -> dict[str, tuple[U64, NDArray[np.intp]]]:
    """Per separable rule that some placement asks (and `training`, always): the packed
    sets of volunteers passing it, one row per class of placements, and each placement's
    class. Row `cls[pi]` is `RequirementIndex.placement_masks(pi)[rule]`; few placements
    differ in a rule's requirements, so this is much less than a row per placement.
    Built once per requirement index."""
    classes = _rule_classes(c)
    cached = c.cache.get("rule_class_masks")
    if isinstance(cached, _ClassMasks) and cached.classes is classes:
        return cached.masks
    mat = classes.index.mat
    out: dict[str, tuple[U64, NDArray[np.intp]]] = {}
    for rule, (rows, cls) in classes.rules.items():
        if rows.shape[1] == 0:
            continue
        masks = mat[rows[:, 0]]
        for j in range(1, rows.shape[1]):
            masks &= mat[rows[:, j]]
        out[rule] = (masks, cls)
    c.cache["rule_class_masks"] = _ClassMasks(classes, out)
    return out


def set_bits_by_row(words: U64) -> tuple[I64, I64]:
    """(row, bit position) of every set bit of a 2-D array of packed bitsets, ordered by
    row, then position."""
    r, w = np.nonzero(words)
    if r.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos, row = _set_bits(np.ascontiguousarray(words[r, w]), w, r)
    return row.astype(np.int64), pos.astype(np.int64)


def first_in_most(masks: list[U64], n: int) -> I64:
    """Per row of the 2-D packed bitsets `masks` (of `n` bits, same shape): the lowest bit
    position among those set in the most masks, i.e. `argmax` of the summed unpacked
    bits. Counts bit-sliced, 64 positions per machine word."""
    rows, words = masks[0].shape
    planes = [np.zeros((rows, words), dtype=np.uint64) for _ in range(len(masks).bit_length())]
    # the carries go to two buffers in turn (the mask itself is the first, only read)
    bufs = (np.empty((rows, words), dtype=np.uint64), np.empty((rows, words), dtype=np.uint64))
    for m in masks:
        carry = m
        for k, plane in enumerate(planes):
            nxt = np.bitwise_and(plane, carry, out=bufs[k % 2])
            plane ^= carry
            carry = nxt
    valid = np.full(words, np.iinfo(np.uint64).max, dtype=np.uint64)
    valid[n // 64 :] = 0
    if n % 64:
        valid[n // 64] = np.uint64((1 << (n % 64)) - 1)
    out = np.zeros(rows, dtype=np.int64)
    todo = np.arange(rows, dtype=np.int64)
    for t in range(len(masks), -1, -1):
        if todo.shape[0] == 0:
            break
        eq = np.broadcast_to(valid, (todo.shape[0], words)).copy()
        for j, plane in enumerate(planes):
            eq &= plane[todo] if (t >> j) & 1 else ~plane[todo]
        nz = eq != 0
        has = nz.any(axis=1)
        if not has.any():
            continue
        w = np.argmax(nz[has], axis=1)
        word = eq[has][np.arange(w.shape[0]), w]
        low = word & (~word + np.uint64(1))
        bit = np.frexp(low.astype(np.float64))[1].astype(np.int64) - 1
        out[todo[has]] = w.astype(np.int64) * 64 + bit
        todo = todo[~has]
    return out


def find_pairs(
    c: CompiledRound, first: int = 0, stop: int | None = None, count: PairCount | None = None
) -> Pairs:
    """Every pair that passes all nine hard rules, ordered by (placement, volunteer);
    only placements `first` to `stop` when given (`prepare` splits a large round
    between threads so). Raises `TooManyPairs` over the pair limit (`pair_limit`);
    given a `count` shared by the ranges of one round, leaves that to the caller, and
    returns no pairs once the count is over."""
    mine = count is None
    count = PairCount() if count is None else count
    pv, pp = _candidates(c, count, first, stop)
    if mine:
        count.check()
    if count.over:
        return Pairs(pv[:0], pp[:0], np.zeros(0, np.int64), np.zeros(0, np.int64))
    start, months, ok = schedule(c, pv, pp)
    ok &= _age_ok(c, pv, pp, start)
    ok &= _not_forbidden(c, pv, pp)
    idx = np.flatnonzero(ok)
    return Pairs(pv[idx], pp[idx], start[idx].astype(np.int64), months[idx].astype(np.int64))


def check_pair_limit(c: CompiledRound, limit: int | None = None) -> int:
    """The round's candidate pairs, counted from their bitsets without unpacking one
    (a fraction of `find_pairs`' time and none of its memory); raises `TooManyPairs`
    over `limit` (the process's `pair_limit` by default). For checking a round when it
    is submitted, long before it is solved."""
    # A count over its limit from the start only counts: no batch is unpacked.
    counted = PairCount(-1)
    _candidates(c, counted)
    count = PairCount(limit)
    count.add(counted.n)
    count.check()
    return count.n


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
