"""Reasons a coordinator can act on: why a pair is ineligible, why a volunteer is not
placed, why a slot stays open."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matching.compiled import CompiledRound
from matching.dates import age_on, to_days
from matching.eligibility import (
    EXACT_ON_PAIRS,
    RULES,
    Pairs,
    check_rules,
    popcount,
    requirement_index,
    unpack_members,
    volunteer_rule_table,
)
from matching.scoring import Scores
from models import Placement, Volunteer
from models.codes import CEFR_LEVELS, CEFR_RANK, country_name, language_name

I64 = NDArray[np.int64]
_MAX_LISTED = 3


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
            age = int(age_on(np.array([to_days(v.birth_date)]), np.array([to_days(s)]))[0])
            lo = p.age_min if p.age_min is not None else 0
            hi = p.age_max if p.age_max is not None else "any"
            out["age"] = f"{p.id} takes ages {lo}-{hi}; they are {age} on {s}"
    if not passed["forbidden"]:
        out["forbidden"] = f"the coordinator forbade this volunteer at {p.id}"
    return out


def _counts_sentences(counts: dict[str, int], n_other: int, other_kind: str) -> list[str]:
    """One sentence per rule that rules out some of the other side, most common first."""
    return [
        f"{n} of {n_other} {other_kind} fail the rule '{name}' ({RULES[name]})"
        for name, n in sorted(counts.items(), key=lambda t: -t[1])
        if n
    ]


def volunteers_without_pairs(c: CompiledRound, vis: Sequence[int]) -> dict[int, list[str]]:
    """Why no placement accepts each of these volunteers (who have no eligible pair)."""
    npl = c.n_placements
    out: dict[int, list[str]] = {}
    rest: list[int] = []
    for vi in vis:
        if npl == 0:
            out[vi] = ["the round has no placements"]
            continue
        v = c.volunteers[vi]
        miss = [m for m in c.round.policy.required_training if m not in v.training]
        if miss:
            out[vi] = [
                "has not completed the training every volunteer needs: "
                + ", ".join(repr(m) for m in miss)
            ]
        else:
            rest.append(vi)
    for vi in rest:
        failing = {k: ~ok for k, ok in volunteer_rule_table(c, vi).items()}
        counts = {k: int(f.sum()) for k, f in failing.items()}
        n_fail: NDArray[np.int64] = np.sum([f.astype(np.int64) for f in failing.values()], axis=0)
        reasons = [f"no placement accepts this volunteer (of {npl} placements)"]
        reasons += [_all_fail_reason(c, vi, k) for k, n in counts.items() if n == npl]
        reasons += _counts_sentences(counts, npl, "placements")
        k = min(2, npl)
        near = np.argpartition(n_fail, k - 1)[:k] if npl > k else np.arange(npl)
        near = near[np.lexsort((near, n_fail[near]))]
        for pi in near.tolist():
            details = pair_failure_details(c, vi, pi, {r: not f[pi] for r, f in failing.items()})
            reasons.append(
                f"closest: {c.placement_ids[pi]} fails only {', '.join(details)}: "
                + "; ".join(details.values())
            )
        out[vi] = reasons
    return out


def _all_fail_reason(c: CompiledRound, vi: int, rule: str) -> str:
    """A sentence for a rule that every placement fails for this volunteer."""
    v = c.volunteers[vi]
    if rule == "languages":
        asks = c.req_langs
        have = c.lang_level[vi][asks.code]
        short = (have < asks.level) & (asks.level > 0)
        lowest: dict[int, int] = {}
        for code, lv in zip(asks.code[short].tolist(), asks.level[short].tolist(), strict=True):
            lowest[code] = min(lv, lowest.get(code, 99))
        parts = [
            f"{_lang(c.languages[code])} below {CEFR_LEVELS[lv - 1]} "
            f"(has {v.languages.get(c.languages[code], 'none')})"
            for code, lv in sorted(lowest.items(), key=lambda t: c.languages[t[0]])
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


def placements_without_pairs(c: CompiledRound, pis: Sequence[int]) -> dict[int, list[str]]:
    """Why no volunteer is eligible for each of these placements.

    Counts come from the requirement bitsets (a popcount per rule, exact for every rule
    but the pair-wise ones); the pair-wise rules (dates, age, forbidden) are then
    checked on the volunteers who meet all the others.
    """
    nv = c.n_volunteers
    if nv == 0:
        return {pi: ["the pool has no volunteers"] for pi in pis}
    index = requirement_index(c)
    best_lang = c.lang_level.max(axis=0)
    separable = [r for r in RULES if r not in EXACT_ON_PAIRS]
    out: dict[int, list[str]] = {}
    for pi in pis:
        p = c.placements[pi]
        masks = index.placement_masks(pi)
        fail = {r: nv - popcount(masks[r]) if r in masks else 0 for r in separable}
        reasons = [f"no volunteer of the pool ({nv}) is eligible"]
        if fail["languages"] == nv and p.required_languages:
            reasons.append(
                "no volunteer speaks "
                + " and ".join(
                    f"{_lang(lg)} at {lv} or above (best in pool: "
                    f"{_level_name(int(best_lang[c.languages.index(lg)]))})"
                    for lg, lv in sorted(p.required_languages.items())
                )
            )
        if fail["skills"] == nv and p.required_skills:
            reasons.append(
                "no volunteer has "
                + " and ".join(f"{s} at level {lv}+" for s, lv in sorted(p.required_skills.items()))
            )
        reasons += _counts_sentences(fail, nv, "volunteers")
        every = masks["training"].copy()
        for r in separable:
            if r in masks:
                every &= masks[r]
        near = unpack_members(every, nv)
        if len(near):
            rules = check_rules(c, near, pi)
            pair_fail = {r: int((~rules[r]).sum()) for r in EXACT_ON_PAIRS}
            reasons.append(
                f"{len(near)} volunteer(s) meet every requirement but the pair-wise rules: "
                + ", ".join(f"{n} fail '{r}' ({RULES[r]})" for r, n in pair_fail.items() if n)
            )
            vi = int(near[0])
        else:
            passes = np.zeros(nv, dtype=np.int64)
            for r in separable:
                if r in masks:
                    passes += np.unpackbits(masks[r].view(np.uint8), bitorder="little")[:nv]
            vi = int(np.argmax(passes))
        details = pair_failure_details(c, vi, pi)
        reasons.append(
            f"closest: {c.volunteer_ids[vi]} fails only {', '.join(details)}: "
            + "; ".join(details.values())
        )
        out[pi] = reasons
    return out


def _level_name(rank: int) -> str:
    return CEFR_LEVELS[rank - 1] if rank > 0 else "none"


def explain_unmatched(
    c: CompiledRound, pairs: Pairs, scores: Scores, chosen: NDArray[np.intp], unmatched: I64
) -> dict[int, list[str]]:
    """Reasons for each unmatched volunteer index."""
    out: dict[int, list[str]] = {}
    if len(unmatched) == 0:
        return out
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements)
    # lowest chosen score per placement, to say what a slot went to
    low = np.full(c.n_placements, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(low, pairs.p[chosen], scores.total[chosen])
    high = np.zeros(c.n_placements, dtype=np.int64)
    np.maximum.at(high, pairs.p[chosen], scores.total[chosen])
    # volunteer-major, best score first: each volunteer's best options head its segment
    order = np.lexsort((-scores.total, pairs.v))
    v_sorted = pairs.v[order]
    starts = np.searchsorted(v_sorted, unmatched, side="left")
    ends = np.searchsorted(v_sorted, unmatched, side="right")
    no_pairs = [vi for vi, a, b in zip(unmatched.tolist(), starts, ends, strict=True) if a == b]
    out.update(volunteers_without_pairs(c, no_pairs))
    ids = c.placement_ids
    for vi, a, b in zip(unmatched.tolist(), starts.tolist(), ends.tolist(), strict=True):
        if a == b:
            continue
        parts = []
        for i in order[a : min(b, a + _MAX_LISTED)].tolist():
            pi = int(pairs.p[i])
            cap = int(c.capacity[pi])
            got = int(filled[pi])
            here = int(scores.total[i])
            if got >= cap:
                held = f"{low[pi]}" if low[pi] == high[pi] else f"{low[pi]}-{high[pi]}"
                parts.append(
                    f"{ids[pi]} (would score {here}; full, its {cap} slot(s) went to "
                    f"candidates scoring {held})"
                )
            else:
                parts.append(
                    f"{ids[pi]} (would score {here}; {cap - got} slot(s) open, kept open by a "
                    "policy rule)"
                )
        more = f" and {b - a - _MAX_LISTED} more" if b - a > _MAX_LISTED else ""
        out[vi] = [
            f"eligible for {b - a} placement(s): " + ", ".join(parts) + more,
            "placing this volunteer would lower the round's total score: the slots they "
            "fit are worth more to the round with the candidates who hold them",
        ]
    return out


def explain_open(
    c: CompiledRound, pairs: Pairs, scores: Scores, chosen: NDArray[np.intp], open_p: I64
) -> dict[int, list[str]]:
    """Reasons for each placement index that keeps open slots."""
    out: dict[int, list[str]] = {}
    if len(open_p) == 0:
        return out
    placed_at = np.full(c.n_volunteers, -1, dtype=np.int64)
    placed_at[pairs.v[chosen]] = pairs.p[chosen]
    score_at = np.zeros(c.n_volunteers, dtype=np.int64)
    score_at[pairs.v[chosen]] = scores.total[chosen]
    order = np.argsort(pairs.p, kind="stable")
    p_sorted = pairs.p[order]
    starts = np.searchsorted(p_sorted, open_p, side="left")
    ends = np.searchsorted(p_sorted, open_p, side="right")
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements)
    no_pairs = [pi for pi, a, b in zip(open_p.tolist(), starts, ends, strict=True) if a == b]
    out.update(placements_without_pairs(c, no_pairs))
    for pi, a, b in zip(open_p.tolist(), starts.tolist(), ends.tolist(), strict=True):
        if a == b:
            continue
        idx = order[a:b]
        n_elig = len(idx)
        cap = int(c.capacity[pi])
        elsewhere = [
            i for i in idx.tolist() if placed_at[pairs.v[i]] >= 0 and placed_at[pairs.v[i]] != pi
        ]
        unplaced = [i for i in idx.tolist() if placed_at[pairs.v[i]] < 0]
        reasons = []
        if n_elig < cap:
            reasons.append(f"only {n_elig} volunteer(s) are eligible for its {cap} slot(s)")
        if elsewhere:
            ex = [
                f"{c.volunteer_ids[pairs.v[i]]} at {c.placement_ids[placed_at[pairs.v[i]]]} "
                f"(scores {int(score_at[pairs.v[i]])} there, {int(scores.total[i])} here)"
                for i in elsewhere[:_MAX_LISTED]
            ]
            more = (
                f" and {len(elsewhere) - _MAX_LISTED} more" if len(elsewhere) > _MAX_LISTED else ""
            )
            reasons.append(
                f"{len(elsewhere)} eligible volunteer(s) are placed where they score more "
                "for the round: " + "; ".join(ex) + more
            )
        if unplaced:
            reasons.append(
                f"{len(unplaced)} eligible volunteer(s) stay unplaced because a policy rule "
                "keeps them out: " + _ids([c.volunteer_ids[pairs.v[i]] for i in unplaced])
            )
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
