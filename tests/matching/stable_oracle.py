"""An independent, plain-Python stability checker and brute force for the stable tests.

It rebuilds both sides' ranked lists from the round document (preferences, ranking)
and the eligible pairs' scores with ordinary `sorted`, and checks a matching given as
volunteer id -> placement id. Nothing here uses `matching.stable`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from volmatch.matching.prepared import Prepared
from volmatch.models import Round


@dataclass(frozen=True)
class Lists:
    vol: dict[str, list[str]]
    """Volunteer id -> eligible placement ids, best first."""
    pl: dict[str, list[str]]
    """Placement id -> eligible volunteer ids, best first."""
    slots: dict[str, int]
    """Slots left per placement after locked pairs."""
    locked: dict[str, str]
    groups: dict[str, list[str]]
    """Group id -> members (unlocked volunteers only; groups of two or more)."""
    together: str
    country: dict[str, str]


def build_lists(r: Round, prep: Prepared) -> Lists:
    c = prep.compiled
    score: dict[tuple[str, str], int] = {}
    for i in range(len(prep.pairs)):
        v = c.volunteer_ids[int(prep.pairs.v[i])]
        p = c.placement_ids[int(prep.pairs.p[i])]
        score[(v, p)] = int(prep.scores.total[i])
    prefs = {v.id: list(v.preferences) for v in r.volunteers}
    ranking = {p.id: list(p.ranking) for p in r.placements}
    inf = 10**9
    vol: dict[str, list[str]] = {v.id: [] for v in r.volunteers}
    pl: dict[str, list[str]] = {p.id: [] for p in r.placements}
    for v, p in score:
        vol[v].append(p)
        pl[p].append(v)
    for v, ps in vol.items():
        ps.sort(key=lambda p, v=v: (prefs[v].index(p) if p in prefs[v] else inf, -score[(v, p)], p))
    for p, vs in pl.items():
        vs.sort(
            key=lambda v, p=p: (ranking[p].index(v) if v in ranking[p] else inf, -score[(v, p)], v)
        )
    locked = {k.volunteer: k.placement for k in r.policy.locked}
    slots = {p.id: p.slots for p in r.placements}
    for p in locked.values():
        slots[p] -= 1
    groups: dict[str, list[str]] = {}
    for v in sorted(r.volunteers, key=lambda x: x.id):
        if v.group is not None and v.id not in locked:
            groups.setdefault(v.group, []).append(v.id)
    groups = {g: m for g, m in groups.items() if len(m) > 1}
    country = {p.id: p.country for p in r.placements}
    return Lists(vol, pl, slots, locked, groups, r.policy.group_together, country)


def joint_options(L: Lists, members: list[str]) -> list[tuple[str, ...]]:
    """A group's joint choices (one placement per member, in member order), best first:
    sum of the members' ranks, then the placement ids member by member."""
    if L.together == "placement":
        combos = [(p,) * len(members) for p in L.pl]
    else:
        combos = [
            c
            for c in itertools.product(*[L.vol[m] for m in members])
            if len({L.country[p] for p in c}) == 1
        ]
    ok = [
        c
        for c in combos
        if all(p in L.vol[m] for m, p in zip(members, c, strict=True))
        and all(c.count(p) <= L.slots[p] for p in c)
    ]
    return sorted(
        ok, key=lambda c: (sum(L.vol[m].index(p) for m, p in zip(members, c, strict=True)), c)
    )


def blocking_pairs(L: Lists, match: dict[str, str]) -> list[tuple[str, str]]:
    """(volunteer, placement) pairs of singles that block `match` (locks excluded)."""
    in_group = {m for ms in L.groups.values() for m in ms}
    holders: dict[str, list[str]] = {p: [] for p in L.pl}
    for v, p in match.items():
        if v not in L.locked:
            holders[p].append(v)
    out = []
    for v, ps in L.vol.items():
        if v in L.locked or v in in_group:
            continue
        mine = match.get(v)
        better = ps if mine is None else ps[: ps.index(mine)]
        for p in better:
            if L.slots[p] <= 0:
                continue
            hs = holders[p]
            if len(hs) < L.slots[p] or any(L.pl[p].index(v) < L.pl[p].index(h) for h in hs):
                out.append((v, p))
    return out


def blocking_groups(L: Lists, match: dict[str, str]) -> list[str]:
    holders: dict[str, list[str]] = {p: [] for p in L.pl}
    for v, p in match.items():
        if v not in L.locked:
            holders[p].append(v)
    out = []
    for g, members in L.groups.items():
        current = tuple(match.get(m) for m in members)
        for choice in joint_options(L, members):
            if choice == current:
                break
            asks: dict[str, list[str]] = {}
            for m, p in zip(members, choice, strict=True):
                asks.setdefault(p, []).append(m)
            if all(
                all(
                    m
                    in sorted([h for h in holders[p] if h not in members] + new, key=L.pl[p].index)[
                        : L.slots[p]
                    ]
                    for m in new
                )
                for p, new in asks.items()
            ):
                out.append(g)
                break
    return out


def together(L: Lists, match: dict[str, str], members: list[str]) -> bool:
    """All members placed the way `group_together` asks, or none placed."""
    places = [match.get(m) for m in members]
    if all(p is None for p in places):
        return True
    if any(p is None for p in places):
        return False
    if L.together == "placement":
        return len(set(places)) == 1
    return len({L.country[p] for p in places if p is not None}) == 1


def all_matchings(L: Lists) -> Iterator[dict[str, str]]:
    """Every assignment of the unlocked singles within capacity (tiny rounds only)."""
    vols = [v for v in L.vol if v not in L.locked]
    for choice in itertools.product(*[[None, *L.vol[v]] for v in vols]):
        load: dict[str, int] = {}
        for p in choice:
            if p is not None:
                load[p] = load.get(p, 0) + 1
        if all(n <= L.slots[p] for p, n in load.items()):
            yield {v: p for v, p in zip(vols, choice, strict=True) if p is not None}
