"""An open slot's reasons in a backfill proposal, true about who declined.

The backfill round forbids every pair of a declined volunteer (`standing_round`), and
the open-slot explainer reads its forbidden pairs as the coordinator's. Where a pair is
barred only because its volunteer declined, the reason says they declined; where the
coordinator forbade it too, it says both.
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
    q = r["params"]
    v = q["volunteer"]
    rules = [x for x in q["rules"] if forbidden_too or x != "forbidden"]
    parts = [f for f in q["failure_parts"] if forbidden_too or f["code"] != "fails_forbidden"]
    if not rules:
        return part("closest_declined", volunteer=v, placement=down[v])
    return part(
        "closest_declined_and", volunteer=v, placement=down[v], rules=rules, failure_parts=parts
    )


def _near_declined(
    c: CompiledRound, placement: str, down: Mapping[str, str], forbade: Set[tuple[str, str]]
) -> int:
    """How many declined volunteers, not forbidden here by the coordinator, fail only
    pair-wise rules at `placement` (the explainer counts them as forbidden)."""
    pi = c.pindex[placement]
    return sum(
        not set(pair_failures(c, c.vindex[v], pi)) - set(EXACT_ON_PAIRS)
        for v in down
        if (v, placement) not in forbade
    )


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
