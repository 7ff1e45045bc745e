"""Reasons in a backfill proposal, true about who declined and what was withdrawn.

The backfill round forbids every eligible pair of a declined volunteer or a withdrawn
need (`standing_round`), and the explainer reads its forbidden pairs as the
coordinator's. Where a pair is barred only because its volunteer declined or its need
was withdrawn, the reason says so; where the coordinator forbade it too, it says both.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import EXACT_ON_PAIRS
from volmatch.matching.failures import pair_failures
from volmatch.models.reasons import Reason, part


def said_truly(
    c: CompiledRound,
    reasons: list[Reason],
    placement: str,
    down: Mapping[str, str],
    forbade: Set[tuple[str, str]],
) -> list[Reason]:
    """`reasons` of the open slot at `placement` in the backfill round `c`, with its bars
    on the declined volunteers of `down` (volunteer -> the placement they declined) said
    as declines rather than as the coordinator's `forbade` pairs."""
    out: list[Reason] = []
    for r in reasons:
        code = r["code"]
        if code == "closest_volunteer" and r["params"]["volunteer"] in down:
            r = _closest(r, down, (r["params"]["volunteer"], placement) in forbade)
        elif code == "pairwise_only":
            r = _pairwise(r, _near_declined(c, placement, down, forbade))
        out.append(r)
    return out


def _closest(r: Reason, down: Mapping[str, str], forbidden_too: bool) -> Reason:
    v = r["params"]["volunteer"]
    return _barred_closest(r, "closest_declined", forbidden_too, volunteer=v, placement=down[v])


def _barred_closest(r: Reason, code: str, forbidden_too: bool, **named: str) -> Reason:
    """A closest-record reason whose forbidden rule is the backfill's bar (`code`), and
    the coordinator's forbid too where `forbidden_too`."""
    q = r["params"]
    rules = [x for x in q["rules"] if forbidden_too or x != "forbidden"]
    parts = [f for f in q["failure_parts"] if forbidden_too or f["code"] != "fails_forbidden"]
    if not rules:
        return part(code, **named)
    return part(code + "_and", **named, rules=rules, failure_parts=parts)


def said_truly_of_volunteer(
    c: CompiledRound,
    reasons: list[Reason],
    volunteer: str,
    gone: Set[str],
    forbade: Set[tuple[str, str]],
) -> list[Reason]:
    """`reasons` of unplaced `volunteer` in the backfill round `c`, with its bars on the
    withdrawn needs `gone` said as withdrawals rather than as the coordinator's
    `forbade` pairs."""
    if not any(_says_forbidden(r) for r in reasons):
        return reasons  # most unplaced volunteers: no pair tried here, none to re-check
    vi = c.vindex[volunteer]
    barred = {
        p
        for p in gone
        if (volunteer, p) not in forbade and "forbidden" in pair_failures(c, vi, c.pindex[p])
    }
    if not barred:
        return reasons
    out: list[Reason] = []
    for r in reasons:
        code, q = r["code"], r["params"]
        if code == "closest_placement" and q["placement"] in barred:
            out.append(_barred_closest(r, "closest_withdrawn", False, placement=q["placement"]))
        elif code == "all_fail_rule" and q["rule"] == "forbidden":
            continue  # the counts below say which were withdrawn and which forbidden
        elif code == "rule_count" and q["rule"] == "forbidden":
            if q["count"] > len(barred):
                out.append(part("rule_count", **{**q, "count": q["count"] - len(barred)}))
            out.append(part("rule_count_withdrawn", count=len(barred), total=q["total"]))
        else:
            out.append(r)
    return out


def _near_declined(
    c: CompiledRound, placement: str, down: Mapping[str, str], forbade: Set[tuple[str, str]]
) -> int:
    """How many declined volunteers, not forbidden here by the coordinator, fail only
    pair-wise rules at `placement` (the explainer counts them as forbidden)."""
    pi = c.pindex[placement]
    fails = [set(pair_failures(c, c.vindex[v], pi)) for v in down if (v, placement) not in forbade]
    return sum("forbidden" in f and not f - set(EXACT_ON_PAIRS) for f in fails)


def _pairwise(r: Reason, declined: int) -> Reason:
    if not declined:
        return r
    q = r["params"]
    rule_parts: list[Reason] = []
    for f in q["rule_parts"]:
        if f["params"]["rule"] == "forbidden":
            left = f["params"]["count"] - declined
            if left:
                rule_parts.append(part("pairwise_fail", **{**f["params"], "count": left}))
        else:
            rule_parts.append(f)
    rule_parts.append(part("pairwise_declined", count=declined))
    return part("pairwise_only", **{**q, "rule_parts": rule_parts})


def _says_forbidden(r: Reason) -> bool:
    q = r["params"]
    if r["code"] == "closest_placement":
        return "forbidden" in q["rules"]
    return r["code"] in ("all_fail_rule", "rule_count") and q["rule"] == "forbidden"
