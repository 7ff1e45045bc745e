"""Reasons as structured parts: a code, the records and numbers it speaks of, and the
English sentence made from them.

Every reason of a result (why a volunteer is unplaced, why a slot stays open, why a
pair was not chosen) is a `Reason`: `code` names the kind of claim, `params` hold its
records and numbers. The sentence is `render(reason)`, from one template per code, so
that the web pages can translate a reason (a translated template, the same params) and
a checker can verify the claim from its params alone. A param whose name ends in
`_parts` holds nested reasons, rendered and joined with "; " (" or " for the codes in
`OR_JOINED`, " and " for those in `AND_JOINED`); one ending in `_nth` is an ordinal
(3 -> "3rd"); a list of strings is joined with ", "; `more` beside a list says how many
it leaves out.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Hashable, Mapping
from functools import lru_cache
from typing import Any, Final

from typing_extensions import TypedDict

HARD_RULES: Final[dict[str, str]] = {
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
"""The contract's nine hard rules in its order: name -> what passing it means."""

TEMPLATES: Final[dict[str, str]] = {
    # a volunteer or a placement with nobody on the other side
    "no_placements": "the round has no placements",
    "no_volunteers": "the pool has no volunteers",
    "policy_training_missing": "has not completed the training every volunteer needs: {modules}",
    "no_placement_accepts": "no placement accepts this volunteer (of {placements} placements)",
    "all_fail_languages": "no placement accepts {language_parts}",
    "language_below": "{language} below {level} (has {has})",
    "all_fail_dates": (
        "no placement fits the availability {available_from}..{available_until} "
        "for {min_months}+ months"
    ),
    "all_fail_country": "every placement is in the volunteer's own or an excluded country",
    "all_fail_security": ("every placement needs a higher security clearance than {clearance}"),
    "all_fail_length": "no placement takes a service of {min_months}-{max_months} months",
    "all_fail_rule": "every placement fails the rule '{rule}' ({rule_text})",
    "rule_count": "{count} of {total} {side} fail the rule '{rule}' ({rule_text})",
    "closest_placement": "closest: {placement} fails only {rules}: {failure_parts}",
    "closest_volunteer": "closest: {volunteer} fails only {rules}: {failure_parts}",
    "nobody_eligible": "no volunteer of the pool ({pool}) is eligible",
    "nobody_speaks": "no volunteer speaks {language_parts}",
    "speaks_at": "{language} at {level} or above (best in pool: {best})",
    "nobody_has_skills": "no volunteer has {skill_parts}",
    "skill_at": "{skill} at level {level}+",
    "pairwise_only": (
        "{count} volunteer(s) meet every requirement but the pair-wise rules: {rule_parts}"
    ),
    "pairwise_fail": "{count} fail '{rule}' ({rule_text})",
    # why one pair is not eligible (rule -> what is missing)
    "fails_skills": "{placement} requires skills {skill_parts}",
    "skill_missing": "{skill} {level} (has {has})",
    "fails_languages": "{placement} requires {language_parts}",
    "language_missing": "{language} {level} (has {has})",
    "fails_training": "has not completed training {modules}",
    "fails_length": (
        "serves {min_months}-{max_months} months; {placement} asks {placement_min}-{placement_max}"
    ),
    "fails_dates": (
        "{placement} starts {start_earliest}..{start_latest} for at least {months} months; "
        "volunteer is available {available_from}..{available_until}"
    ),
    "fails_country_excluded": "{placement} is in {country}, which they excluded",
    "fails_country_own": (
        "{placement} is in their own country ({country}); the round is international only"
    ),
    "fails_security": "{placement} needs security clearance {level}, has {has}",
    "fails_age_no_birth_date": "{placement} has an age range and no birth date is given",
    "fails_age": "{placement} takes ages {age_min}-{age_max}; they are {age} on {start}",
    "fails_forbidden": "the coordinator forbade this volunteer at {placement}",
    # an eligible volunteer left unplaced: what placing them costs the best round
    "eligible_for": "eligible for {count} placement(s), {full} of them full",
    "tie": (
        "an equally good round places {volunteer} at {placement}, where they score "
        "{score}: {hop_parts}; {tie_break_parts}"
    ),
    "costs": (
        "placing {volunteer} anywhere lowers the round's best total by at least {cost} "
        "points; the cheapest place is {placement}, where they would score {score}: "
        "{hop_parts}"
    ),
    "tie_hard_rules": (
        "under the hard rules alone, an equally good round places {volunteer} at "
        "{placement}, where they score {score}"
    ),
    "costs_hard_rules": (
        "under the hard rules alone, placing {volunteer} anywhere lowers the best total by "
        "at least {cost} points; the cheapest place is {placement}, where they would score "
        "{score}"
    ),
    "slots_locked": (
        "every placement this volunteer is eligible for ({placements}) has its slots held "
        "by locked volunteers"
    ),
    "policy_rules": "policy rules in force: {rules}",
    # an open slot: what filling it costs the best round
    "few_eligible": "only {eligible} volunteer(s) are eligible for its {slots} slot(s)",
    "nobody_left": (
        "nobody else can come: every volunteer eligible for it is placed here or locked"
    ),
    "open_tie": "an equally good round fills one more slot: {hop_parts}; {tie_break_parts}",
    "open_costs": (
        "filling one more slot lowers the round's best total by {cost} points: {hop_parts}"
    ),
    "open_tie_hard_rules": (
        "under the hard rules alone, the best round fills {best_fill} of its {slots} "
        "slot(s) here, and an equally good one fills one more with {volunteer}, who "
        "scores {score} here"
    ),
    "open_costs_hard_rules": (
        "under the hard rules alone, the best round fills {best_fill} of its {slots} "
        "slot(s) here; filling one more lowers its total by {cost} points (the next in "
        "line: {volunteer}, who scores {score} here)"
    ),
    "nobody_left_hard_rules": (
        "under the hard rules alone, no round fills more than {best_fill} of its {slots} "
        "slot(s) here"
    ),
    "filled_under_hard_rules": (
        "under the hard rules alone, the best round fills all {slots} slot(s) here"
    ),
    "kept_out_by_rules": (
        "{count} eligible volunteer(s) are unplaced, and the policy rules keep them out: "
        "placing one here would break a rule or not raise the proven-optimal total: "
        "{volunteers}"
    ),
    "kept_out_or_gap": (
        "{count} eligible volunteer(s) are unplaced: placing one here would break a policy "
        "rule, not raise the total, or lies within the solver's remaining gap: {volunteers}"
    ),
    "slots_filled": "{filled} of {slots} slots filled",
    # the steps of a vacancy chain, and what settles a tie
    "hop_moves": "{volunteer} moves from {frm} (scores {score_from}) to {to} (scores {score_to})",
    "hop_leaves": "{volunteer} leaves {frm} (scored {score_from}) and goes unplaced",
    "hop_was_open": "{placement} had a slot open",
    "hop_enters": "{volunteer}, unplaced, comes to {to} (scores {score_to})",
    "tie_arbitrary": "between equally good rounds the solver's choice is arbitrary",
    "tie_previous": (
        "between equally good rounds volmatch keeps the most pairs of the previous "
        "assignment, then the solver's choice is arbitrary"
    ),
    # stable mode
    "stable_full": (
        "stable mode: each of the {count} placement(s) this volunteer is eligible for is "
        "full with volunteers it ranks higher: {rank_parts}"
    ),
    "stable_rank": (
        "{placement} ranks this volunteer {rank_nth} of {size}, and its lowest-ranked "
        "holder is its {worst_nth}"
    ),
    "stable_locked": "{placement}: every slot is locked",
    "stable_group_locked": (
        "a member of group {group} is locked elsewhere, so it cannot join them"
    ),
    "stable_group_no_room": (
        "no {unit} takes every member of group {group} with room for all of them"
    ),
    "stable_group_outranked": (
        "group {group} is placed together or not at all, and none of its {options} joint "
        "choice(s) kept every member among a placement's highest-ranked candidates"
    ),
    "stable_open": (
        "stable mode: its {count} other eligible volunteer(s) hold placements they rank "
        "higher or cannot come without their group: {holder_parts}"
    ),
    "stable_holds": (
        "{volunteer} holds {placement} (their {held_nth} choice; this is their {rank_nth})"
    ),
    "stable_holder_group": "{volunteer}: {group_parts}",
    # the rules solver's own reasons
    "solver": "{text}",
    # a backfill proposal (after the match)
    "declined_offer": "declined the offer at {placement}, or let it expire",
    "withdrawn_by_host": "withdrawn by the host",
    # one pair of `volmatch explain`
    "pair_assigned": "assigned here",
    "pair_tie": "not chosen: an equally good round places this volunteer here",
    "pair_tie_hard_rules": (
        "not chosen: under the hard rules alone, an equally good round places this volunteer here"
    ),
    "pair_regret": (
        "not chosen: giving this volunteer this placement lowers the round's best total by "
        "{regret} points"
    ),
    "pair_regret_hard_rules": (
        "not chosen: under the hard rules alone, giving this volunteer this placement lowers "
        "the best total by {regret} points"
    ),
    "pair_locked_out": "not possible: a lock holds this volunteer or every slot here",
}
"""The English sentence of each code; `{name}` is filled from the reason's params."""

OR_JOINED: Final = frozenset({"all_fail_languages"})
"""Codes whose nested parts read as alternatives."""

AND_JOINED: Final = frozenset({"nobody_speaks", "nobody_has_skills"})
"""Codes whose nested parts all hold together."""


class Reason(TypedDict):
    """One reason: `code`, the kind of claim (a key of `TEMPLATES`), and `params`, the
    records (ids) and numbers it is about (`*_parts` nest reasons). A plain dict, so that
    results of 100,000 volunteers carry them cheaply."""

    code: str
    params: dict[str, Any]


Gettext = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def ordinal(k: int) -> str:
    """The English ordinal of k: 1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _kinds(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `_parts` and `_nth` fields of a template."""
    names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
    return (
        tuple(n for n in names if n.endswith("_parts")),
        tuple(n for n in names if n.endswith("_nth")),
    )


_KINDS: Final = {code: _kinds(t) for code, t in TEMPLATES.items()}


def render(code: str, params: Mapping[str, Any], gettext: Gettext = _identity) -> str:
    """The sentence of one reason; `gettext` translates each template (pages)."""
    values = dict(params)
    nested, ordinals = _KINDS[code]
    for key, value in values.items():
        if type(value) is list and key not in nested:
            values[key] = ", ".join(map(str, value))
    if nested:
        joiner = " or " if code in OR_JOINED else " and " if code in AND_JOINED else "; "
        for key in nested:
            values[key] = joiner.join(
                render(p["code"], p.get("params", {}), gettext) for p in params.get(key, ())
            )
    for key in ordinals:
        values[key] = ordinal(int(params[key]))
    text = gettext(TEMPLATES[code]).format_map(values)
    more = params.get("more")
    if more:
        # the list the count belongs to is the reason's last list: say how many are left
        text += gettext(" and {more} more").format(more=more)
    return text


def part(code: str, **params: Any) -> Reason:
    """A reason of kind `code` about `params`."""
    if code not in TEMPLATES:
        raise KeyError(f"unknown reason code {code!r}")
    return {"code": code, "params": params}


def text_of(reason: Reason | Mapping[str, Any], gettext: Gettext = _identity) -> str:
    """The sentence of a reason."""
    code, params = reason["code"], reason["params"]
    if gettext is _identity and not _KINDS[code][0]:
        try:
            return _english(code, tuple(params.items()))
        except TypeError:  # a list: not hashable, rendered afresh
            pass
    return render(code, params, gettext)


@lru_cache(maxsize=1 << 14)
def _english(code: str, items: tuple[tuple[str, Hashable], ...]) -> str:
    """`render` of a reason with scalar params, remembered: a round's reasons repeat
    ("12 of 96 placements fail the rule 'dates'") across thousands of records."""
    return render(code, dict(items))
