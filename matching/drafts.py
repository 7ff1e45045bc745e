"""Placements compiled against a round's compiled pool, without recompiling the pool.

A host's draft need (or a stored need checked against the last round) must be scored
and checked against 100,000 volunteers in milliseconds: `with_placements` builds a
`CompiledRound` whose placements are the drafts and whose volunteer arrays are the
pool's own, shared, not copied. Codes the pool has never seen (a skill nobody lists, a
new country) get columns nobody has, so the rules and scores read them as unmet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import (
    CompiledRound,
    _placement_arrays,
    _read_placements,
    _triples,
    _vocab,
    _Vocabularies,
    _Vocabulary,
)
from volmatch.models import Placement

I32 = NDArray[np.int32]


def _extended(known: list[str], seen: set[str]) -> tuple[_Vocabulary, int]:
    """The vocabulary `known` with the codes of `seen` it lacks appended (in order), and
    how many were appended. Appending keeps every known code's column."""
    extra = sorted(seen - set(known))
    names = [*known, *extra]
    return _Vocabulary(names, {x: i for i, x in enumerate(names)}), len(extra)


def _widened(matrix: NDArray[Any], extra: int, sentinel: bool) -> NDArray[Any]:
    """`matrix` with `extra` zero columns inserted before its last (sentinel) column, or
    appended where it has none."""
    if extra == 0:
        return matrix
    n = matrix.shape[0]
    pad = np.zeros((n, extra), dtype=matrix.dtype)
    if sentinel:
        return np.concatenate([matrix[:, :-1], pad, matrix[:, -1:]], axis=1)
    return np.concatenate([matrix, pad], axis=1)


def _remap(v: I32, p: I32, extra: list[I32], old_to_new: dict[int, int]) -> list[I32]:
    """Keep the triples whose placement is one of the drafts' ids, renumbered."""
    if len(p) == 0 or not old_to_new:
        return [np.zeros(0, np.int32), np.zeros(0, np.int32), *(e[:0] for e in extra)]
    lookup = np.full(int(max(p.max(), max(old_to_new))) + 1, -1, dtype=np.int64)
    for old, new in old_to_new.items():
        lookup[old] = new
    new_p = lookup[p]
    keep = new_p >= 0
    return [v[keep], new_p[keep].astype(np.int32), *(e[keep] for e in extra)]


def with_placements(c: CompiledRound, placements: Sequence[Placement]) -> CompiledRound:
    """A compiled round of the pool of `c` and exactly these placements (row j is
    `placements[j]`): the volunteers' arrays are shared with `c`; volunteers'
    preferences, forbidden pairs of a placement id the round holds carry over; a
    ranking's unknown volunteer ids are ignored. Locks are dropped (advice is about
    choices, not the coordinator's fixed pairs)."""
    known = {x: c.vindex[x] for p in placements for x in p.ranking if x in c.vindex}
    pls = [
        p
        if all(x in known for x in p.ranking)
        else p.model_copy(update={"ranking": [x for x in p.ranking if x in known]})
        for p in placements
    ]
    pcols, pflat = _read_placements(map(vars, pls))
    skills, s_extra = _extended(
        c.skills, set(pflat["required_skills"].keys) | set(pflat["desired_skills"].keys)
    )
    languages, l_extra = _extended(
        c.languages,
        set(pflat["required_languages"].keys) | set(pflat["desired_languages"].keys),
    )
    modules, m_extra = _extended(c.modules, set(pflat["required_training"].keys))
    countries, c_extra = _extended(c.countries, {p.country for p in pls})
    hosts, _ = _extended(c.hosts, {p.host for p in pls})
    vocab = _Vocabularies(skills, languages, modules, countries, hosts, _vocab(set(c.group_ids)))
    arrays = _placement_arrays(pcols, pflat, vocab)
    pindex = {p.id: j for j, p in enumerate(pls)}
    old_to_new = {c.pindex[p.id]: j for j, p in enumerate(pls) if p.id in c.pindex}
    pref_v, pref_p, pref_pos = _remap(c.pref_v, c.pref_p, [c.pref_pos], old_to_new)
    rank_v, rank_p, rank_pos, rank_len = _triples(pflat["ranking"], c.vindex, False)
    forb_v, forb_p = _remap(c.forbidden_v, c.forbidden_p, [], old_to_new)
    trained = c.trained
    if m_extra:
        trained = _widened(trained.view(np.uint8), m_extra, True).view(np.bool_)
        trained[:, -1] = True
    return dataclasses.replace(
        c,
        placements=tuple(pls),
        placement_ids=[p.id for p in pls],
        skills=skills.names,
        languages=languages.names,
        modules=modules.names,
        countries=countries.names,
        hosts=hosts.names,
        skill_level=_widened(c.skill_level, s_extra, True),
        lang_level=_widened(c.lang_level, l_extra, True),
        trained=trained,
        excluded=_widened(c.excluded, c_extra, False),
        **arrays,
        pref_v=pref_v,
        pref_p=pref_p,
        pref_pos=pref_pos,
        rank_v=rank_v,
        rank_p=rank_p,
        rank_pos=rank_pos,
        rank_len=rank_len,
        forbidden_v=forb_v,
        forbidden_p=forb_p,
        locked_v=np.zeros(0, np.int32),
        locked_p=np.zeros(0, np.int32),
        pindex=pindex,
        cache={},
    )
