"""volmatch domain models: the round document, its validation, and the result shape."""

from volmatch.models.errors import (
    Conflict,
    ErrorItem,
    InfeasibleRound,
    InvalidRound,
    TooManyPairs,
    VolmatchError,
)
from volmatch.models.lifecycle import InvalidBackfill
from volmatch.models.load import load_round, parse_round, parse_text, round_to_dict
from volmatch.models.result import AssignmentOut, OpenSlot, Result, UnmatchedVolunteer
from volmatch.models.round import (
    Budget,
    ContinuityBonus,
    Pair,
    PairBonus,
    Placement,
    Policy,
    PreviousAssignment,
    Round,
    Volunteer,
    Weights,
)

__all__ = [
    "AssignmentOut",
    "Budget",
    "Conflict",
    "ContinuityBonus",
    "ErrorItem",
    "InfeasibleRound",
    "InvalidBackfill",
    "InvalidRound",
    "OpenSlot",
    "Pair",
    "PairBonus",
    "Placement",
    "Policy",
    "PreviousAssignment",
    "Result",
    "Round",
    "TooManyPairs",
    "UnmatchedVolunteer",
    "VolmatchError",
    "Volunteer",
    "Weights",
    "load_round",
    "parse_round",
    "parse_text",
    "round_to_dict",
]
