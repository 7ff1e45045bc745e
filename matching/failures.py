"""Why one pair is not eligible: the rules it fails, each with what is missing (used by
the explanations, and by the solvers to word a lock that breaks a hard rule)."""

from __future__ import annotations

from collections.abc import Sequence

from volmatch.matching.compiled import CompiledRound, compile_round
from volmatch.matching.eligibility import check_rules
from volmatch.models import Placement, Policy, Round, Volunteer
from volmatch.models.codes import CEFR_RANK, country_name, language_name
from volmatch.models.reasons import Reason, part, text_of


def language(code: str) -> str:
    """A language's English name, without "(macrolanguage)"."""
    return language_name(code).removesuffix(" (macrolanguage)")


def pair_failures(
    c: CompiledRound, vi: int, pi: int, passed: dict[str, bool] | None = None
) -> dict[str, Reason]:
    """Failed rule -> the reason saying what is missing, for one pair (`passed`: the
    rules' verdicts where the caller has them already)."""
    v: Volunteer = c.volunteers[vi]
    p: Placement = c.placements[pi]
    if passed is None:
        passed = {k: bool(x) for k, x in check_rules(c, vi, pi).items()}
    out: dict[str, Reason] = {}
    if not passed["skills"]:
        out["skills"] = part(
            "fails_skills",
            placement=p.id,
            skill_parts=[
                part("skill_missing", skill=s, level=lv, has=v.skills.get(s, 0) or "none")
                for s, lv in sorted(p.required_skills.items())
                if v.skills.get(s, 0) < lv
            ],
        )
    if not passed["languages"]:
        out["languages"] = part(
            "fails_languages",
            placement=p.id,
            language_parts=[
                part(
                    "language_missing",
                    language=language(lg),
                    level=lv,
                    has=v.languages.get(lg, "none"),
                )
                for lg, lv in sorted(p.required_languages.items())
                if CEFR_RANK.get(v.languages.get(lg, ""), 0) < CEFR_RANK[lv]
            ],
        )
    if not passed["training"]:
        need = [*c.round.policy.required_training, *p.required_training]
        miss = sorted({m for m in need if m not in v.training})
        out["training"] = part("fails_training", modules=[repr(m) for m in miss])
    if not passed["length"]:
        out["length"] = part(
            "fails_length",
            placement=p.id,
            min_months=v.min_months,
            max_months=v.max_months,
            placement_min=p.min_months,
            placement_max=p.max_months,
        )
    if not passed["dates"]:
        out["dates"] = part(
            "fails_dates",
            placement=p.id,
            start_earliest=str(p.start_earliest),
            start_latest=str(p.start_latest),
            months=max(v.min_months, p.min_months),
            available_from=str(v.available_from),
            available_until=str(v.available_until),
        )
    if not passed["country"]:
        excluded = p.country in v.excluded_countries
        code = "fails_country_excluded" if excluded else "fails_country_own"
        out["country"] = part(code, placement=p.id, country=country_name(p.country))
    if not passed["security"]:
        out["security"] = part(
            "fails_security", placement=p.id, level=p.security_level, has=v.security_clearance
        )
    if not passed["age"]:
        out["age"] = _age_failure(v, p)
    if not passed["forbidden"]:
        out["forbidden"] = part("fails_forbidden", placement=p.id)
    return out


def failures_alone(
    v: Volunteer, placements: Sequence[Placement], policy: Policy
) -> list[dict[str, Reason]]:
    """`pair_failures` of volunteer `v` at each of `placements`, of a round with this
    policy, without compiling the round's other records: the hard rules are per pair,
    so a round of these records alone gives the same verdicts and reasons. What ties
    them to the rest of the round (preferences, rankings, locked and forbidden pairs
    of others) is left out; the forbidden pairs of `v` are kept (a hard rule)."""
    pids = {p.id for p in placements}
    alone = Round.model_construct(
        volunteers=(v.model_copy(update={"preferences": ()}),),
        placements=tuple(p.model_copy(update={"ranking": ()}) for p in placements),
        policy=policy.model_copy(
            update={
                "forbidden": tuple(
                    f for f in policy.forbidden if f.volunteer == v.id and f.placement in pids
                ),
                "locked": (),
            }
        ),
        previous=(),
    )
    c = compile_round(alone)
    return [pair_failures(c, 0, c.pindex[p.id]) for p in placements]


def _age_failure(v: Volunteer, p: Placement) -> Reason:
    if v.birth_date is None:
        return part("fails_age_no_birth_date", placement=p.id)
    s = max(p.start_earliest, v.available_from)
    b = v.birth_date  # whole years, by (month, day) as `age_on` counts them
    age = s.year - b.year - ((s.month, s.day) < (b.month, b.day))
    return part(
        "fails_age",
        placement=p.id,
        age_min=p.age_min if p.age_min is not None else 0,
        age_max=p.age_max if p.age_max is not None else "any",
        age=age,
        start=str(s),
    )


def pair_failure_details(
    c: CompiledRound, vi: int, pi: int, passed: dict[str, bool] | None = None
) -> dict[str, str]:
    """Failed rule -> a sentence saying what is missing, for one pair."""
    return {rule: text_of(r) for rule, r in pair_failures(c, vi, pi, passed).items()}
