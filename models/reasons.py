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

The templates, the hard rules' texts, the joiners and `WORDS` are marked with `N_`, so
that pybabel extracts them into the pages' catalogue (docs/pages.md): a page renders a
reason in its language with `text_of(reason, words)`, the `Words` of that language.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from typing_extensions import TypedDict


def N_(text: str) -> str:
    """A string for the pages' catalogue (pybabel's marker), itself in English."""
    return text


HARD_RULES: Final[dict[str, str]] = {
    "skills": N_("has every required skill at the level asked"),
    "languages": N_("speaks every required language at the CEFR level asked"),
    "training": N_("has completed the required training modules"),
    "length": N_("the lengths of service overlap"),
    "dates": N_("the service fits both date windows"),
    "country": N_("may be sent to the placement's country"),
    "security": N_("has the security clearance asked"),
    "age": N_("is within the placement's age range"),
    "forbidden": N_("the pair is not forbidden by the coordinator"),
}
"""The contract's nine hard rules in its order: name -> what passing it means."""

TEMPLATES: Final[dict[str, str]] = {
    # a volunteer or a placement with nobody on the other side
    "no_placements": N_("the round has no placements"),
    "no_volunteers": N_("the pool has no volunteers"),
    "policy_training_missing": N_(
        "has not completed the training every volunteer needs: {modules}"
    ),
    "no_placement_accepts": N_("no placement accepts this volunteer (of {placements} placements)"),
    "all_fail_languages": N_("no placement accepts {language_parts}"),
    "language_below": N_("{language} below {level} (has {has})"),
    "all_fail_dates": N_(
        "no placement fits the availability {available_from}..{available_until} "
        "for {min_months}+ months"
    ),
    "all_fail_country": N_("every placement is in the volunteer's own or an excluded country"),
    "all_fail_security": N_("every placement needs a higher security clearance than {clearance}"),
    "all_fail_length": N_("no placement takes a service of {min_months}-{max_months} months"),
    "all_fail_rule": N_("every placement fails the rule '{rule}' ({rule_text})"),
    "rule_count": N_("{count} of {total} {side} fail the rule '{rule}' ({rule_text})"),
    "closest_placement": N_("closest: {placement} fails only {rules}: {failure_parts}"),
    "closest_volunteer": N_("closest: {volunteer} fails only {rules}: {failure_parts}"),
    "nobody_eligible": N_("no volunteer of the pool ({pool}) is eligible"),
    "nobody_speaks": N_("no volunteer speaks {language_parts}"),
    "speaks_at": N_("{language} at {level} or above (best in pool: {best})"),
    "nobody_has_skills": N_("no volunteer has {skill_parts}"),
    "skill_at": N_("{skill} at level {level}+"),
    "pairwise_only": N_(
        "{count} volunteer(s) meet every requirement but the pair-wise rules: {rule_parts}"
    ),
    "pairwise_fail": N_("{count} fail '{rule}' ({rule_text})"),
    # why one pair is not eligible (rule -> what is missing)
    "fails_skills": N_("{placement} requires skills {skill_parts}"),
    "skill_missing": N_("{skill} {level} (has {has})"),
    "fails_languages": N_("{placement} requires {language_parts}"),
    "language_missing": N_("{language} {level} (has {has})"),
    "fails_training": N_("has not completed training {modules}"),
    "fails_length": N_(
        "serves {min_months}-{max_months} months; {placement} asks {placement_min}-{placement_max}"
    ),
    "fails_dates": N_(
        "{placement} starts {start_earliest}..{start_latest} for at least {months} months; "
        "volunteer is available {available_from}..{available_until}"
    ),
    "fails_country_excluded": N_("{placement} is in {country}, which they excluded"),
    "fails_country_own": N_(
        "{placement} is in their own country ({country}); the round is international only"
    ),
    "fails_security": N_("{placement} needs security clearance {level}, has {has}"),
    "fails_age_no_birth_date": N_("{placement} has an age range and no birth date is given"),
    "fails_age": N_("{placement} takes ages {age_min}-{age_max}; they are {age} on {start}"),
    "fails_forbidden": N_("the coordinator forbade this volunteer at {placement}"),
    # an eligible volunteer left unplaced: what placing them costs the best round
    "eligible_for": N_("eligible for {count} placement(s), {full} of them full"),
    "tie": N_(
        "an equally good round places {volunteer} at {placement}, where they score "
        "{score}: {hop_parts}; {tie_break_parts}"
    ),
    "costs": N_(
        "placing {volunteer} anywhere lowers the round's best total by at least {cost} "
        "points; the cheapest place is {placement}, where they would score {score}: "
        "{hop_parts}"
    ),
    "tie_hard_rules": N_(
        "under the hard rules alone, an equally good round places {volunteer} at "
        "{placement}, where they score {score}"
    ),
    "costs_hard_rules": N_(
        "under the hard rules alone, placing {volunteer} anywhere lowers the best total by "
        "at least {cost} points; the cheapest place is {placement}, where they would score "
        "{score}"
    ),
    "slots_locked": N_(
        "every placement this volunteer is eligible for ({placements}) has its slots held "
        "by locked volunteers"
    ),
    "policy_rules": N_("policy rules in force: {rules}"),
    # an open slot: what filling it costs the best round
    "few_eligible": N_("only {eligible} volunteer(s) are eligible for its {slots} slot(s)"),
    "nobody_left": N_(
        "nobody else can come: every volunteer eligible for it is placed here or locked"
    ),
    "open_tie": N_("an equally good round fills one more slot: {hop_parts}; {tie_break_parts}"),
    "open_costs": N_(
        "filling one more slot lowers the round's best total by {cost} points: {hop_parts}"
    ),
    "open_tie_hard_rules": N_(
        "under the hard rules alone, the best round fills {best_fill} of its {slots} "
        "slot(s) here, and an equally good one fills one more with {volunteer}, who "
        "scores {score} here"
    ),
    "open_costs_hard_rules": N_(
        "under the hard rules alone, the best round fills {best_fill} of its {slots} "
        "slot(s) here; filling one more lowers its total by {cost} points (the next in "
        "line: {volunteer}, who scores {score} here)"
    ),
    "nobody_left_hard_rules": N_(
        "under the hard rules alone, no round fills more than {best_fill} of its {slots} "
        "slot(s) here"
    ),
    "filled_under_hard_rules": N_(
        "under the hard rules alone, the best round fills all {slots} slot(s) here"
    ),
    "kept_out_by_rules": N_(
        "{count} eligible volunteer(s) are unplaced, and the policy rules keep them out: "
        "placing one here would break a rule or not raise the proven-optimal total: "
        "{volunteers}"
    ),
    "kept_out_or_gap": N_(
        "{count} eligible volunteer(s) are unplaced: placing one here would break a policy "
        "rule, not raise the total, or lies within the solver's remaining gap: {volunteers}"
    ),
    "slots_filled": N_("{filled} of {slots} slots filled"),
    # the steps of a vacancy chain, and what settles a tie
    "hop_moves": N_(
        "{volunteer} moves from {frm} (scores {score_from}) to {to} (scores {score_to})"
    ),
    "hop_leaves": N_("{volunteer} leaves {frm} (scored {score_from}) and goes unplaced"),
    "hop_was_open": N_("{placement} had a slot open"),
    "hop_enters": N_("{volunteer}, unplaced, comes to {to} (scores {score_to})"),
    "tie_arbitrary": N_("between equally good rounds the solver's choice is arbitrary"),
    "tie_previous": N_(
        "between equally good rounds volmatch keeps the most pairs of the previous "
        "assignment, then the solver's choice is arbitrary"
    ),
    # stable mode
    "stable_full": N_(
        "stable mode: each of the {count} placement(s) this volunteer is eligible for is "
        "full with volunteers it ranks higher: {rank_parts}"
    ),
    "stable_rank": N_(
        "{placement} ranks this volunteer {rank_nth} of {size}, and its lowest-ranked "
        "holder is its {worst_nth}"
    ),
    "stable_locked": N_("{placement}: every slot is locked"),
    "stable_group_locked": N_(
        "a member of group {group} is locked elsewhere, so it cannot join them"
    ),
    "stable_group_no_room": N_(
        "no {unit} takes every member of group {group} with room for all of them"
    ),
    "stable_group_outranked": N_(
        "group {group} is placed together or not at all, and none of its {options} joint "
        "choice(s) kept every member among a placement's highest-ranked candidates"
    ),
    "stable_open": N_(
        "stable mode: its {count} other eligible volunteer(s) hold placements they rank "
        "higher or cannot come without their group: {holder_parts}"
    ),
    "stable_holds": N_(
        "{volunteer} holds {placement} (their {held_nth} choice; this is their {rank_nth})"
    ),
    "stable_holder_group": N_("{volunteer}: {group_parts}"),
    # the rules solver's own reasons
    "solver": N_("{text}"),
    "group_unplaceable": N_(
        "group '{group}': no placement accepts all {count} members ({volunteers})"
    ),
    "group_unplaceable_country": N_(
        "group '{group}': no host country accepts all {count} members ({volunteers})"
    ),
    # a backfill proposal (after the match)
    "declined_offer": N_("declined the offer at {placement}, or let it expire"),
    "withdrawn_by_host": N_("withdrawn by the host"),
    # an open slot of a backfill proposal: the backfill bars declined volunteers, the
    # coordinator did not forbid them
    "closest_declined": N_(
        "closest: {volunteer}, who declined the offer at {placement}, or let it expire"
    ),
    "closest_declined_and": N_(
        "closest: {volunteer}, who declined the offer at {placement}, or let it expire, "
        "and fails {rules}: {failure_parts}"
    ),
    "pairwise_declined": N_("{count} declined their offer, or let it expire"),
    # a pending offer a backfill proposal changes (its moves)
    "backfill_host_withdrew": N_("the host withdrew {placement}"),
    "backfill_breaks_rule": N_("the offer breaks a hard rule now: {rule_parts}"),
    "backfill_offer_withdrawn": N_(
        "offer withdrawn: the slot at {placement} scores more with someone else than "
        "keeping {volunteer} there"
    ),
    "backfill_chain": N_(
        "vacancy chain: {volunteer} scores {score} at {to} against {was_score} at "
        "{placement} ({gain})"
    ),
    "backfill_chain_taken": N_(
        "vacancy chain: {volunteer} scores {score} at {to} against {was_score} at "
        "{placement} ({gain}); {taken_by} takes the slot at {placement}"
    ),
    # an unplaced volunteer of a backfill proposal: the backfill bars withdrawn needs
    "closest_withdrawn": N_("closest: {placement}, withdrawn by the host"),
    "closest_withdrawn_and": N_(
        "closest: {placement}, withdrawn by the host, and fails {rules}: {failure_parts}"
    ),
    "rule_count_withdrawn": N_("{count} of {total} placements were withdrawn by the host"),
    # one pair of `volmatch explain`
    "pair_assigned": N_("assigned here"),
    "pair_tie": N_("not chosen: an equally good round places this volunteer here"),
    "pair_tie_hard_rules": N_(
        "not chosen: under the hard rules alone, an equally good round places this volunteer here"
    ),
    "pair_regret": N_(
        "not chosen: giving this volunteer this placement lowers the round's best total by "
        "{regret} points"
    ),
    "pair_regret_hard_rules": N_(
        "not chosen: under the hard rules alone, giving this volunteer this placement lowers "
        "the best total by {regret} points"
    ),
    "pair_locked_out": N_("not possible: a lock holds this volunteer or every slot here"),
    # a re-run: why a volunteer of the previous assignment moved
    "move_breaks_rule": N_("the previous pair breaks a hard rule now: {rule_parts}"),
    "rule_failed": N_("{rule}: {failure_parts}"),
    "move_unplaced": N_(
        "unplaced: keeping them would break a policy rule or lower the round's total"
    ),
    "move_scores_higher": N_(
        "moved: the round scores higher with them at {placement} (score {score} vs {was_score})"
    ),
    "move_makes_room": N_("moved to make room that a policy rule or a better fit elsewhere needs"),
    # a what-if variant against its base: who is placed differently, and why
    "variant_removed_was_at": N_("removed in this variant; was at {placement}"),
    "variant_removed_was_unmatched": N_("removed in this variant; was unmatched"),
    "variant_new_placed": N_("new in this variant; placed at {placement} (score {score})"),
    "variant_new_unplaced": N_("new in this variant; not placed"),
    "variant_now_at": N_(
        "now at {placement} (score {score}), was at {was_placement} (score {was_score})"
    ),
    "variant_was_at": N_("was at {placement} in the base"),
    "variant_placed_at": N_("placed at {placement} (score {score})"),
    "variant_in_base": N_("in the base: {reason_parts}"),
    "variant_placement_gone": N_("{placement} is not in this variant"),
    "variant_not_eligible": N_("no longer eligible for {placement}: {failure_parts}"),
    "variant_full": N_(
        "{placement} (score {score} here) is full: its {slots} slot(s) went to {volunteers}"
    ),
    "variant_full_more": N_(
        "{placement} (score {score} here) is full: its {slots} slot(s) went to {volunteers} ..."
    ),
    "variant_higher_total": N_(
        "{now} gives the round a higher total than {placement} (score {score} here)"
    ),
    "variant_policy_keeps_out": N_(
        "a policy rule keeps them out of {placement} (score {score} here)"
    ),
}
"""The English sentence of each code; `{name}` is filled from the reason's params."""

WORDS: Final = (
    N_("none"),
    N_("any"),
    N_("placements"),
    N_("volunteers"),
    N_("placement"),
    N_("country"),
)
"""English words a param may hold (a level `has` "none", an age range up to "any", a
count's `side`, a group's `unit`): a page translates them."""

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


def _as_is(key: str, value: Any) -> Any:
    return value


def _no_count(code: str, params: Mapping[str, Any]) -> str | None:
    return None


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


@dataclass(frozen=True)
class Words:
    """How a language words the sentences: `gettext` translates a template (or a joiner,
    or one of `WORDS`), `value` writes a param (name, value) as the language does
    (numbers, names of countries and languages; ids stay as they are), `ordinal` writes
    an `_nth` param."""

    gettext: Gettext = _identity
    value: Callable[[str, Any], Any] = _as_is
    ordinal: Callable[[int], str] = ordinal
    counted: Callable[[str, Mapping[str, Any]], str | None] = _no_count
    """The template of a code whose words agree with a count in this language (French:
    "1 a refusé", "2 ont refusé"), from the code and its params; None: `gettext`'s."""


ENGLISH: Final = Words()
"""The templates' own words: the sentences of the result's `reasons`."""


def render(code: str, params: Mapping[str, Any], words: Words = ENGLISH) -> str:
    """The sentence of one reason, in `words`' language (English by default)."""
    nested, ordinals = _KINDS[code]
    if words is ENGLISH:
        values = dict(params)
    else:
        values = {k: v if k in nested else words.value(k, v) for k, v in params.items()}
    for key, value in values.items():
        if type(value) is list and key not in nested:
            values[key] = ", ".join(map(str, value))
    if nested:
        joiner = words.gettext(
            N_(" or ") if code in OR_JOINED else N_(" and ") if code in AND_JOINED else N_("; ")
        )
        for key in nested:
            # the parts' own sentences by `text_of`: in English, those with plain params
            # are remembered ("speaks French at B2" stands under many placements)
            values[key] = joiner.join(
                text_of(p if "params" in p else {**p, "params": {}}, words)
                for p in params.get(key, ())
            )
    for key in ordinals:
        values[key] = words.ordinal(int(params[key]))
    template = words.counted(code, params) or words.gettext(TEMPLATES[code])
    text = template.format_map(values)
    more = params.get("more")
    if more:
        # the list the count belongs to is the reason's last list: say how many are left
        text += words.gettext(N_(" and {more} more")).format(more=words.value("more", more))
    return text


def part(code: str, **params: Any) -> Reason:
    """A reason of kind `code` about `params`."""
    if code not in TEMPLATES:
        raise KeyError(f"unknown reason code {code!r}")
    return {"code": code, "params": params}


def text_of(reason: Reason | Mapping[str, Any], words: Words = ENGLISH) -> str:
    """The sentence of a reason, in `words`' language (English by default)."""
    code, params = reason["code"], reason["params"]
    if words is ENGLISH and not _KINDS[code][0]:
        try:
            return _english(code, tuple(params.items()))
        except TypeError:  # a list: not hashable, rendered afresh
            pass
    return render(code, params, words)


@lru_cache(maxsize=1 << 14)
def _english(code: str, items: tuple[tuple[str, Hashable], ...]) -> str:
    """`render` of a reason with scalar params, remembered: a round's reasons repeat
    ("12 of 96 placements fail the rule 'dates'") across thousands of records."""
    return render(code, dict(items))
