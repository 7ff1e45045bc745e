"""Request and response schemas, one per use; round records reuse `models/`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from volmatch.models import Placement, Policy, Volunteer
from volmatch.models.round import HostId, LanguageCode, PlacementId, SkillCode, VolunteerId

_STRICT = ConfigDict(extra="forbid", frozen=True)

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
"""Record ids (volunteers, placements, hosts), as `volmatch.models` checks them."""
ROUND_ID_PATTERN = r"^[0-9a-f]{32}$"
"""Round ids: the service makes them (uuid4 hex)."""
KEY_ID_PATTERN = r"^[0-9a-f]{12}$"
"""API key ids: the service makes them (6 random bytes, hex)."""

HostQuery = Annotated[
    str | None,
    Query(pattern=ID_PATTERN, max_length=64, description="Only this host's placements."),
]
VolunteerQuery = Annotated[
    str, Query(pattern=ID_PATTERN, max_length=64, description="Volunteer id.")
]
PlacementQuery = Annotated[
    str | None,
    Query(pattern=ID_PATTERN, max_length=64, description="Only this placement."),
]


class HostCreate(BaseModel):
    model_config = _STRICT
    id: HostId = Field(description="Host partner id, as placements' `host` names it.")
    name: str = Field("", max_length=200, description="Display name.")


class HostPublic(BaseModel):
    id: str
    name: str
    created_at: dt.datetime


class PlacementPublic(BaseModel):
    placement: Placement
    updated_at: dt.datetime


class VolunteersUpload(BaseModel):
    """A batch of volunteers; existing ids are replaced (the pool of the next round)."""

    model_config = _STRICT
    volunteers: list[Volunteer] = Field(description="Volunteer records of the contract.")


class UploadSummary(BaseModel):
    created: list[str]
    updated: list[str]


class VolunteerPublic(BaseModel):
    volunteer: Volunteer
    updated_at: dt.datetime


class VolunteerForHost(BaseModel):
    """What a host partner sees of a volunteer matched to it: enough to prepare the
    placement, nothing more (no birth date, gender, nationality)."""

    id: str
    name: str | None
    languages: dict[LanguageCode, str]
    skills: dict[SkillCode, int]
    placement: str
    start: dt.date
    months: int


class RoundCreate(BaseModel):
    """Launch a round from a whole contract document, or from the stored pool and
    placements (a frozen snapshot taken now), optionally narrowed to some ids."""

    model_config = _STRICT
    name: str = Field("", max_length=200, description="A label for people.")
    document: dict[str, Any] | None = Field(
        None,
        description="A whole round document of the contract (volunteers, placements, "
        "policy, previous). Leave out to snapshot the stored records.",
    )
    policy: Policy | None = Field(
        None, description="With a snapshot: the round's policy (contract Policy)."
    )
    volunteers: list[VolunteerId] | None = Field(
        None, description="With a snapshot: only these stored volunteers (default all)."
    )
    placements: list[PlacementId] | None = Field(
        None, description="With a snapshot: only these stored placements (default all)."
    )
    previous_from_published: bool = Field(
        False,
        description="With a snapshot: use the latest published assignment as `previous`.",
    )


class VariantCreate(BaseModel):
    """A what-if variant: the parent round's document with policy fields replaced."""

    model_config = _STRICT
    name: str = Field("", max_length=200)
    policy: Policy = Field(
        default_factory=Policy,
        description='Policy fields to replace, e.g. {"mode": "stable"}: only the fields '
        "given replace the parent round's.",
    )


JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]


class RoundPublic(BaseModel):
    id: str
    name: str
    source: str
    parent_id: str | None
    created_at: dt.datetime
    n_volunteers: int
    n_placements: int
    status: JobStatus
    progress: dict[str, Any]
    attempts: int
    error: dict[str, Any] | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    published: bool


class PublicationPublic(BaseModel):
    round_id: str
    published_at: dt.datetime
    assignments: int


class AssignmentPublic(BaseModel):
    volunteer: str
    placement: str
    host: str
    start: dt.date
    months: int
    score: int


class ExplainOut(BaseModel):
    volunteer: str
    pairs: list[dict[str, Any]]


class KeyInfo(BaseModel):
    key_id: str
    role: str
    host_id: str | None


KeyRole = Literal["coordinator", "planner", "host"]


class ApiKeyCreate(BaseModel):
    """A new API key; `expires_in_days` unset: the key does not expire."""

    model_config = _STRICT
    role: KeyRole = Field(description="coordinator, planner or host.")
    host_id: HostId | None = Field(None, description="The host partner of a host key.")
    label: str = Field("", max_length=200, description="Who the key is for.")
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="Days until the key stops working (none: never)."
    )


class ApiKeyPublic(BaseModel):
    """An API key as listed: never its secret."""

    id: str
    role: str
    host_id: str | None
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    rotated_at: dt.datetime | None
    last_used_at: dt.datetime | None = Field(
        description="Last request with the key (written every 30 s or so)."
    )
    state: Literal["active", "revoked", "expired"]


class ApiKeyWithToken(BaseModel):
    """A created or rotated key and its token: shown this once, stored only as a hash."""

    key: ApiKeyPublic
    token: str


class ErrorItemOut(BaseModel):
    section: str = Field(description="Where the record sits: volunteers, placements, policy...")
    record: str = Field(description="The record's id, or its position.")
    field: str = Field(description="Dotted path of the field in the record.")
    message: str


class ErrorOut(BaseModel):
    """Every error answer: a message, and for 422 the errors, for 409 the conflicts."""

    detail: str
    errors: list[ErrorItemOut] | None = None
    conflicts: list[dict[str, Any]] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing, unknown or revoked API key."},
    403: {"model": ErrorOut, "description": "The key's role may not do this."},
    404: {"model": ErrorOut, "description": "No such object (or not this key's to see)."},
    409: {"model": ErrorOut, "description": "Conflicts with the object's state."},
    413: {"model": ErrorOut, "description": "Request body too large."},
    415: {"model": ErrorOut, "description": "Unsupported content type."},
    422: {
        "model": ErrorOut,
        "description": "Invalid request: every error with its record and field.",
    },
    503: {
        "model": ErrorOut,
        "description": "The database is unavailable or busy; retry "
        "after `Retry-After` seconds. Nothing was committed.",
    },
}


class ScenarioRunProgress(BaseModel):
    done: int = Field(description="Rounds solved: the base, then each variant.")
    total: int = Field(description="The base and every variant.")
    name: str = Field(description="The last one solved.")


class ScenarioRunPublic(BaseModel):
    """A what-if scenario run, solved by a job worker like a round."""

    id: str
    round_id: str = Field(description="The base round.")
    name: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    attempts: int = Field(description="Workers that claimed it (more than 1: one stopped).")
    progress: ScenarioRunProgress
    comparison: dict[str, Any] | None = Field(
        description="When done: the comparison `volmatch whatif` prints, as JSON."
    )
    errors: list[str] = Field(description="Why it failed.")
    created_at: dt.datetime
