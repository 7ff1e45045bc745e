"""Rules that span records: unique ids and references between records.

The checks read records through small protocols (an id and a reference list, a named
pair) rather than the models of `models.round`: the loader passes stand-ins for records
that failed their own validation, and `models.round` calls these checks from its
`Round` validator, so this module sits below it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping, Sequence
from itertools import chain, repeat
from operator import attrgetter
from typing import Protocol

import numpy as np

from volmatch.models.errors import ErrorItem


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


class _NamedPair(Protocol):
    """A pair named by ids: a locked or forbidden pair, or a previous assignment."""

    @property
    def volunteer(self) -> str: ...
    @property
    def placement(self) -> str: ...


class _PairRules(Protocol):
    """The policy's pairs named by a coordinator."""

    @property
    def locked(self) -> Sequence[_NamedPair]: ...
    @property
    def forbidden(self) -> Sequence[_NamedPair]: ...


def _duplicates(section: str, ids: Sequence[str]) -> list[ErrorItem]:
    counts = Counter(ids)
    return [
        ErrorItem(section, i, "id", f"duplicate id: {n} {section} share it")
        for i, n in sorted(counts.items())
        if n > 1
    ]


def _dangling_in_list(
    section: str, record: str, field: str, refs: Iterable[str], known: Container[str], kind: str
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


def _ids_and_refs(records: Sequence[object], field: str) -> tuple[list[str], list[Sequence[str]]]:
    """The `id` and the `field` reference list of each record, read in one pass."""
    columns = list(zip(*map(attrgetter("id", field), records), strict=True)) or [(), ()]
    return list(columns[0]), list(columns[1])


def _positions(ids: Sequence[str]) -> dict[str, int]:
    return dict(zip(ids, range(len(ids)), strict=True))


def _suspect_lists(lists: Sequence[Sequence[str]], known: Mapping[str, int]) -> list[int]:
    """Positions of the lists that name an unknown id or an id twice (in bulk: the lists
    are looked at one by one only when some id is unknown)."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    refs = np.fromiter(
        map(known.get, chain.from_iterable(lists), repeat(-1)),
        dtype=np.int64,
        count=int(lengths.sum()),
    )
    if (refs < 0).any():
        return [
            i
            for i, ids in enumerate(lists)
            if ids and (any(x not in known for x in ids) or len(set(ids)) < len(ids))
        ]
    owner = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    width = max(known.values(), default=0) + 1
    pairs = np.sort(owner * width + refs)
    twice = pairs[1:][pairs[1:] == pairs[:-1]]
    return [int(i) for i in np.unique(twice // width)]


def cross_record_errors(
    volunteers: Sequence[_HasPreferences],
    placements: Sequence[_HasRanking],
    policy: _PairRules | None,
    previous: Sequence[_NamedPair],
) -> list[ErrorItem]:
    """Every cross-record error of a round.

    Records may be stand-ins carrying just `id` and the reference list: the loader passes
    those for records that failed their own validation, so that their references are
    still checked and references to them are not reported as dangling.
    """
    vids, vrefs = _ids_and_refs(volunteers, "preferences")
    pids, prefs = _ids_and_refs(placements, "ranking")
    vset, pset = _positions(vids), _positions(pids)
    errors = (_duplicates("volunteers", vids) if len(vset) < len(vids) else []) + (
        _duplicates("placements", pids) if len(pset) < len(pids) else []
    )
    # Lists are looked at one by one only where the bulk test finds something wrong.
    for i in _suspect_lists(vrefs, pset):
        errors += _dangling_in_list(
            "volunteers", vids[i], "preferences", vrefs[i], pset, "placement"
        )
    for i in _suspect_lists(prefs, vset):
        errors += _dangling_in_list("placements", pids[i], "ranking", prefs[i], vset, "volunteer")
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


def _pair_errors(policy: _PairRules, vset: Container[str], pset: Container[str]) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    for name in ("locked", "forbidden", "bonus"):
        for k, pair in enumerate(getattr(policy, name, ())):
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
