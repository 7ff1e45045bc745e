"""The result of a round, as the contract shapes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import MemberDescriptorType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from volmatch.models.reasons import Reason

_FROZEN = ConfigDict(frozen=True, extra="forbid")

_M = TypeVar("_M", bound=BaseModel)


class AssignmentOut(BaseModel):
    """A volunteer placed at a placement, with the score and its parts."""

    model_config = _FROZEN

    volunteer: str = Field(description="Volunteer id.")
    placement: str = Field(description="Placement id.")
    score: int = Field(description="Integer score of the pair; the sum of `breakdown`.")
    start: dt.date = Field(description="First day of service.")
    months: int = Field(description="Length of service in calendar months.")
    breakdown: dict[str, int] = Field(description="Score component -> points.")


class UnmatchedVolunteer(BaseModel):
    """A volunteer left without a placement, and why."""

    model_config = _FROZEN

    volunteer: str = Field(description="Volunteer id.")
    reasons: list[str] = Field(description="Human-readable reasons, at least one.")
    cost: int | None = Field(
        default=None,
        description=(
            "The exact drop in the round's best total if this volunteer is placed at all "
            "(their least regret; 0 is a tie); null when no placement can take them."
        ),
    )
    best_placement: str | None = Field(
        default=None, description="Where placing them costs `cost`; null when nowhere."
    )
    details: list[Reason] = Field(
        default_factory=list,
        description="The reasons as structured parts (code and params), one per reason.",
    )


class OpenSlot(BaseModel):
    """Slots of a placement left open, and why."""

    model_config = _FROZEN

    placement: str = Field(description="Placement id.")
    open: int = Field(description="Number of slots left open.")
    reasons: list[str] = Field(description="Human-readable reasons, at least one.")
    cost: int | None = Field(
        default=None,
        description=(
            "The exact drop in the round's best total if one more slot is filled (0 is a "
            "tie); null when nobody eligible is left to fill it."
        ),
    )
    nearest: str | None = Field(
        default=None,
        description=(
            "The volunteer who would fill the next slot at that cost, or the eligible "
            "volunteer closest to qualifying when nobody is eligible; null when none."
        ),
    )
    details: list[Reason] = Field(
        default_factory=list,
        description="The reasons as structured parts (code and params), one per reason.",
    )


class Result(BaseModel):
    """What a matching round returns."""

    model_config = ConfigDict(frozen=True, extra="allow")

    status: Literal["optimal", "feasible", "infeasible"] = Field(
        description="optimal: proven best; feasible: a valid result, maybe not the best."
    )
    mode: Literal["optimal", "stable"] = Field(description="How the round was matched.")
    objective: int = Field(description="Sum of the assignments' scores (minus rule penalties).")
    bound: int = Field(description="Proven upper bound on the objective.")
    assignments: list[AssignmentOut] = Field(description="Who goes where, ordered by volunteer id.")
    unmatched_volunteers: list[UnmatchedVolunteer] = Field(
        description="Who is not placed, and why."
    )
    open_slots: list[OpenSlot] = Field(description="Slots left open, and why.")
    kpis: dict[str, Any] = Field(description="Key figures of the round.")
    stats: dict[str, Any] = Field(
        default_factory=dict, description="Timings (seconds) and sizes; not part of the matching."
    )


def construct_trusted(cls: type[_M], rows: Iterable[dict[str, Any]]) -> list[_M]:
    """`[cls.model_construct(**values) for values in rows]`, fast, for trusted values that
    name every field in the order the model declares them (a result built from checked
    arrays).

    It sets what `model_construct` sets (the fields, the fields set, no extra, no private
    attributes) without its per-field bookkeeping, which costs tens of microseconds per
    object: too much for 100,000 of them. Models that need more (aliases, extra fields, a
    post-init hook) get `model_construct` itself.
    """
    slots = [d for k in _SLOTS if isinstance(d := BaseModel.__dict__.get(k), MemberDescriptorType)]
    if (
        cls.model_config.get("extra") == "allow"
        or cls.__pydantic_post_init__
        or cls.__pydantic_root_model__
        or any(f.alias or f.validation_alias for f in cls.model_fields.values())
        or len(slots) != len(_SLOTS)
    ):
        return [cls.model_construct(**values) for values in rows]
    new = cls.__new__
    set_dict = object.__setattr__
    set_fields, set_extra, set_private = (d.__set__ for d in slots)
    out: list[_M] = []
    for values in rows:
        m = new(cls)
        set_dict(m, "__dict__", values)
        set_fields(m, set(values))
        set_extra(m, None)
        set_private(m, None)
        out.append(m)
    return out


_SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
