"""The round document of the contract (`shared/DOMAIN.md`): volunteers, placements,
policy and previous assignments, as frozen pydantic models.

Per-record rules (code lists, ranges, inverted windows) live on the records; rules that
span records (unique ids, references between records) live in `models.checks` so that
the loader can report every error of a document at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

from volmatch.models import limits
from volmatch.models.assessment import check_assessment
from volmatch.models.checks import cross_record_errors
from volmatch.models.codes import CEFR_LEVELS, SDG_TARGETS, country_codes, language_codes
from volmatch.models.limits import shown

_ID_RE = re.compile(limits.ID_PATTERN)
_SLUG_RE = re.compile(limits.SLUG_PATTERN)
_SDG = frozenset(SDG_TARGETS)


def _check_id(v: str) -> str:
    # `fullmatch`: Python's `$` also matches before a final newline.
    if not _ID_RE.fullmatch(v):
        hint = " (without the spaces around it)" if _ID_RE.fullmatch(v.strip()) else ""
        raise ValueError(
            f"{shown(v)} is not a valid id{hint}: use 1-64 of letters, digits, '_', '.', '-'"
        )
    return v


def _check_country(v: str) -> str:
    if v not in country_codes():
        hint = " (codes are upper case)" if v.upper() in country_codes() else ""
        raise ValueError(f"{shown(v)} is not an ISO 3166-1 alpha-2 country code{hint}")
    return v


def _check_language(v: str) -> str:
    if v not in language_codes():
        hint = " (codes are lower case)" if v.lower() in language_codes() else ""
        raise ValueError(f"{shown(v)} is not an ISO 639-1 language code{hint}")
    return v


def _norm_cefr(v: Any) -> Any:
    # Spreadsheets and hand-written YAML often say "b2" or "Native"; the contract's
    # spelling is unambiguous, so accept any case and store the canonical one.
    if isinstance(v, str):
        s = v.strip()
        return "native" if s.lower() == "native" else s.upper()
    return v


def _check_slug(v: str) -> str:
    if not _SLUG_RE.match(v):
        raise ValueError(
            f"{shown(v)} is not a code: use lower-case letters, digits, '_' and '-'"
            + (f" (at most {limits.MAX_CODE_LENGTH})" if len(v) > limits.MAX_CODE_LENGTH else "")
        )
    return v


def _check_sdg(v: str) -> str:
    if v not in _SDG:
        raise ValueError(f"{shown(v)} is not one of the 169 SDG targets (like '17.6' or '1.a')")
    return v


def _not_below(v: int, info: ValidationInfo, low_name: str, high_name: str) -> int:
    low = info.data.get(low_name)
    if low is not None and low > v:
        raise ValueError(f"{high_name} {v} is less than {low_name} {low}")
    return v


def _native_pattern(regex: re.Pattern[str]) -> Callable[[CoreSchema], CoreSchema]:
    def twin(node: CoreSchema) -> CoreSchema:
        inner = node["schema"]
        # The inner node stripped the text or kept it as sent (ids): this one may not
        # strip it again past the model's config.
        check = core_schema.str_schema(pattern=regex.pattern, strip_whitespace=False)
        return core_schema.chain_schema([inner, check])

    return twin


def _native_member(values: Callable[[], Any]) -> Callable[[CoreSchema], CoreSchema]:
    def twin(node: CoreSchema) -> CoreSchema:
        inner = node["schema"]
        return core_schema.chain_schema([inner, core_schema.literal_schema(sorted(values()))])

    return twin


def _native_cefr(node: CoreSchema) -> CoreSchema:
    # The contract's own spelling passes without calling `_norm_cefr`; any other input
    # takes the original path (normalise, then check).
    return core_schema.union_schema([node["schema"], node], mode="left_to_right")


# Ids are not stripped (the records' other texts are): " V1" is not an id by the
# contract's pattern, and an id the service stored stripped would not be the one its
# client sent (a later GET /volunteers/%20V1 would be a 422, a PUT of " V1" replace V1).
_AS_SENT = StringConstraints(strip_whitespace=False)
Id = Annotated[str, _AS_SENT, AfterValidator(_check_id)]
VolunteerId = Annotated[str, _AS_SENT, AfterValidator(_check_id)]
PlacementId = Annotated[str, _AS_SENT, AfterValidator(_check_id)]
HostId = Annotated[str, _AS_SENT, AfterValidator(_check_id)]
CountryCode = Annotated[str, AfterValidator(_check_country)]
LanguageCode = Annotated[str, AfterValidator(_check_language)]
CefrLevel = Annotated[Literal[CEFR_LEVELS], BeforeValidator(_norm_cefr)]  # type: ignore[valid-type]
SkillCode = Annotated[str, AfterValidator(_check_slug)]
SkillLevel = Annotated[int, Field(ge=1, le=5)]
# `\S`: a code of blanks only is empty once stripped; the schema says so too.
ModuleCode = Annotated[str, Field(min_length=1, max_length=limits.MAX_CODE_LENGTH, pattern=r"\S")]
Months = Annotated[int, Field(ge=1, le=36)]
SdgTarget = Annotated[str, AfterValidator(_check_sdg)]
Gender = Literal["female", "male", "other", "undisclosed"]
Points = Annotated[int, Field(ge=0, le=limits.MAX_POINTS)]
Money = Annotated[int, Field(ge=0, le=limits.MAX_MONEY)]
NeedsAssessment = Annotated[
    dict[str, Any],
    Field(max_length=limits.MAX_ASSESSMENT_KEYS),
    AfterValidator(check_assessment),
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Volunteer(BaseModel):
    """A trained volunteer in the candidate pool of a round."""

    model_config = _FROZEN

    id: VolunteerId = Field(description="Unique within the round.")
    name: str | None = Field(
        None, max_length=limits.MAX_NAME_LENGTH, description="Personal data: never logged."
    )
    nationality: CountryCode = Field(description="ISO 3166-1 alpha-2 code.")
    gender: Gender = Field("undisclosed", description="Used for balance rules only.")
    birth_date: dt.date | None = Field(
        None, description="Needed only where a placement sets an age range."
    )
    languages: dict[LanguageCode, CefrLevel] = Field(
        default_factory=dict,
        max_length=limits.MAX_LANGUAGES,
        description="ISO 639-1 code -> CEFR level (A1..C2, native).",
    )
    skills: dict[SkillCode, SkillLevel] = Field(
        default_factory=dict, max_length=limits.MAX_SKILLS, description="Skill code -> level 1..5."
    )
    training: tuple[ModuleCode, ...] = Field(
        (), max_length=limits.MAX_TRAINING, description="Pre-deployment training modules completed."
    )
    available_from: dt.date = Field(description="First day the volunteer can start.")
    available_until: dt.date = Field(description="The whole service must end by this day.")
    min_months: Months = Field(6, description="Shortest service the volunteer commits to.")
    max_months: Months = Field(12, description="Longest service the volunteer commits to.")
    preferences: tuple[PlacementId, ...] = Field(
        (),
        max_length=limits.MAX_PREFERENCES,
        description="Ranked placement ids, first = most wanted.",
    )
    excluded_countries: tuple[CountryCode, ...] = Field(
        (), max_length=limits.MAX_COUNTRIES, description="Countries the volunteer cannot go to."
    )
    security_clearance: int = Field(
        0, ge=0, le=3, description="Highest security level the volunteer is cleared for."
    )
    group: Id | None = Field(
        None, description="Volunteers sharing a group are placed together or not at all."
    )

    # Field validators (not a model validator) so that an inverted window is reported
    # even when another field of the same record is wrong too.
    @field_validator("available_until")
    @classmethod
    def _until_after_from(cls, v: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("available_from")
        if start is not None and start > v:
            raise ValueError(f"available_until {v} is before available_from {start}")
        return v

    @field_validator("max_months")
    @classmethod
    def _max_not_below_min(cls, v: int, info: ValidationInfo) -> int:
        return _not_below(v, info, "min_months", "max_months")


class Placement(BaseModel):
    """A host partner's need: a host-community placement with its requirements."""

    model_config = _FROZEN

    id: PlacementId = Field(description="Unique within the round.")
    host: HostId = Field(description="The host partner that owns the placement.")
    title: str = Field(
        "", max_length=limits.MAX_TITLE_LENGTH, description="Short title shown to people."
    )
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 code of the host country.")
    slots: int = Field(1, ge=1, le=limits.MAX_SLOTS, description="How many volunteers it takes.")
    required_skills: dict[SkillCode, SkillLevel] = Field(
        default_factory=dict, max_length=limits.MAX_SKILLS, description="Hard minimum skill levels."
    )
    desired_skills: dict[SkillCode, SkillLevel] = Field(
        default_factory=dict, max_length=limits.MAX_SKILLS, description="Scored skill levels."
    )
    required_languages: dict[LanguageCode, CefrLevel] = Field(
        default_factory=dict,
        max_length=limits.MAX_LANGUAGES,
        description="Hard minimum CEFR levels.",
    )
    desired_languages: dict[LanguageCode, CefrLevel] = Field(
        default_factory=dict, max_length=limits.MAX_LANGUAGES, description="Scored CEFR levels."
    )
    required_training: tuple[ModuleCode, ...] = Field(
        (),
        max_length=limits.MAX_TRAINING,
        description="Modules required on top of the policy's required_training.",
    )
    start_earliest: dt.date = Field(description="Earliest day service may begin.")
    start_latest: dt.date = Field(description="Latest day service may begin.")
    min_months: Months = Field(6, description="Shortest service asked for.")
    max_months: Months = Field(12, description="Longest service asked for.")
    priority: int = Field(3, ge=1, le=5, description="Needs-assessment urgency, 5 = most urgent.")
    sdg_targets: tuple[SdgTarget, ...] = Field(
        (), max_length=limits.MAX_SDG_TARGETS, description="SDG targets served, like '17.6'."
    )
    security_level: int = Field(0, ge=0, le=3, description="Clearance a volunteer needs.")
    age_min: int | None = Field(None, ge=0, le=120, description="Minimum age at start.")
    age_max: int | None = Field(None, ge=0, le=120, description="Maximum age at start.")
    ranking: tuple[VolunteerId, ...] = Field(
        (),
        max_length=limits.MAX_RANKING,
        description="The host's own ranked preference among candidates.",
    )
    needs_assessment: NeedsAssessment | None = Field(
        None, description="Free-form assessment detail, kept and returned as given."
    )

    @model_validator(mode="before")
    @classmethod
    def _start_sets_both(cls, data: Any) -> Any:
        if isinstance(data, dict) and "start" in data:
            if "start_earliest" in data or "start_latest" in data:
                raise ValueError("give either start or start_earliest/start_latest, not both")
            data = dict(data)
            start = data.pop("start")
            data["start_earliest"] = start
            data["start_latest"] = start
        return data

    @field_validator("start_latest")
    @classmethod
    def _latest_after_earliest(cls, v: dt.date, info: ValidationInfo) -> dt.date:
        first = info.data.get("start_earliest")
        if first is not None and first > v:
            raise ValueError(f"start_latest {v} is before start_earliest {first}")
        return v

    @field_validator("max_months")
    @classmethod
    def _max_not_below_min(cls, v: int, info: ValidationInfo) -> int:
        return _not_below(v, info, "min_months", "max_months")

    @field_validator("age_max")
    @classmethod
    def _age_max_not_below_min(cls, v: int | None, info: ValidationInfo) -> int | None:
        return None if v is None else _not_below(v, info, "age_min", "age_max")


class Pair(BaseModel):
    """A volunteer-placement pair named by a coordinator (locked or forbidden)."""

    model_config = _FROZEN

    volunteer: VolunteerId = Field(description="Volunteer id.")
    placement: PlacementId = Field(description="Placement id.")


class PairBonus(BaseModel):
    """Points added to one pair's score (`continuity` in its breakdown): what outcomes of
    earlier rounds turn into (`matching.lifecycle.outcomes.apply_outcomes`)."""

    model_config = _FROZEN

    volunteer: VolunteerId = Field(description="Volunteer id.")
    placement: PlacementId = Field(description="Placement id.")
    points: int = Field(ge=1, le=100_000, description="Points added to the pair's score.")
    reason: str = Field("", max_length=500, description="Why, in plain words.")


class Weights(BaseModel):
    """Points of each score component at a perfect fit (all non-negative integers).

    A pair's score is `placed` plus, for each component, its weight times the fit in
    [0, 1] rounded to an integer. Because every assignment earns `placed`, the round's
    total is `placed x (people placed) + (sum of fit points)`: the optimum leaves one
    more person at home only when that buys more than `placed` points of fit elsewhere.
    Raise `placed` to favour placing everyone; raise the others to favour fit.
    """

    model_config = _FROZEN

    placed: int = Field(
        500,
        ge=1,
        le=limits.MAX_POINTS,
        description="Points for each volunteer placed (keeps scores > 0).",
    )
    skills: Points = Field(300, description="Skill fit: required and desired skill levels met.")
    languages: Points = Field(200, description="Language fit: required and desired levels met.")
    preference: Points = Field(200, description="Volunteer's own ranking of the placement.")
    ranking: Points = Field(100, description="Host partner's ranking of the volunteer.")
    priority: Points = Field(200, description="Urgency of the need (priority 5 = full points).")


class Budget(BaseModel):
    """The programme's money for a round: a cost per volunteer by host country."""

    model_config = _FROZEN

    total: Money = Field(description="Programme total for the round (travel + stipends).")
    cost: dict[CountryCode, Money] = Field(
        default_factory=dict,
        max_length=limits.MAX_COUNTRIES,
        description="Cost of one volunteer placed in each host country (travel + stipend).",
    )
    default_cost: Money = Field(0, description="Cost in a country missing from `cost`.")


class ContinuityBonus(BaseModel):
    """Points for a volunteer returning to a host or country where they completed well
    (outcomes of earlier rounds, `matching.lifecycle.outcomes`)."""

    model_config = _FROZEN

    host: Points = Field(
        0, description="Points for a pair at a host where the volunteer completed well."
    )
    country: Points = Field(
        0,
        description="Points for a pair in a country where the volunteer completed well "
        "(the larger of the two applies, never both).",
    )
    min_rating: int = Field(
        4, ge=1, le=5, description="Host rating at or above which a completion counts as well."
    )


ObjectiveTier = Literal["urgent_coverage", "score", "fairness"]


class Policy(BaseModel):
    """How a round is matched; every field has a default.

    The fields after `seed` are the policy rules (docs/policy-rules.md); their defaults
    change nothing, so a round that does not name them is matched on the hard rules.
    """

    model_config = _FROZEN

    mode: Literal["optimal", "stable"] = Field(
        "optimal", description="optimal: maximise total score; stable: volunteer-optimal stable."
    )
    stable_side: Literal["volunteers", "hosts"] = Field(
        "volunteers",
        description="In stable mode, whose optimal stable matching: volunteers' or hosts'.",
    )
    required_training: tuple[ModuleCode, ...] = Field(
        ("pre-deployment",),
        max_length=limits.MAX_TRAINING,
        description="Modules every deployed volunteer must have.",
    )
    international_only: bool = Field(
        True, description="Never place a volunteer in the country of their nationality."
    )
    locked: tuple[Pair, ...] = Field(
        (), max_length=limits.MAX_PAIRS, description="Pairs that must be in the result."
    )
    forbidden: tuple[Pair, ...] = Field(
        (), max_length=limits.MAX_PAIRS, description="Pairs that must not be."
    )
    weights: Weights = Field(default_factory=Weights, description="Score component weights.")
    time_limit_s: float = Field(30.0, gt=0, le=86400, description="Solver wall-clock limit.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Same document + seed = same result.")

    group_together: Literal["placement", "country"] = Field(
        "placement",
        description="Volunteers sharing a group go to the same placement, or the same country.",
    )
    max_same_nationality_per_placement: int | None = Field(
        None,
        ge=1,
        le=limits.MAX_SLOTS,
        description="At most this many volunteers of one nationality per placement.",
    )
    max_nationality_share_per_country: float | None = Field(
        None,
        gt=0,
        le=1,
        description="No nationality holds more than this share of a host country's placed "
        "volunteers, beyond `nationality_share_allowance` people.",
    )
    nationality_share_allowance: int = Field(
        1,
        ge=0,
        le=limits.MAX_COUNT,
        description="People of one nationality a country may take beyond the share.",
    )
    gender_balance: bool = Field(
        False,
        description="Placements with 2+ volunteers should hold each declared gender (female, "
        "male) the eligible pool offers; a soft rule.",
    )
    gender_balance_penalty: Points = Field(
        200, description="Points lost per placement and missing gender."
    )
    min_fill: dict[
        Annotated[int, Field(ge=1, le=5)], Annotated[int, Field(ge=1, le=limits.MAX_SLOTS)]
    ] = Field(
        default_factory=dict,
        # JSON keys are strings: say which ones read as a priority level
        json_schema_extra={"propertyNames": {"pattern": "^[1-5]$"}},
        description="Priority level -> volunteers every placement of that level gets before "
        "any placement gets more than that (e.g. {5: 1}); hard where the pool allows.",
    )
    max_per_host: int | None = Field(
        None,
        ge=1,
        le=limits.MAX_COUNT,
        description="At most this many volunteers per host partner.",
    )
    budget: Budget | None = Field(None, description="Programme budget, hard.")
    objective: tuple[ObjectiveTier, ...] = Field(
        ("score",),
        min_length=1,
        description="Objectives in priority order, each kept within `objective_tolerance` "
        "of its best before the next is optimised.",
    )
    objective_tolerance: float = Field(
        0.0, ge=0, le=1, description="Share of a tier's best value a later tier may give up."
    )
    fairness_by: Literal["nationality", "host"] = Field(
        "nationality", description="Whose worst-served outcome the fairness tier raises."
    )
    move_cost: Points = Field(
        0,
        description="Points lost per volunteer moved from their previous placement (with 0, "
        "the best total comes first and ties keep previous pairs).",
    )
    max_moves: int | None = Field(
        None,
        ge=0,
        le=limits.MAX_COUNT,
        description="At most this many previous assignments may change.",
    )
    frozen_stages: tuple[Annotated[str, Field(max_length=limits.MAX_CODE_LENGTH)], ...] = Field(
        (),
        max_length=limits.MAX_TRAINING,
        description="Previous assignments at these stages are never moved (visa, travel).",
    )
    rule_costs: bool | None = Field(
        None,
        description="Measure what each rule costs in score by re-solving without it "
        "(default: on for rounds under 50,000 eligible pairs).",
    )

    bonus: tuple[PairBonus, ...] = Field(
        (),
        max_length=limits.MAX_PAIRS,
        description="Points added to named pairs' scores (`continuity` in the breakdown), "
        "e.g. the continuity bonus from earlier rounds' outcomes.",
    )
    offer_days: int = Field(
        14, ge=1, le=365, description="Days a volunteer has to answer an offer before it expires."
    )
    continuity_bonus: ContinuityBonus | None = Field(
        None,
        description="Score bonus for returning where the volunteer completed well (needs "
        "outcomes of earlier rounds); off by default.",
    )
    exclude_skills_mismatch: bool = Field(
        False,
        description="Never repeat a volunteer-host pair that ended early for skills mismatch "
        "(needs outcomes of earlier rounds).",
    )
    host_reliability_kpi: bool = Field(
        False,
        description="Report each host's completion rate among the round's key figures "
        "(needs outcomes of earlier rounds).",
    )

    @field_validator("objective")
    @classmethod
    def _distinct_tiers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("each objective may appear once")
        return v

    def rules_in_use(self) -> list[str]:
        """Names of the policy rules this policy switches on (beyond the hard rules)."""
        on = []
        if self.max_same_nationality_per_placement is not None:
            on.append("nationality_per_placement")
        if self.max_nationality_share_per_country is not None:
            on.append("nationality_share")
        if self.gender_balance:
            on.append("gender_balance")
        if self.min_fill:
            on.append("min_fill")
        if self.max_per_host is not None:
            on.append("max_per_host")
        if self.budget is not None:
            on.append("budget")
        if self.objective != ("score",):
            on.append("objective")
        if self.max_moves is not None:
            on.append("max_moves")
        return on


class PreviousAssignment(BaseModel):
    """One assignment of the last published result, for low-disruption re-matching."""

    model_config = _FROZEN

    volunteer: VolunteerId = Field(description="Volunteer id.")
    placement: PlacementId = Field(description="Placement id.")
    score: int | None = Field(
        None, ge=-limits.MAX_SCORE, le=limits.MAX_SCORE, description="Score it had (informative)."
    )
    start: dt.date | None = Field(None, description="Start date it had.")
    months: int | None = Field(None, ge=1, le=36, description="Months it had.")
    breakdown: (
        dict[
            Annotated[str, Field(max_length=limits.MAX_CODE_LENGTH)],
            Annotated[int, Field(ge=-limits.MAX_SCORE, le=limits.MAX_SCORE)],
        ]
        | None
    ) = Field(None, max_length=limits.MAX_BREAKDOWN, description="Score breakdown it had.")
    stage: str | None = Field(
        None,
        max_length=limits.MAX_CODE_LENGTH,
        description="Where the deployment stands (e.g. `visa`, `travel_booked`).",
    )


class Round(BaseModel):
    """One matching round: the pool, the placements, the policy and the last result."""

    model_config = _FROZEN

    volunteers: tuple[Volunteer, ...] = Field(description="The candidate pool.")
    placements: tuple[Placement, ...] = Field(description="The placements on offer.")
    policy: Policy = Field(default_factory=Policy, description="How the round is matched.")
    previous: tuple[PreviousAssignment, ...] = Field(
        (), description="Last published assignment, for re-matching."
    )

    @model_validator(mode="after")
    def _cross_records(self) -> Round:
        errors = cross_record_errors(self.volunteers, self.placements, self.policy, self.previous)
        if errors:
            raise ValueError("; ".join(str(e) for e in errors))
        return self


def _unchecked(node: CoreSchema) -> CoreSchema:
    return cast(CoreSchema, node["schema"])


ORDERED_FIELDS: dict[type[BaseModel], tuple[tuple[str, str], ...]] = {
    Volunteer: (("available_from", "available_until"), ("min_months", "max_months")),
    Placement: (
        ("start_earliest", "start_latest"),
        ("min_months", "max_months"),
        ("age_min", "age_max"),
    ),
}
"""(low, high) pairs of fields that the field validators comparing two fields of a record
require in order: low <= high where both are set."""

NATIVE_TWINS: dict[Callable[..., Any], Callable[[CoreSchema], CoreSchema]] = {
    _check_id: _native_pattern(_ID_RE),
    _check_slug: _native_pattern(_SLUG_RE),
    _check_country: _native_member(country_codes),
    _check_language: _native_member(language_codes),
    _check_sdg: _native_member(lambda: _SDG),
    _norm_cefr: _native_cefr,
    # Without `start` the validator passes the record on unchanged; with it, the twin
    # rejects `start` as an unknown field (the assert below keeps that true).
    cast(Callable[..., Any], Placement._start_sets_both): _unchecked,
    # These compare two fields: their twins leave the comparison of ORDERED_FIELDS to
    # the loader, which makes it in bulk on the records built.
    cast(Callable[..., Any], Volunteer._until_after_from): _unchecked,
    cast(Callable[..., Any], Volunteer._max_not_below_min): _unchecked,
    cast(Callable[..., Any], Placement._latest_after_earliest): _unchecked,
    cast(Callable[..., Any], Placement._max_not_below_min): _unchecked,
    cast(Callable[..., Any], Placement._age_max_not_below_min): _unchecked,
}
"""Python validators of the records -> a builder of a pydantic-core schema that replaces
the validator's node (`function-after` / `function-before`) and runs in Rust.

A twin never accepts a value its validator rejects (the twins of the validators that
compare two fields excepted: a record they accept must also have its ORDERED_FIELDS in
order), accepts every value the contract spells canonically and builds the same value,
so that the loader (`models.load`) can validate whole sections with twins and validate
only the records the twins reject again with the models themselves: error messages stay
the validators' own. The checks run on the string as the model has it (stripped; ids as
sent); a Rust regex's `$` is the end of the text and the validators use `fullmatch`, so
the patterns mean the same in both engines.
"""
assert Placement.model_config.get("extra") == "forbid", "the twin of _start_sets_both needs it"
