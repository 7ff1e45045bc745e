"""Rules that span records: unique ids and references between records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from models.errors import ErrorItem

if TYPE_CHECKING:
    from models.round import Placement, Policy, PreviousAssignment, Round, Volunteer


class _HasPreferences(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def preferences(self) -> Sequence[str]: ...


class _HasRanking(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def ranking(self) -> Sequence[str]: ...


def _duplicates(section: str, ids: Sequence[str]) -> list[ErrorItem]:
    counts = Counter(ids)
    return [
        ErrorItem(section, i, "id", f"duplicate id: {n} {section} share it")
        for i, n in sorted(counts.items())
        if n > 1
    ]


def _dangling_in_list(
    section: str, record: str, field: str, refs: Iterable[str], known: set[str], kind: str
) -> list[ErrorItem]:
    out: list[ErrorItem] = []
    seen: set[str] = set()
    for k, ref in enumerate(refs):
        if ref not in known:
            out.append(ErrorItem(section, record, f"{field}[{k}]", f"unknown {kind} id {ref!r}"))
        elif ref in seen:
            out.append(ErrorItem(section, record, f"{field}[{k}]", f"{ref!r} is listed twice"))
        seen.add(ref)
    return out


def cross_record_errors(
    volunteers: Sequence[Volunteer | _HasPreferences],
    placements: Sequence[Placement | _HasRanking],
    policy: Policy | None,
    previous: Sequence[PreviousAssignment],
) -> list[ErrorItem]:
    """Every cross-record error of a round.

    Records may be stand-ins carrying just `id` and the reference list: the loader passes
    those for records that failed their own validation, so that their references are
    still checked and references to them are not reported as dangling.
    """
    vids = [v.id for v in volunteers]
    pids = [p.id for p in placements]
    errors = _duplicates("volunteers", vids) + _duplicates("placements", pids)
    vset, pset = set(vids), set(pids)
    for v in volunteers:
        errors += _dangling_in_list(
            "volunteers", v.id, "preferences", v.preferences, pset, "placement"
        )
    for p in placements:
        errors += _dangling_in_list("placements", p.id, "ranking", p.ranking, vset, "volunteer")
    if policy is not None:
        errors += _pair_errors(policy, vset, pset)
    seen_prev: set[str] = set()
    for k, a in enumerate(previous):
        rec = f"previous[{k}]"
        if a.volunteer not in vset:
            errors.append(
                ErrorItem("previous", rec, "volunteer", f"unknown volunteer id {a.volunteer!r}")
            )
        if a.placement not in pset:
            errors.append(
                ErrorItem("previous", rec, "placement", f"unknown placement id {a.placement!r}")
            )
        if a.volunteer in seen_prev:
            errors.append(
                ErrorItem("previous", rec, "volunteer", f"volunteer {a.volunteer!r} appears twice")
            )
        seen_prev.add(a.volunteer)
    return errors


def _pair_errors(policy: Policy, vset: set[str], pset: set[str]) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    for name in ("locked", "forbidden"):
        for k, pair in enumerate(getattr(policy, name)):
            if pair.volunteer not in vset:
                errors.append(
                    ErrorItem(
                        "policy",
                        "policy",
                        f"{name}[{k}].volunteer",
                        f"unknown volunteer id {pair.volunteer!r}",
                    )
                )
            if pair.placement not in pset:
                errors.append(
                    ErrorItem(
                        "policy",
                        "policy",
                        f"{name}[{k}].placement",
                        f"unknown placement id {pair.placement!r}",
                    )
                )
    forbidden = {(p.volunteer, p.placement) for p in policy.forbidden}
    locked_by: dict[str, str] = {}
    for k, pair in enumerate(policy.locked):
        if (pair.volunteer, pair.placement) in forbidden:
            errors.append(
                ErrorItem(
                    "policy",
                    "policy",
                    f"locked[{k}]",
                    f"pair {pair.volunteer}->{pair.placement} is both locked and forbidden",
                )
            )
        other = locked_by.get(pair.volunteer)
        if other is not None and other != pair.placement:
            errors.append(
                ErrorItem(
                    "policy",
                    "policy",
                    f"locked[{k}].volunteer",
                    f"volunteer {pair.volunteer!r} is locked to both {other} and {pair.placement}",
                )
            )
        locked_by.setdefault(pair.volunteer, pair.placement)
    return errors


def round_errors(r: Round) -> list[ErrorItem]:
    """Cross-record errors of an already-built round."""
    return cross_record_errors(r.volunteers, r.placements, r.policy, r.previous)
