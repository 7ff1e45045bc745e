"""Reasons a coordinator can act on: why a pair is ineligible, why a volunteer is not
placed, why a slot stays open."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.arrays import concat_ranges
from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import (
    EXACT_ON_PAIRS,
    RULES,
    Pairs,
    check_rules,
    first_in_most,
    pair_wise_rules,
    requirement_index,
    separable_rule_masks,
    set_bits_by_row,
    volunteer_rule_failures,
)
from volmatch.matching.scoring import Scores
from volmatch.models import Placement, Volunteer
from volmatch.models.codes import CEFR_LEVELS, CEFR_RANK, country_name, language_name

I64 = NDArray[np.int64]
B = NDArray[np.bool_]
_MAX_LISTED = 3
"""Options or ids a reason names before "and N more"."""


def _ids(ids: Sequence[str], limit: int = _MAX_LISTED) -> str:
    ids = list(ids)
    head = ", ".join(ids[:limit])
    return head + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _lang(code: str) -> str:
    return language_name(code).removesuffix(" (macrolanguage)")


def pair_failure_details(
    c: CompiledRound, vi: int, pi: int, passed: dict[str, bool] | None = None
) -> dict[str, str]:
    """Failed rule -> a sentence saying what is missing, for one pair (`passed`: the
    rules' verdicts where the caller has them already)."""
    v: Volunteer = c.volunteers[vi]
    p: Placement = c.placements[pi]
    if passed is None:
        passed = {k: bool(x) for k, x in check_rules(c, vi, pi).items()}
    out: dict[str, str] = {}
    if not passed["skills"]:
        miss = [
            f"{s} {lv} (has {v.skills.get(s, 0) or 'none'})"
            for s, lv in sorted(p.required_skills.items())
            if v.skills.get(s, 0) < lv
        ]
        out["skills"] = f"{p.id} requires skills " + "; ".join(miss)
    if not passed["languages"]:
        miss = [
            f"{_lang(lg)} {lv} (has {v.languages.get(lg, 'none')})"
            for lg, lv in sorted(p.required_languages.items())
            if CEFR_RANK.get(v.languages.get(lg, ""), 0) < CEFR_RANK[lv]
        ]
        out["languages"] = f"{p.id} requires " + "; ".join(miss)
    if not passed["training"]:
        need = [*c.round.policy.required_training, *p.required_training]
        miss = sorted({m for m in need if m not in v.training})
        out["training"] = "has not completed training " + ", ".join(repr(m) for m in miss)
    if not passed["length"]:
        out["length"] = (
            f"serves {v.min_months}-{v.max_months} months; {p.id} asks "
            f"{p.min_months}-{p.max_months}"
        )
    if not passed["dates"]:
        dmin = max(v.min_months, p.min_months)
        out["dates"] = (
            f"{p.id} starts {p.start_earliest}..{p.start_latest} for at least {dmin} months; "
            f"volunteer is available {v.available_from}..{v.available_until}"
        )
    if not passed["country"]:
        if p.country in v.excluded_countries:
            out["country"] = f"{p.id} is in {country_name(p.country)}, which they excluded"
        else:
            out["country"] = (
                f"{p.id} is in their own country ({country_name(p.country)}); "
                "the round is international only"
            )
    if not passed["security"]:
        out["security"] = (
            f"{p.id} needs security clearance {p.security_level}, has {v.security_clearance}"
        )
    if not passed["age"]:
        if v.birth_date is None:
            out["age"] = f"{p.id} has an age range and no birth date is given"
        else:
            s = max(p.start_earliest, v.available_from)
            b = v.birth_date  # whole years, by (month, day) as `age_on` counts them
            age = s.year - b.year - ((s.month, s.day) < (b.month, b.day))
            lo = p.age_min if p.age_min is not None else 0
            hi = p.age_max if p.age_max is not None else "any"
            out["age"] = f"{p.id} takes ages {lo}-{hi}; they are {age} on {s}"
    if not passed["forbidden"]:
        out["forbidden"] = f"the coordinator forbade this volunteer at {p.id}"
    return out


BATCH_CELLS = 1 << 19
"""Volunteer x placement cells a batch of explanations works on at once (packed bitset
words: half as many). It bounds the memory to a few MB per array whatever the round's
size, and batches that fit the processor's caches run fastest."""


def _counts_sentences(counts: dict[str, int], n_other: int, other_kind: str) -> list[str]:
    """One sentence per rule that rules out some of the other side, most common first."""
    return [
        f"{n} of {n_other} {other_kind} fail the rule '{name}' ({RULES[name]})"
        for name, n in sorted(counts.items(), key=lambda t: -t[1])
        if n
    ]


def volunteers_without_pairs(c: CompiledRound, vis: Sequence[int]) -> dict[int, list[str]]:
    """Why no placement accepts each of these volunteers (who have no eligible pair).

    The rule tables of many volunteers are built at once (`volunteer_rule_failures`), in
    batches; the two closest placements are those with the fewest failed rules, as
    `np.argpartition` picks them.
    """
    npl = c.n_placements
    out: dict[int, list[str]] = {}
    rest: list[int] = []
    required = c.round.policy.required_training
    for vi in vis:
        if npl == 0:
            out[vi] = ["the round has no placements"]
            continue
        if c.policy_trained[vi]:
            rest.append(vi)
            continue
        v = c.volunteers[vi]
        miss = [m for m in required if m not in v.training]
        if miss:
            out[vi] = [
                "has not completed the training every volunteer needs: "
                + ", ".join(repr(m) for m in miss)
            ]
        else:
            rest.append(vi)
    if not rest:
        return out
    lang_cache: dict[bytes, list[tuple[int, int]]] = {}
    batch = max(1, BATCH_CELLS // npl)
    k = min(2, npl)
    for lo in range(0, len(rest), batch):
        vs = np.asarray(rest[lo : lo + batch], dtype=np.int64)
        fails = volunteer_rule_failures(c, vs)
        counts = {r: x.tolist() for r, x in fails.counts().items()}
        n_fail = fails.n_fail()
        if npl > k:
            near = np.argpartition(n_fail, k - 1, axis=1)[:, :k]
        else:
            near = np.broadcast_to(np.arange(npl, dtype=np.int64), (len(vs), npl))
        # each row's picks by (failed rules, index)
        key = np.take_along_axis(n_fail, near, axis=1) * npl + near
        near = np.sort(key, axis=1) % npl
        rows = np.repeat(np.arange(len(vs), dtype=np.int64), k)
        passed = {r: x.tolist() for r, x in fails.passes(rows, near.ravel()).items()}
        near_l = near.tolist()
        for row, vi in enumerate(vs.tolist()):
            mine = {r: n[row] for r, n in counts.items()}
            reasons = [f"no placement accepts this volunteer (of {npl} placements)"]
            reasons += [_all_fail_reason(c, vi, r, lang_cache) for r, n in mine.items() if n == npl]
            reasons += _counts_sentences(mine, npl, "placements")
            for j, pi in enumerate(near_l[row]):
                at = row * k + j
                details = pair_failure_details(c, vi, pi, {r: x[at] for r, x in passed.items()})
                reasons.append(
                    f"closest: {c.placement_ids[pi]} fails only {', '.join(details)}: "
                    + "; ".join(details.values())
                )
            out[vi] = reasons
    return out


def _all_fail_reason(
    c: CompiledRound, vi: int, rule: str, cache: dict[bytes, list[tuple[int, int]]] | None = None
) -> str:
    """A sentence for a rule that every placement fails for this volunteer (`cache`:
    the short languages per language profile, shared by the volunteers of a batch)."""
    v = c.volunteers[vi]
    if rule == "languages":
        profile = c.lang_level[vi]
        lowest = cache.get(profile.tobytes()) if cache is not None else None
        if lowest is None:
            lowest = _short_languages(c, profile)
            if cache is not None:
                cache[profile.tobytes()] = lowest
        parts = [
            f"{_lang(c.languages[code])} below {CEFR_LEVELS[lv - 1]} "
            f"(has {v.languages.get(c.languages[code], 'none')})"
            for code, lv in lowest
        ]
        return "no placement accepts " + " or ".join(parts)
    if rule == "dates":
        return (
            f"no placement fits the availability {v.available_from}..{v.available_until} "
            f"for {v.min_months}+ months"
        )
    if rule == "country":
        return "every placement is in the volunteer's own or an excluded country"
    if rule == "security":
        return f"every placement needs a higher security clearance than {v.security_clearance}"
    if rule == "length":
        return f"no placement takes a service of {v.min_months}-{v.max_months} months"
    return f"every placement fails the rule '{rule}' ({RULES[rule]})"


def _short_languages(c: CompiledRound, profile: NDArray[np.uint8]) -> list[tuple[int, int]]:
    """(language, lowest level asked above what the profile has), by language name."""
    asks = c.req_langs
    have = profile[asks.code]
    short = (have < asks.level) & (asks.level > 0)
    lowest: dict[int, int] = {}
    for code, lv in zip(asks.code[short].tolist(), asks.level[short].tolist(), strict=True):
        lowest[code] = min(lv, lowest.get(code, 99))
    return sorted(lowest.items(), key=lambda t: c.languages[t[0]])


def placements_without_pairs(c: CompiledRound, pis: Sequence[int]) -> dict[int, list[str]]:
    """Why no volunteer is eligible for each of these placements.

    Counts come from the requirement bitsets (a popcount per rule, exact for every rule
    but the pair-wise ones); the pair-wise rules (dates, age, forbidden) are then
    checked on the volunteers who meet all the others. Placements are handled in
    batches, their rules' bitsets shared by the placements that ask the same.
    """
    nv = c.n_volunteers
    if nv == 0:
        return {pi: ["the pool has no volunteers"] for pi in pis}
    out: dict[int, list[str]] = {}
    if len(pis) == 0:
        return out
    words = requirement_index(c).words
    best_lang = c.lang_level.max(axis=0)
    separable = [r for r in RULES if r not in EXACT_ON_PAIRS]
    # the rules' volunteer sets per class of placements, with their sizes
    by_class = separable_rule_masks(c)
    present = [r for r in separable if r in by_class]
    passing = {r: np.bitwise_count(m).sum(axis=1, dtype=np.int64) for r, (m, _) in by_class.items()}
    batch = max(1, BATCH_CELLS // (2 * words))  # 2 MB per matrix: cache-sized
    all_pis = np.asarray(pis, dtype=np.int64)
    for lo in range(0, len(all_pis), batch):
        ps = all_pis[lo : lo + batch]
        n = len(ps)
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
        n_near_l, closest_l = n_near.tolist(), closest.tolist()
        for j, pi in enumerate(ps.tolist()):
            p = c.placements[pi]
            mine = {r: x[j] for r, x in fail.items()}
            reasons = [f"no volunteer of the pool ({nv}) is eligible"]
            if mine["languages"] == nv and p.required_languages:
                reasons.append(
                    "no volunteer speaks "
                    + " and ".join(
                        f"{_lang(lg)} at {lv} or above (best in pool: "
                        f"{_level_name(int(best_lang[c.languages.index(lg)]))})"
                        for lg, lv in sorted(p.required_languages.items())
                    )
                )
            if mine["skills"] == nv and p.required_skills:
                reasons.append(
                    "no volunteer has "
                    + " and ".join(
                        f"{s} at level {lv}+" for s, lv in sorted(p.required_skills.items())
                    )
                )
            reasons += _counts_sentences(mine, nv, "volunteers")
            if n_near_l[j]:
                reasons.append(
                    f"{n_near_l[j]} volunteer(s) meet every requirement but the pair-wise "
                    "rules: "
                    + ", ".join(
                        f"{x[j]} fail '{r}' ({RULES[r]})" for r, x in pair_fail.items() if x[j]
                    )
                )
            vi = closest_l[j]
            details = pair_failure_details(c, vi, pi, {r: x[j] for r, x in passed.items()})
            reasons.append(
                f"closest: {c.volunteer_ids[vi]} fails only {', '.join(details)}: "
                + "; ".join(details.values())
            )
            out[pi] = reasons
    return out


def _pair_rule_failures(
    c: CompiledRound, pv: I64, pp: I64, group: I64, n_groups: int
) -> dict[str, list[int]]:
    """Per pair-wise rule: how many of the pairs (pv, pp) of each group fail it."""
    out = {r: np.zeros(n_groups, dtype=np.int64) for r in EXACT_ON_PAIRS}
    step = max(1, BATCH_CELLS)
    for lo in range(0, len(pv), step):
        rules = pair_wise_rules(c, pv[lo : lo + step], pp[lo : lo + step])
        g = group[lo : lo + step]
        for r in EXACT_ON_PAIRS:
            out[r] += np.bincount(g[~rules[r]], minlength=n_groups)
    return {r: x.tolist() for r, x in out.items()}


def _level_name(rank: int) -> str:
    return CEFR_LEVELS[rank - 1] if rank > 0 else "none"


_TRADE_OFF = (
    "placing this volunteer would lower the round's total score: the slots they "
    "fit are worth more to the round with the candidates who hold them"
)


def _volunteer_major(pairs: Pairs, total: I64, idx: I64) -> I64:
    """The pair indices `idx` ordered by volunteer, best score first, then by index (as
    a stable `lexsort((-total, v))` orders them)."""
    if len(idx) == 0:
        return idx
    s = total[idx]
    top, bottom = int(s.max()), int(s.min())
    span = top - bottom + 1
    shift = max(len(pairs), 1).bit_length()
    if (int(pairs.v[idx].max()) + 1) * span >= 1 << (62 - shift):
        return idx[np.lexsort((-s, pairs.v[idx]))]
    # (volunteer, score from the top, index) packed in one key, sorted in place
    key = pairs.v[idx].astype(np.int64)
    key *= span
    key += top
    key -= s
    key <<= shift
    key |= idx
    key.sort()
    key &= (1 << shift) - 1
    return key


def explain_unmatched(
    c: CompiledRound, pairs: Pairs, scores: Scores, chosen: NDArray[np.intp], unmatched: I64
) -> dict[int, list[str]]:
    """Reasons for each unmatched volunteer index."""
    out: dict[int, list[str]] = {}
    if len(unmatched) == 0:
        return out
    unmatched = np.asarray(unmatched, dtype=np.int64)
    npl = c.n_placements
    filled = np.bincount(pairs.p[chosen], minlength=npl)
    # lowest chosen score per placement, to say what a slot went to
    low = np.full(npl, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(low, pairs.p[chosen], scores.total[chosen])
    high = np.zeros(npl, dtype=np.int64)
    np.maximum.at(high, pairs.p[chosen], scores.total[chosen])
    n_pairs = np.bincount(pairs.v, minlength=c.n_volunteers)[unmatched]
    out.update(volunteers_without_pairs(c, unmatched[n_pairs == 0].tolist()))
    vis = unmatched[n_pairs > 0]
    if len(vis) == 0:
        return out
    counts = n_pairs[n_pairs > 0]
    # volunteer-major, best score first: each volunteer's best options head its segment
    wanted = np.zeros(c.n_volunteers, dtype=np.bool_)
    wanted[vis] = True
    order = _volunteer_major(pairs, scores.total, np.flatnonzero(wanted[pairs.v]))
    if len(vis) > 1 and bool(np.any(vis[1:] <= vis[:-1])):
        starts = np.searchsorted(pairs.v[order], vis, side="left")
    else:  # in volunteer order: the segments follow each other
        starts = np.cumsum(counts) - counts
    shown = np.minimum(counts, _MAX_LISTED)
    best = order[concat_ranges(starts, shown)]
    del order
    best_p = pairs.p[best].astype(np.int64)
    here = scores.total[best]
    # volunteers share their best options: word each (placement, score) once
    bottom = int(here.min())
    span = int(here.max()) - bottom + 1
    _, first, which = np.unique(
        best_p * span + (here - bottom), return_index=True, return_inverse=True
    )
    ids = c.placement_ids
    texts = []
    for pi, score in zip(best_p[first].tolist(), here[first].tolist(), strict=True):
        cap = int(c.capacity[pi])
        got = int(filled[pi])
        if got >= cap:
            held = f"{low[pi]}" if low[pi] == high[pi] else f"{low[pi]}-{high[pi]}"
            texts.append(
                f"{ids[pi]} (would score {score}; full, its {cap} slot(s) went to "
                f"candidates scoring {held})"
            )
        else:
            texts.append(
                f"{ids[pi]} (would score {score}; {cap - got} slot(s) open, kept open by a "
                "policy rule)"
            )
    parts = list(map(texts.__getitem__, which.reshape(-1).tolist()))
    head = {n: f"eligible for {n} placement(s): " for n in np.unique(counts).tolist()}
    tail = {n: f" and {n - _MAX_LISTED} more" if n > _MAX_LISTED else "" for n in head}
    at = 0
    for vi, n, k in zip(vis.tolist(), counts.tolist(), shown.tolist(), strict=True):
        out[vi] = [head[n] + ", ".join(parts[at : at + k]) + tail[n], _TRADE_OFF]
        at += k
    return out


def _first_in_groups(mask: B, group_start: I64, group: I64, k: int) -> B:
    """Where `mask` holds among the first `k` of its group (groups contiguous)."""
    seen = np.cumsum(mask)
    before = np.where(group_start > 0, seen[np.maximum(group_start - 1, 0)], 0)
    out: B = mask & (seen - before[group] <= k)
    return out


def explain_open(
    c: CompiledRound, pairs: Pairs, scores: Scores, chosen: NDArray[np.intp], open_p: I64
) -> dict[int, list[str]]:
    """Reasons for each placement index that keeps open slots."""
    out: dict[int, list[str]] = {}
    if len(open_p) == 0:
        return out
    open_p = np.asarray(open_p, dtype=np.int64)
    placed_at = np.full(c.n_volunteers, -1, dtype=np.int64)
    placed_at[pairs.v[chosen]] = pairs.p[chosen]
    score_at = np.zeros(c.n_volunteers, dtype=np.int64)
    score_at[pairs.v[chosen]] = scores.total[chosen]
    # pairs come placement-major; sort (stably) only if they do not
    order: I64 | None = None
    p_sorted = pairs.p
    if len(p_sorted) > 1 and bool(np.any(p_sorted[1:] < p_sorted[:-1])):
        order = np.argsort(pairs.p, kind="stable")
        p_sorted = pairs.p[order]
    starts = np.searchsorted(p_sorted, open_p, side="left")
    ends = np.searchsorted(p_sorted, open_p, side="right")
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements)
    out.update(placements_without_pairs(c, open_p[starts == ends].tolist()))
    has = starts < ends
    ps = open_p[has]
    if len(ps) == 0:
        return out
    n_elig = (ends - starts)[has]
    pos = concat_ranges(starts[has], n_elig)
    idx = pos if order is None else order[pos]
    group = np.repeat(np.arange(len(ps), dtype=np.int64), n_elig)
    group_start = np.cumsum(n_elig) - n_elig
    pv = pairs.v[idx]
    at = placed_at[pv]
    elsewhere = (at >= 0) & (at != ps[group])
    unplaced = at < 0
    n_else = np.bincount(group[elsewhere], minlength=len(ps)).tolist()
    n_unplaced = np.bincount(group[unplaced], minlength=len(ps)).tolist()
    vids, pids = c.volunteer_ids, c.placement_ids
    ex_sel = np.flatnonzero(_first_in_groups(elsewhere, group_start, group, _MAX_LISTED))
    ex_text = [
        f"{vids[v]} at {pids[a]} (scores {s_there} there, {s_here} here)"
        for v, a, s_there, s_here in zip(
            pv[ex_sel].tolist(),
            at[ex_sel].tolist(),
            score_at[pv[ex_sel]].tolist(),
            scores.total[idx[ex_sel]].tolist(),
            strict=True,
        )
    ]
    un_sel = np.flatnonzero(_first_in_groups(unplaced, group_start, group, _MAX_LISTED))
    un_ids = [vids[v] for v in pv[un_sel].tolist()]
    ex_at = 0
    un_at = 0
    for j, (pi, n) in enumerate(zip(ps.tolist(), n_elig.tolist(), strict=True)):
        cap = int(c.capacity[pi])
        reasons = []
        if n < cap:
            reasons.append(f"only {n} volunteer(s) are eligible for its {cap} slot(s)")
        if n_else[j]:
            k = min(n_else[j], _MAX_LISTED)
            more = f" and {n_else[j] - _MAX_LISTED} more" if n_else[j] > _MAX_LISTED else ""
            reasons.append(
                f"{n_else[j]} eligible volunteer(s) are placed where they score more "
                "for the round: " + "; ".join(ex_text[ex_at : ex_at + k]) + more
            )
            ex_at += k
        if n_unplaced[j]:
            k = min(n_unplaced[j], _MAX_LISTED)
            more = f" and {n_unplaced[j] - _MAX_LISTED} more" if n_unplaced[j] > _MAX_LISTED else ""
            reasons.append(
                f"{n_unplaced[j]} eligible volunteer(s) stay unplaced because a policy rule "
                "keeps them out: " + ", ".join(un_ids[un_at : un_at + k]) + more
            )
            un_at += k
        if not reasons:
            reasons.append(f"{int(filled[pi])} of {cap} slots filled")
        out[pi] = reasons
    return out


def explain_volunteer(
    c: CompiledRound,
    pairs: Pairs,
    scores: Scores,
    chosen: NDArray[np.intp],
    vi: int,
    placements: Sequence[int] | None = None,
) -> list[dict[str, object]]:
    """For volunteer `vi` and each placement (all, or those given): the hard rules the
    pair fails, or its score and why it was or was not chosen."""
    pis = list(range(c.n_placements)) if placements is None else list(placements)
    mine = np.flatnonzero(pairs.v == vi)
    pair_at = {int(pairs.p[i]): int(i) for i in mine.tolist()}
    chosen_set = set(chosen.tolist())
    assigned = next((i for i in mine.tolist() if i in chosen_set), None)
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements)
    rows: list[dict[str, object]] = []
    for pi in pis:
        row: dict[str, object] = {"placement": c.placement_ids[pi]}
        i = pair_at.get(pi)
        if i is None:
            row["eligible"] = False
            row["failed_rules"] = pair_failure_details(c, vi, pi)
            rows.append(row)
            continue
        row["eligible"] = True
        row["score"] = int(scores.total[i])
        row["breakdown"] = scores.breakdown(i)
        if i in chosen_set:
            row["outcome"] = "assigned here"
        elif assigned is not None:
            row["outcome"] = (
                f"not chosen: assigned to {c.placement_ids[int(pairs.p[assigned])]} "
                f"(score {int(scores.total[assigned])}), which gives the round a higher total"
            )
        elif filled[pi] >= c.capacity[pi]:
            here = chosen[pairs.p[chosen] == pi]
            lo, hi = int(scores.total[here].min()), int(scores.total[here].max())
            row["outcome"] = (
                f"not chosen: its {int(c.capacity[pi])} slot(s) went to candidates scoring "
                f"{lo}-{hi}, a higher total for the round"
            )
        else:
            row["outcome"] = "not chosen: a policy rule keeps this pair out"
        rows.append(row)
    return rows
