"""What a result with rules says about them: the rules in force, the points each soft
rule costs, what each rule costs the score, groups no placement takes whole, and
placements short of their `min_fill`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.gender import missing_genders
from volmatch.matching.prepared import Prepared
from volmatch.matching.pure import has_groups
from volmatch.matching.rules.model import RulesModel
from volmatch.matching.rules.setup import RulesSetup
from volmatch.matching.rules.tiers import solve_tiers
from volmatch.models import Policy
from volmatch.models.reasons import Reason, text_of

COSTS_SHARE = 0.5
"""Share of the time limit the re-solves behind the rules' costs take, split evenly
between the rules."""
MIN_COST_SECONDS = 0.5
"""Seconds each rule's re-solve gets at least."""
RULE_COST_PAIRS = 50_000
"""Up to this many pairs, each rule's cost is measured by re-solving without it."""


def rules_active(prep: Prepared) -> list[str]:
    """The rules of this round that constrain or penalise the model."""
    policy, r = prep.compiled.round.policy, prep.compiled.round
    on = [x for x in policy.rules_in_use() if x != "max_moves"]
    if has_groups(prep):
        on.insert(0, "groups")
    if r.previous and (policy.move_cost or policy.max_moves is not None):
        on.append("moves")
    return on


def rule_costs(
    prep: Prepared, setup: RulesSetup, policy: Policy, objective: int
) -> dict[str, int | None]:
    """Score each rule costs: the objective without the rule minus the objective with
    all of them (None where the re-solve found nothing in its time, or the time limit
    left none for it)."""
    out: dict[str, int | None] = {}
    rules = rules_active(prep)
    share = max(COSTS_SHARE * policy.time_limit_s / max(len(rules), 1), MIN_COST_SECONDS)
    for k, rule in enumerate(rules):
        left = setup.seconds_left(policy)
        if left < MIN_COST_SECONDS:
            out[rule] = None
            continue
        seconds = min(share, left / (len(rules) - k))
        picked, _built, _tiers, _ = solve_tiers(prep, setup, policy, frozenset({rule}), seconds)
        if picked is None:
            out[rule] = None
            continue
        alt = int(prep.scores.total[picked].sum()) - sum(
            v
            for k, v in penalty_values(prep, setup, policy, picked).items()
            if k != rule and not (rule == "moves" and k == "moves")
        )
        out[rule] = max(0, alt - objective)
    return out


def group_reasons(prep: Prepared, built: RulesModel) -> dict[str, list[Reason]]:
    """Reasons for members of groups that no placement can take whole."""
    c = prep.compiled
    out: dict[str, list[Reason]] = {}
    unplaceable: dict[str, Reason] = built.ctx.notes.get("groups_unplaceable", {})
    for vi in np.flatnonzero(c.group >= 0).tolist():
        why = unplaceable.get(c.group_ids[int(c.group[vi])])
        if why:
            out[c.volunteer_ids[vi]] = [why]
    return out


def penalty_values(
    prep: Prepared, setup: RulesSetup, policy: Policy, picked: NDArray[np.intp]
) -> dict[str, int]:
    """Points each soft rule costs in the chosen assignment, counted directly."""
    c, pairs = prep.compiled, prep.pairs
    out: dict[str, int] = {}
    if policy.gender_balance:
        out["gender_balance"] = missing_genders(c, pairs, picked) * policy.gender_balance_penalty
    if setup.prev_pair and policy.move_cost:
        kept = set(picked.tolist())
        moved = sum(1 for i in setup.prev_pair.values() if i < 0 or i not in kept)
        out["moves"] = moved * policy.move_cost
    return out


def rule_report(
    prep: Prepared,
    setup: RulesSetup,
    policy: Policy,
    picked: NDArray[np.intp],
    built: RulesModel,
    penalty_points: dict[str, int],
) -> dict[str, Any]:
    """Per rule in use: what it cost, and what it could not keep."""
    c = prep.compiled
    report: dict[str, Any] = {}
    notes = built.ctx.notes
    for why in notes.get("groups_unplaceable", {}).values():
        report.setdefault("groups", {"unplaceable": []})["unplaceable"].append(text_of(why))
    needs: dict[int, int] = notes.get("min_fill_needs", {})
    if needs:
        got = np.bincount(prep.pairs.p[picked], minlength=c.n_placements)
        short = [
            {
                "placement": c.placement_ids[p],
                "priority": int(c.priority[p]),
                "needed": need,
                "got": int(got[p]),
            }
            for p, need in sorted(needs.items())
            if got[p] < need
        ]
        report["min_fill"] = {"placements": len(needs), "short": short}
    for rule, pts in penalty_points.items():
        report.setdefault(rule, {})["penalty"] = pts
    report["total_cost_vs_pure_optimum"] = max(
        0, setup.pure_objective - int(prep.scores.total[picked].sum())
    )
    return report
