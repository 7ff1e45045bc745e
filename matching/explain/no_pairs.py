"""Why a volunteer has no eligible placement, or a placement no eligible volunteer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import (
    EXACT_ON_PAIRS,
    RULES,
    check_rules,
    first_in_most,
    pair_wise_rules,
    requirement_index,
    separable_rule_masks,
    set_bits_by_row,
    volunteer_rule_failures,
)
from volmatch.matching.failures import language, pair_failures
from volmatch.models.codes import CEFR_LEVELS
from volmatch.models.reasons import Reason, part

I64 = NDArray[np.int64]

BATCH_CELLS = 1 << 19
"""Volunteer x placement cells a batch of explanations works on at once (packed bitset
words: half as many). It bounds the memory to a few MB per array whatever the round's
size, and batches that fit the processor's caches run fastest."""


def _rule_counts(counts: dict[str, int], total: int, side: str) -> list[Reason]:
    """One reason per rule that rules out some of the other side, most common first."""
    return [
        part("rule_count", count=n, total=total, side=side, rule=name, rule_text=RULES[name])
        for name, n in sorted(counts.items(), key=lambda t: -t[1])
        if n
    ]


def _closest(kind: str, other: str, failures: dict[str, Reason]) -> Reason:
    key = "placement" if kind == "closest_placement" else "volunteer"
    return part(kind, **{key: other}, rules=list(failures), failure_parts=list(failures.values()))


def volunteers_without_pairs(c: CompiledRound, vis: Sequence[int]) -> dict[int, list[Reason]]:
    """Why no placement accepts each of these volunteers (who have no eligible pair).

    The rule tables of many volunteers are built at once (`volunteer_rule_failures`), in
    batches; the two closest placements are those with the fewest failed rules (the
    first of equals).
    """
    npl = c.n_placements
    out: dict[int, list[Reason]] = {}
    rest: list[int] = []
    required = c.round.policy.required_training
    # one reason per set of missing modules, shared by the volunteers who miss them
    # (thousands of a large round miss the same)
    missing: dict[tuple[str, ...], Reason] = {}
    for vi in vis:
        if npl == 0:
            out[vi] = [part("no_placements")]
            continue
        miss = (
            ()
            if c.policy_trained[vi]
            else tuple(m for m in required if m not in c.volunteers[vi].training)
        )
        if miss:
            r = missing.get(miss)
            if r is None:
                r = missing[miss] = part("policy_training_missing", modules=[repr(m) for m in miss])
            out[vi] = [r]
        else:
            rest.append(vi)
    batch = max(1, BATCH_CELLS // max(npl, 1))
    lang_cache: dict[bytes, list[tuple[int, int]]] = {}
    for lo in range(0, len(rest), batch):
        out.update(_volunteer_batch(c, np.asarray(rest[lo : lo + batch], np.int64), lang_cache))
    return out


def _volunteer_batch(
    c: CompiledRound, vs: I64, lang_cache: dict[bytes, list[tuple[int, int]]]
) -> dict[int, list[Reason]]:
    npl = c.n_placements
    k = min(2, npl)
    fails = volunteer_rule_failures(c, vs)
    counts = {r: x.tolist() for r, x in fails.counts().items()}
    n_fail = fails.n_fail()
    # each row's k picks by (failed rules, index): the first least, k times, each
    # struck off once picked
    near = np.empty((len(vs), k), dtype=np.int64)
    rows = np.arange(len(vs), dtype=np.int64)
    for j in range(k):
        near[:, j] = n_fail.argmin(axis=1)
        n_fail[rows, near[:, j]] = np.iinfo(n_fail.dtype).max
    rows = np.repeat(rows, k)
    passed = {r: x.tolist() for r, x in fails.passes(rows, near.ravel()).items()}
    near_l = near.tolist()
    out: dict[int, list[Reason]] = {}
    for row, vi in enumerate(vs.tolist()):
        mine = {r: n[row] for r, n in counts.items()}
        reasons = [part("no_placement_accepts", placements=npl)]
        reasons += [_all_fail(c, vi, r, lang_cache) for r, n in mine.items() if n == npl]
        reasons += _rule_counts(mine, npl, "placements")
        for j, pi in enumerate(near_l[row]):
            at = row * k + j
            failures = pair_failures(c, vi, pi, {r: x[at] for r, x in passed.items()})
            reasons.append(_closest("closest_placement", c.placement_ids[pi], failures))
        out[vi] = reasons
    return out


def _all_fail(
    c: CompiledRound, vi: int, rule: str, cache: dict[bytes, list[tuple[int, int]]]
) -> Reason:
    """The reason for a rule that every placement fails for this volunteer (`cache`: the
    short languages per language profile, shared by the volunteers of a batch)."""
    v = c.volunteers[vi]
    if rule == "languages":
        profile = c.lang_level[vi]
        lowest = cache.get(profile.tobytes())
        if lowest is None:
            lowest = cache[profile.tobytes()] = _short_languages(c, profile)
        return part(
            "all_fail_languages",
            language_parts=[
                part(
                    "language_below",
                    language=language(c.languages[code]),
                    level=CEFR_LEVELS[lv - 1],
                    has=v.languages.get(c.languages[code], "none"),
                )
                for code, lv in lowest
            ],
        )
    if rule == "dates":
        return part(
            "all_fail_dates",
            available_from=str(v.available_from),
            available_until=str(v.available_until),
            min_months=v.min_months,
        )
    if rule == "country":
        return part("all_fail_country")
    if rule == "security":
        return part("all_fail_security", clearance=v.security_clearance)
    if rule == "length":
        return part("all_fail_length", min_months=v.min_months, max_months=v.max_months)
    return part("all_fail_rule", rule=rule, rule_text=RULES[rule])


def _short_languages(c: CompiledRound, profile: NDArray[np.uint8]) -> list[tuple[int, int]]:
    """(language, lowest level asked above what the profile has), by language name."""
    asks = c.req_langs
    have = profile[asks.code]
    short = (have < asks.level) & (asks.level > 0)
    lowest: dict[int, int] = {}
    for code, lv in zip(asks.code[short].tolist(), asks.level[short].tolist(), strict=True):
        lowest[code] = min(lv, lowest.get(code, 99))
    return sorted(lowest.items(), key=lambda t: c.languages[t[0]])


def placements_without_pairs(c: CompiledRound, pis: Sequence[int]) -> dict[int, list[Reason]]:
    """Why no volunteer is eligible for each of these placements.

    Counts come from the requirement bitsets (a popcount per rule, exact for every rule
    but the pair-wise ones); the pair-wise rules (dates, age, forbidden) are then
    checked on the volunteers who meet all the others. Placements are handled in
    batches, their rules' bitsets shared by the placements that ask the same.
    """
    if c.n_volunteers == 0:
        return {pi: [part("no_volunteers")] for pi in pis}
    out: dict[int, list[Reason]] = {}
    if len(pis) == 0:
        return out
    batch = max(1, BATCH_CELLS // (2 * requirement_index(c).words))  # 2 MB per matrix
    all_pis = np.asarray(pis, dtype=np.int64)
    # the rules' volunteer sets per class of placements, with their sizes
    by_class = separable_rule_masks(c)
    passing = {r: np.bitwise_count(m).sum(axis=1, dtype=np.int64) for r, (m, _) in by_class.items()}
    best_lang = c.lang_level.max(axis=0)  # the pool's best level per language
    for lo in range(0, len(all_pis), batch):
        out.update(_placement_batch(c, all_pis[lo : lo + batch], by_class, passing, best_lang))
    return out


_ClassMasks = dict[str, tuple[NDArray[np.uint64], NDArray[np.intp]]]


def _placement_batch(
    c: CompiledRound,
    ps: I64,
    by_class: _ClassMasks,
    passing: dict[str, I64],
    best_lang: NDArray[np.uint8],
) -> dict[int, list[Reason]]:
    """`placements_without_pairs` for one batch, given the rules' class masks, how many
    volunteers pass each class and the pool's best level per language."""
    nv, n = c.n_volunteers, len(ps)
    separable = [r for r in RULES if r not in EXACT_ON_PAIRS]
    present = [r for r in separable if r in by_class]
    cls = {r: by_class[r][1][ps] for r in present}
    fail = {r: (nv - passing[r][cls[r]]).tolist() if r in cls else [0] * n for r in separable}
    every = by_class[present[0]][0][cls[present[0]]]
    for r in present[1:]:
        every &= by_class[r][0][cls[r]]
    rows, members = set_bits_by_row(every)
    n_near = np.bincount(rows, minlength=n)
    closest = np.zeros(n, dtype=np.int64)
    has = n_near > 0
    closest[has] = members[np.searchsorted(rows, np.flatnonzero(has))]
    if not has.all():
        empty = np.flatnonzero(~has)
        closest[empty] = first_in_most([by_class[r][0][cls[r][empty]] for r in present], nv)
    pair_fail = _pair_rule_failures(c, members, ps[rows], rows, n)
    passed = {r: x.tolist() for r, x in check_rules(c, closest, ps).items()}
    out: dict[int, list[Reason]] = {}
    for j, (pi, near, vi) in enumerate(
        zip(ps.tolist(), n_near.tolist(), closest.tolist(), strict=True)
    ):
        p = c.placements[pi]
        mine = {r: x[j] for r, x in fail.items()}
        reasons = [part("nobody_eligible", pool=nv)]
        if mine["languages"] == nv and p.required_languages:
            reasons.append(
                part(
                    "nobody_speaks",
                    language_parts=[
                        part(
                            "speaks_at",
                            language=language(lg),
                            level=lv,
                            best=_level_name(int(best_lang[c.languages.index(lg)])),
                        )
                        for lg, lv in sorted(p.required_languages.items())
                    ],
                )
            )
        if mine["skills"] == nv and p.required_skills:
            reasons.append(
                part(
                    "nobody_has_skills",
                    skill_parts=[
                        part("skill_at", skill=s, level=lv)
                        for s, lv in sorted(p.required_skills.items())
                    ],
                )
            )
        reasons += _rule_counts(mine, nv, "volunteers")
        if near:
            reasons.append(
                part(
                    "pairwise_only",
                    count=near,
                    rule_parts=[
                        part("pairwise_fail", count=x[j], rule=r, rule_text=RULES[r])
                        for r, x in pair_fail.items()
                        if x[j]
                    ],
                )
            )
        failures = pair_failures(c, vi, pi, {r: x[j] for r, x in passed.items()})
        reasons.append(_closest("closest_volunteer", c.volunteer_ids[vi], failures))
        out[pi] = reasons
    return out


def _pair_rule_failures(
    c: CompiledRound, pv: I64, pp: I64, group: I64, n_groups: int
) -> dict[str, list[int]]:
    """Per pair-wise rule: how many of the pairs (pv, pp) of each group fail it."""
    out = {r: np.zeros(n_groups, dtype=np.int64) for r in EXACT_ON_PAIRS}
    for lo in range(0, len(pv), BATCH_CELLS):
        rules = pair_wise_rules(c, pv[lo : lo + BATCH_CELLS], pp[lo : lo + BATCH_CELLS])
        g = group[lo : lo + BATCH_CELLS]
        for r in EXACT_ON_PAIRS:
            out[r] += np.bincount(g[~rules[r]], minlength=n_groups)
    return {r: x.tolist() for r, x in out.items()}


def _level_name(rank: int) -> str:
    return CEFR_LEVELS[rank - 1] if rank > 0 else "none"
