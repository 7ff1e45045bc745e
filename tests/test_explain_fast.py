"""The batched explanations (`matching.explain`, `stable_reasons`, `build_result`) give
exactly what the straightforward per-volunteer / per-placement code gave.

The reference implementations below are the code as it was before it was vectorised,
kept verbatim (renamed `_ref_*`): every test compares the package against them, byte
for byte, on random and generated rounds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import volmatch.matching.explain as explain_mod
import volmatch.matching.stable.preference_lists as stable_mod
from benchmarks.generate import generate_round
from tests.strategies import MODULES, round_docs
from volmatch.api.io import result_to_json
from volmatch.matching.compiled import CompiledRound
from volmatch.matching.dates import age_on, from_days, to_days
from volmatch.matching.eligibility import (
    EXACT_ON_PAIRS,
    RULES,
    Pairs,
    check_rules,
    first_in_most,
    popcount,
    requirement_index,
    separable_rule_masks,
    set_bits_by_row,
    unpack_members,
    volunteer_rule_failures,
    volunteer_rule_table,
)
from volmatch.matching.explain import (
    _MAX_LISTED,
    _counts_sentences,
    _ids,
    _lang,
    _level_name,
    explain_open,
    explain_unmatched,
    pair_failure_details,
    placements_without_pairs,
    volunteers_without_pairs,
)
from volmatch.matching.kpis import compute_kpis
from volmatch.matching.prepared import Prepared, Progress, Solution, prepare
from volmatch.matching.scoring import Scores
from volmatch.matching.solve import solve_prepared
from volmatch.matching.stable import rankings, stable_reasons
from volmatch.matching.stable.couples import joint_lists
from volmatch.matching.stable.market import group_index
from volmatch.matching.stable.market import market as _market
from volmatch.matching.stable.preference_lists import fast_rankings as _reason_rankings
from volmatch.matching.stable.reasons import _nth
from volmatch.matching.to_result import build_result
from volmatch.models import (
    AssignmentOut,
    OpenSlot,
    Placement,
    Result,
    UnmatchedVolunteer,
    Volunteer,
    parse_round,
)
from volmatch.models.codes import CEFR_LEVELS, CEFR_RANK, country_name

I64 = NDArray[np.int64]
IP = NDArray[np.intp]

# --- the reference implementations (the code before vectorisation) ---------------------


def _ref_pair_failure_details(
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


def _ref_volunteers_without_pairs(c: CompiledRound, vis: Sequence[int]) -> dict[int, list[str]]:
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
        reasons += [_ref_all_fail_reason(c, vi, k) for k, n in counts.items() if n == npl]
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


def _ref_all_fail_reason(c: CompiledRound, vi: int, rule: str) -> str:
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


def _ref_placements_without_pairs(c: CompiledRound, pis: Sequence[int]) -> dict[int, list[str]]:
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


def _ref_explain_unmatched(
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
    out.update(_ref_volunteers_without_pairs(c, no_pairs))
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


def _ref_explain_open(
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
    out.update(_ref_placements_without_pairs(c, no_pairs))
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


def _ref_stable_reasons(
    prep: Prepared, chosen: IP
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Stable-mode reasons: why each unmatched volunteer that has eligible placements is
    unplaced, and why each placement with eligible volunteers keeps open slots.

    In a stable matching a placement keeps the candidates it ranks highest and a
    volunteer holds the best placement that keeps it, so the reasons speak of ranks, not
    of the round's total score. Volunteers and placements without any eligible partner
    are left out: `matching.explain` says why, and that holds in every mode.
    Returns (volunteer index -> reasons, placement index -> reasons).
    """
    c = prep.compiled
    rk, mk = rankings(prep), _market(prep)
    pv, pp = mk.pv, mk.pp
    held = np.full(c.n_volunteers, -1, dtype=np.int64)
    held[pv[chosen]] = chosen
    free = chosen[~mk.locked_v[pv[chosen]]]
    worst = np.full(c.n_placements, -1, dtype=np.int64)
    np.maximum.at(worst, pp[free], rk.prank[free])
    group_of = group_index(mk, c.n_volunteers)
    options = joint_lists(prep, rk, mk) if mk.groups else []
    together = c.round.policy.group_together

    def group_note(v: int) -> str:
        g = int(group_of[v])
        gid = c.group_ids[int(c.group[v])]
        if g < 0:
            return f"a member of group {gid} is locked elsewhere, so it cannot join them"
        if not options[g]:
            return (
                f"no {'placement' if together == 'placement' else 'country'} takes "
                f"every member of group {gid} with room for all of them"
            )
        return (
            f"group {gid} is placed together or not at all, and none of its "
            f"{len(options[g])} joint choice(s) kept every member among a placement's "
            "highest-ranked candidates"
        )

    why_v: dict[int, list[str]] = {}
    for v in np.flatnonzero(held < 0).tolist():
        row = rk.vorder[rk.vstart[v] : rk.vstart[v + 1]]
        if len(row) == 0:
            continue
        if mk.in_group[v]:
            why_v[v] = [group_note(v)]
            continue
        lines = []
        for i in row[:3].tolist():
            p = int(pp[i])
            name = c.placement_ids[p]
            if mk.capacity[p] <= 0:
                lines.append(f"{name}: every slot is locked")
                continue
            lines.append(
                f"{name} ranks this volunteer {_nth(int(rk.prank[i]) + 1)} of "
                f"{int(rk.pstart[p + 1] - rk.pstart[p])}, and its lowest-ranked holder is its "
                f"{_nth(int(worst[p]) + 1)}"
            )
        more = f" and {len(row) - 3} more" if len(row) > 3 else ""
        why_v[v] = [
            f"stable mode: each of the {len(row)} placement(s) this volunteer is eligible "
            "for is full with volunteers it ranks higher: " + "; ".join(lines) + more
        ]
    filled = np.bincount(pp[chosen], minlength=c.n_placements)
    why_p: dict[int, list[str]] = {}
    for p in np.flatnonzero(filled < c.capacity).tolist():
        lo, hi = int(rk.pstart[p]), int(rk.pstart[p + 1])
        col = rk.porder[lo:hi]
        col = col[held[pv[col]] != col]  # not those it holds
        if len(col) == 0:
            continue
        lines = []
        for i in col[:3].tolist():
            v = int(pv[i])
            who = c.volunteer_ids[v]
            h = int(held[v])
            if h >= 0:
                lines.append(
                    f"{who} holds {c.placement_ids[int(pp[h])]} (their "
                    f"{_nth(int(rk.vrank[h]) + 1)} choice; this is their "
                    f"{_nth(int(rk.vrank[i]) + 1)})"
                )
            else:
                lines.append(f"{who}: {group_note(v)}")
        more = f" and {len(col) - 3} more" if len(col) > 3 else ""
        why_p[p] = [
            f"stable mode: its {len(col)} other eligible volunteer(s) hold placements they "
            "rank higher or cannot come without their group: " + "; ".join(lines) + more
        ]
    return why_v, why_p


def _ref_build_result(
    prep: Prepared, sol: Solution, mode: str, progress: Progress | None = None
) -> Result:
    """Dress a solution as the contract's result, with reasons and KPIs."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    t = prep.timings
    if progress:
        progress("explain")
    t0 = time.perf_counter()
    chosen = sol.chosen
    by_volunteer = chosen[np.argsort(pairs.v[chosen], kind="stable")]
    assignments = [
        # built from checked arrays: construct without re-validating ~100k objects
        AssignmentOut.model_construct(
            volunteer=c.volunteer_ids[int(pairs.v[i])],
            placement=c.placement_ids[int(pairs.p[i])],
            score=int(scores.total[i]),
            start=from_days(int(pairs.start[i])),
            months=int(pairs.months[i]),
            breakdown=scores.breakdown(int(i)),
        )
        for i in by_volunteer.tolist()
    ]
    matched = np.zeros(c.n_volunteers, dtype=np.bool_)
    matched[pairs.v[chosen]] = True
    unmatched = np.flatnonzero(~matched)
    filled = np.bincount(pairs.p[chosen], minlength=c.n_placements)
    open_p = np.flatnonzero(filled < c.capacity)
    why_v: dict[int, list[str]] = {}
    why_p: dict[int, list[str]] = {}
    if mode == "stable":
        # ranks, not the total score, explain a stable matching; the generic reasons
        # below cover only who has no eligible partner at all
        why_v, why_p = _ref_stable_reasons(prep, chosen)
        unmatched_left = np.asarray(
            [v for v in unmatched.tolist() if v not in why_v], dtype=np.int64
        )
        open_left = np.asarray([p for p in open_p.tolist() if p not in why_p], dtype=np.int64)
    else:
        unmatched_left, open_left = unmatched, open_p
    why_v.update(_ref_explain_unmatched(c, pairs, scores, chosen, unmatched_left))
    why_p.update(_ref_explain_open(c, pairs, scores, chosen, open_left))
    # reasons the solver knows first-hand (a group no placement takes whole ...)
    extra: dict[str, Any] = dict(sol.extra)
    for vid, reasons in extra.pop("volunteer_reasons", {}).items():
        vi = c.vindex[vid]
        if vi in why_v:
            why_v[vi] = reasons + why_v[vi]
    if extra.get("rules", {}).get("active"):
        rules_note = "policy rules in force: " + ", ".join(extra["rules"]["active"])
        for vi in why_v:
            if why_v[vi][0].startswith("eligible for"):
                why_v[vi] = [*why_v[vi], rules_note]
    t["explain"] = time.perf_counter() - t0
    if progress:
        progress("kpis")
    t0 = time.perf_counter()
    kpis = compute_kpis(c, pairs.v[chosen], pairs.p[chosen], scores.total[chosen])
    kpis["eligible_pairs"] = len(pairs)
    t["kpis"] = time.perf_counter() - t0
    stats: dict[str, object] = {
        "seconds": {k: round(v, 4) for k, v in t.items()},
        "volunteers": c.n_volunteers,
        "placements": c.n_placements,
        "eligible_pairs": len(pairs),
    }
    return Result(
        status=sol.status,
        mode=mode,
        objective=sol.objective,
        bound=sol.bound,
        assignments=assignments,
        unmatched_volunteers=[
            UnmatchedVolunteer.model_construct(volunteer=c.volunteer_ids[v], reasons=why_v[v])
            for v in unmatched.tolist()
        ],
        open_slots=[
            OpenSlot.model_construct(
                placement=c.placement_ids[p],
                open=int(c.capacity[p] - filled[p]),
                reasons=why_p[p],
            )
            for p in open_p.tolist()
        ],
        kpis=kpis,
        stats=stats,
        **extra,
    )


# --- helpers ------------------------------------------------------------------------------

_SECONDS = re.compile(r"\"seconds\": (\{[^}]*\}|[0-9.e-]+)")


def _json(result: Result) -> str:
    return _SECONDS.sub('"seconds": {}', result_to_json(result))


def _tweak(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Policy variations the explanations branch on: required training, stable mode and
    side, groups."""
    pol = doc.setdefault("policy", {})
    pol["required_training"] = data.draw(st.lists(st.sampled_from(MODULES), unique=True))
    pol["mode"] = data.draw(st.sampled_from(["optimal", "stable"]))
    pol["stable_side"] = data.draw(st.sampled_from(["volunteers", "hosts"]))
    if data.draw(st.booleans()):
        for v in doc["volunteers"]:
            if data.draw(st.integers(0, 3)) == 0:
                v["group"] = f"g{data.draw(st.integers(0, 1))}"
        pol["group_together"] = data.draw(st.sampled_from(["placement", "country"]))
    return doc


def _compare(prep: Prepared, sol: Solution, mode: str) -> None:
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    chosen = sol.chosen
    assert _json(build_result(prep, sol, mode)) == _json(_ref_build_result(prep, sol, mode))
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    every_p = np.arange(c.n_placements, dtype=np.int64)
    assert explain_unmatched(c, pairs, scores, chosen, everyone) == _ref_explain_unmatched(
        c, pairs, scores, chosen, everyone
    )
    assert explain_open(c, pairs, scores, chosen, every_p) == _ref_explain_open(
        c, pairs, scores, chosen, every_p
    )
    assert volunteers_without_pairs(c, everyone.tolist()) == _ref_volunteers_without_pairs(
        c, everyone.tolist()
    )
    assert placements_without_pairs(c, every_p.tolist()) == _ref_placements_without_pairs(
        c, every_p.tolist()
    )
    if mode == "stable":
        assert stable_reasons(prep, chosen) == _ref_stable_reasons(prep, chosen)


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=80)
@given(round_docs(max_volunteers=12, max_placements=7), st.data())
def test_explanations_equal_the_reference(doc: dict[str, Any], data: st.DataObject) -> None:
    r = parse_round(_tweak(doc, data))
    prep = prepare(r)
    sol = solve_prepared(prep)
    _compare(prep, sol, r.policy.mode)


@settings(max_examples=25)
@given(round_docs(max_volunteers=12, max_placements=7), st.data())
def test_explanations_equal_the_reference_in_small_batches(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(explain_mod, "_CELLS", data.draw(st.integers(1, 40)))
        r = parse_round(_tweak(doc, data))
        prep = prepare(r)
        _compare(prep, solve_prepared(prep), r.policy.mode)


@settings(max_examples=40)
@given(round_docs(max_volunteers=12, max_placements=7))
def test_batched_rule_tables_equal_the_per_volunteer_ones(doc: dict[str, Any]) -> None:
    prep = prepare(parse_round(doc))
    c = prep.compiled
    vis = np.arange(c.n_volunteers, dtype=np.int64)[::-1]
    fails = volunteer_rule_failures(c, vis)
    counts = fails.counts()
    n_fail = fails.n_fail()
    assert n_fail.dtype == np.int64 and list(counts) == list(RULES)
    rows = np.repeat(np.arange(len(vis)), c.n_placements)
    pis = np.tile(np.arange(c.n_placements), len(vis))
    passes = fails.passes(rows, pis)
    for k, vi in enumerate(vis.tolist()):
        table = volunteer_rule_table(c, vi)
        expect = np.sum([(~t).astype(np.int64) for t in table.values()], axis=0)
        assert np.array_equal(n_fail[k], expect)
        for rule, ok in table.items():
            assert counts[rule][k] == int((~ok).sum())
            got = passes[rule][k * c.n_placements : (k + 1) * c.n_placements]
            assert np.array_equal(got, ok)
    # the placements' masks, one placement at a time and by classes
    index = requirement_index(c)
    by_class = separable_rule_masks(c)
    for pi in range(c.n_placements):
        one = index.placement_masks(pi)
        assert set(by_class) == set(one) - {"dates"}
        for rule, (masks, cls) in by_class.items():
            assert np.array_equal(masks[cls[pi]], one[rule])
    rows_, members = set_bits_by_row(np.stack([m[0] for m, _ in by_class.values()]))
    for k, (masks, _) in enumerate(by_class.values()):
        expect_m = unpack_members(masks[0], c.n_volunteers)
        assert np.array_equal(members[rows_ == k], expect_m)


@settings(max_examples=60)
@given(st.data())
def test_first_in_most_is_argmax_of_the_counts(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200))
    k = data.draw(st.integers(1, 6))
    rows = data.draw(st.integers(1, 4))
    words = (n + 63) // 64
    masks = []
    for _ in range(k):
        bits = np.array(
            data.draw(st.lists(st.booleans(), min_size=rows * n, max_size=rows * n)), dtype=bool
        ).reshape(rows, n)
        packed = np.zeros((rows, words * 8), dtype=np.uint8)
        packed[:, : (n + 7) // 8] = np.packbits(bits, axis=1, bitorder="little")
        masks.append(packed.view(np.uint64))
    got = first_in_most(masks, n)
    for r in range(rows):
        total = sum(
            np.unpackbits(m[r].view(np.uint8), bitorder="little")[:n].astype(np.int64)
            for m in masks
        )
        assert got[r] == int(np.argmax(total))


@settings(max_examples=40)
@given(round_docs(max_volunteers=12, max_placements=7))
def test_failure_details_equal_the_reference(doc: dict[str, Any]) -> None:
    c = prepare(parse_round(doc)).compiled
    for vi in range(c.n_volunteers):
        for pi in range(c.n_placements):
            assert pair_failure_details(c, vi, pi) == _ref_pair_failure_details(c, vi, pi)


@settings(max_examples=40)
@given(round_docs(max_volunteers=12, max_placements=7), st.booleans())
def test_reason_rankings_equal_the_rankings(doc: dict[str, Any], packed: bool) -> None:
    prep = prepare(parse_round(doc))
    with pytest.MonkeyPatch.context() as m:
        if not packed:  # the general path, where keys would not fit
            m.setattr(stable_mod, "_order_by_index", lambda *_: None)
        fast = _reason_rankings(prep)
    slow = rankings(prep)
    for name in ("vorder", "vstart", "vrank", "porder", "pstart", "prank"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name


def test_argpartition_of_a_batch_is_that_of_each_row() -> None:
    """The batched closest placements rely on `np.argpartition(..., axis=1)` picking, row
    by row, what it picks for the row alone (ties included), also past the small-array
    case."""
    rng = np.random.default_rng(0)
    for width in (5, 300, 3000):
        rows = rng.integers(1, 5, (40, width)).astype(np.int64)
        batch = np.argpartition(rows, 1, axis=1)[:, :2]
        for row, picked in zip(rows, batch, strict=True):
            assert np.array_equal(np.argpartition(row, 1)[:2], picked)


def test_unique_rows_is_numpys() -> None:
    from volmatch.matching.eligibility import _unique_rows

    rng = np.random.default_rng(1)
    for width, base in ((1, 7), (3, 50), (4, 2000), (6, 2000)):
        rows = rng.integers(0, base, (500, width)).astype(np.int32)
        uniq, inv = _unique_rows(rows, base)
        expect_u, expect_i = np.unique(rows, axis=0, return_inverse=True)
        assert np.array_equal(uniq, expect_u)
        assert np.array_equal(inv, expect_i.reshape(-1))


# --- generated rounds --------------------------------------------------------------------


def _generated(seed: int, rules: bool, tweak: str) -> dict[str, Any]:
    doc = generate_round(400, 80, seed=seed, rules=rules)
    pol = doc.setdefault("policy", {})
    if tweak == "forbidden":
        vids = [v["id"] for v in doc["volunteers"]]
        pids = [p["id"] for p in doc["placements"]]
        pol["forbidden"] = [
            {"volunteer": vids[i * 7 % len(vids)], "placement": pids[i * 3 % len(pids)]}
            for i in range(60)
        ]
    if tweak == "training":
        mods = sorted({m for v in doc["volunteers"] for m in v.get("training", [])})
        pol["required_training"] = mods[:2]
    if tweak == "hosts":
        pol["stable_side"] = "hosts"
    return doc


@pytest.mark.parametrize("mode", ["optimal", "stable"])
@pytest.mark.parametrize(
    ("seed", "rules", "tweak"),
    [(0, False, ""), (1, False, "forbidden"), (2, False, "training"), (3, True, "hosts")],
)
def test_generated_rounds_equal_the_reference(
    seed: int, rules: bool, tweak: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _generated(seed, rules, tweak)
    doc["policy"]["mode"] = mode
    doc["policy"]["time_limit_s"] = 5
    prep = prepare(parse_round(doc))
    sol = solve_prepared(prep)
    _compare(prep, sol, mode)
    monkeypatch.setattr(explain_mod, "_CELLS", 997)
    _compare(prep, sol, mode)


def test_result_objects_are_those_model_construct_builds() -> None:
    doc = _generated(0, False, "")
    prep = prepare(parse_round(doc))
    sol = solve_prepared(prep)
    new = build_result(prep, sol, "optimal")
    old = _ref_build_result(prep, sol, "optimal")
    for a, b in (
        (new.assignments, old.assignments),
        (new.unmatched_volunteers, old.unmatched_volunteers),
        (new.open_slots, old.open_slots),
    ):
        assert len(a) == len(b) > 0
        for x, y in zip(a, b, strict=True):
            assert type(x) is type(y)
            assert x == y
            assert x.model_fields_set == y.model_fields_set
            assert x.__pydantic_extra__ == y.__pydantic_extra__
            assert x.__pydantic_private__ == y.__pydantic_private__
            assert x.model_dump() == y.model_dump()
    assert new.model_dump(exclude={"stats"}) == old.model_dump(exclude={"stats"})


def test_construct_trusted_falls_back_where_a_model_needs_more() -> None:
    from pydantic import BaseModel, ConfigDict, Field

    from volmatch.models.result import construct_trusted

    class Aliased(BaseModel):
        model_config = ConfigDict(frozen=True)
        name: str = Field(alias="n")

    class Extra(BaseModel):
        model_config = ConfigDict(extra="allow")
        name: str

    for cls, values in ((Aliased, {"n": "x"}), (Extra, {"name": "x", "more": 1})):
        (fast,) = construct_trusted(cls, [dict(values)])
        slow = cls.model_construct(**values)
        assert fast == slow and fast.model_fields_set == slow.model_fields_set
        assert fast.model_dump_json() == slow.model_dump_json()
    (fast_u,) = construct_trusted(UnmatchedVolunteer, [{"volunteer": "V1", "reasons": ["r"]}])
    slow_u = UnmatchedVolunteer.model_construct(volunteer="V1", reasons=["r"])
    assert fast_u == slow_u and fast_u.model_fields_set == slow_u.model_fields_set
    assert fast_u.model_dump_json() == slow_u.model_dump_json()
