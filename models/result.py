"""The result of a round, as the contract shapes it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_FROZEN = ConfigDict(frozen=True, extra="forbid")


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


class OpenSlot(BaseModel):
    """Slots of a placement left open, and why."""

    model_config = _FROZEN

    placement: str = Field(description="Placement id.")
    open: int = Field(description="Number of slots left open.")
    reasons: list[str] = Field(description="Human-readable reasons, at least one.")


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
