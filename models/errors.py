"""Typed errors of the domain, each carrying the offending records."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ErrorItem:
    """One problem in a round document: which record, which field, what is wrong."""

    section: str
    """Top-level key the record sits under: `volunteers`, `placements`, `policy`, ..."""
    record: str
    """The record's `id` where it has one, else its position like `volunteers[3]`."""
    field: str
    """Dotted path of the field inside the record (`languages.fr`, `available_until`)."""
    message: str

    def __str__(self) -> str:
        where = f"{self.section} {self.record}" if self.record != self.section else self.section
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "section": self.section,
            "record": self.record,
            "field": self.field,
            "message": self.message,
        }


class VolmatchError(Exception):
    """Base class of volmatch's domain errors."""


class InvalidRound(VolmatchError):
    """A round document that breaks the contract; carries every error found at once."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        self.errors: list[ErrorItem] = list(errors)
        head = f"{len(self.errors)} error(s) in round"
        super().__init__(head + "".join(f"\n  - {e}" for e in self.errors))


class TooManyPairs(InvalidRound):
    """A round with more candidate pairs than a process may hold (the pair limit of
    `matching.pair_limit`): an input error, since a narrower round or a raised setting
    fixes it; carries the count found and the limit."""

    def __init__(self, pairs: int, limit: int, setting: str) -> None:
        self.pairs, self.limit, self.setting = pairs, limit, setting
        super().__init__(
            [
                ErrorItem(
                    "round",
                    "round",
                    "",
                    f"{pairs:,} candidate (volunteer, placement) pairs, over the limit of "
                    f"{limit:,} one round may have: narrow the round (fewer volunteers or "
                    f"placements, or needs that ask for more) or raise {setting}",
                )
            ]
        )


@dataclass(frozen=True)
class Conflict:
    """One reason a round cannot be solved as asked."""

    rule: str
    """Name of the rule (`locked`, `capacity`, `group` ...)."""
    message: str
    volunteers: tuple[str, ...] = field(default=())
    placements: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "message": self.message,
            "volunteers": list(self.volunteers),
            "placements": list(self.placements),
        }


class InfeasibleRound(VolmatchError):
    """The hard rules and the coordinator's locks cannot all hold; names the conflicts."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts: list[Conflict] = list(conflicts)
        head = f"round cannot be solved: {len(self.conflicts)} conflict(s)"
        super().__init__(head + "".join(f"\n  - {c}" for c in self.conflicts))
