"""Preparing a variant from the prepared base without redoing what did not change.

Eligibility of a pair depends only on the two records' eligibility fields and on three
policy fields (`required_training`, `international_only`, `forbidden`). So:

* a variant that changes only score-side policy (weights, mode, seed, time limit) keeps
  the base's compiled arrays and eligible pairs and is only re-scored;
* a variant that changes, adds or removes some records keeps every base pair between
  two untouched records (re-indexed) and checks the rules only for pairs with a touched
  or new record;
* anything else (an eligibility policy field, or most of the round touched) is prepared
  from scratch.

The result is the same `Prepared` a fresh `matching.prepare` gives (tests compare them).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from volmatch.matching import Prepared, compile_round, find_pairs, prepare, score_pairs
from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import Pairs, all_rules, schedule
from volmatch.matching.pair_limit import PairCount, pair_limit
from volmatch.models import Placement, Policy, Round, Volunteer

Reuse = Literal["rescored", "incremental", "full"]

VOLUNTEER_ELIGIBILITY_FIELDS = (
    "nationality",
    "birth_date",
    "languages",
    "skills",
    "training",
    "available_from",
    "available_until",
    "min_months",
    "max_months",
    "excluded_countries",
    "security_clearance",
)
"""The volunteer fields the nine hard rules and the schedule (start, months) read."""
PLACEMENT_ELIGIBILITY_FIELDS = (
    "country",
    "required_skills",
    "required_languages",
    "required_training",
    "start_earliest",
    "start_latest",
    "min_months",
    "max_months",
    "security_level",
    "age_min",
    "age_max",
)
"""The placement fields the nine hard rules and the schedule read."""
SCORE_ONLY_POLICY = frozenset({"weights", "mode", "stable_side", "time_limit_s", "seed"})
"""Policy fields that change neither the compiled arrays nor eligibility."""
_CHUNK = 1 << 20
_MAX_SHARE = 0.25
"""Above this share of all volunteer x placement pairs to re-check, the bitset path of
`find_pairs` is faster than checking pairs one by one."""


def _policy_rest(p: Policy, drop: frozenset[str]) -> dict[str, Any]:
    return p.model_dump(exclude=set(drop))


def _same_records(a: Sequence[object], b: Sequence[object]) -> bool:
    return len(a) == len(b) and all(x is y or x == y for x, y in zip(a, b, strict=True))


def _index_map(
    old_ids: list[str],
    old: Sequence[Volunteer] | Sequence[Placement],
    new_index: dict[str, int],
    new: Sequence[Volunteer] | Sequence[Placement],
    fields: tuple[str, ...],
) -> NDArray[np.int64]:
    """old index -> new index of the same record with the same eligibility fields, or -1."""
    out = np.full(len(old_ids), -1, dtype=np.int64)
    for i, rid in enumerate(old_ids):
        j = new_index.get(rid)
        if j is None:
            continue
        a, b = old[i], new[j]
        if a is b or all(getattr(a, f) == getattr(b, f) for f in fields):
            out[i] = j
    return out


def _check(c: CompiledRound, pv: NDArray[np.int64], pp: NDArray[np.int64]) -> Pairs:
    """The eligible pairs among the given candidates."""
    keep_v: list[NDArray[np.int64]] = []
    keep_p: list[NDArray[np.int64]] = []
    for lo in range(0, len(pv), _CHUNK):
        v, p = pv[lo : lo + _CHUNK], pp[lo : lo + _CHUNK]
        ok = all_rules(c, v, p)
        keep_v.append(v[ok])
        keep_p.append(p[ok])
    v = np.concatenate(keep_v) if keep_v else np.zeros(0, dtype=np.int64)
    p = np.concatenate(keep_p) if keep_p else np.zeros(0, dtype=np.int64)
    start, months, _ = schedule(c, v, p)
    return Pairs(v.astype(np.int32), p.astype(np.int32), start, months)


def _incremental_pairs(base: Prepared, c: CompiledRound) -> Pairs | None:
    """The variant's eligible pairs from the base's, or None where a fresh search is
    cheaper."""
    b = base.compiled
    vmap = _index_map(
        b.volunteer_ids, b.volunteers, c.vindex, c.volunteers, VOLUNTEER_ELIGIBILITY_FIELDS
    )
    pmap = _index_map(
        b.placement_ids, b.placements, c.pindex, c.placements, PLACEMENT_ELIGIBILITY_FIELDS
    )
    clean_v = np.zeros(c.n_volunteers, dtype=np.bool_)
    clean_v[vmap[vmap >= 0]] = True
    clean_p = np.zeros(c.n_placements, dtype=np.bool_)
    clean_p[pmap[pmap >= 0]] = True
    dirty_v = np.flatnonzero(~clean_v)
    dirty_p = np.flatnonzero(~clean_p)
    n_check = len(dirty_v) * c.n_placements + (c.n_volunteers - len(dirty_v)) * len(dirty_p)
    if n_check > min(_MAX_SHARE * c.n_volunteers * c.n_placements, pair_limit()):
        return None  # a fresh search counts the pairs before it makes them

    old = base.pairs
    nv_, np_ = vmap[old.v], pmap[old.p]
    kept = (nv_ >= 0) & (np_ >= 0)
    # dirty volunteers x every placement, then clean volunteers x dirty placements
    all_p = np.arange(c.n_placements, dtype=np.int64)
    cv = [
        np.repeat(dirty_v.astype(np.int64), c.n_placements),
        np.repeat(np.flatnonzero(clean_v).astype(np.int64), len(dirty_p)),
    ]
    cp = [np.tile(all_p, len(dirty_v)), np.tile(dirty_p.astype(np.int64), int(clean_v.sum()))]
    fresh = _check(c, np.concatenate(cv), np.concatenate(cp))
    # The base's pairs and the fresh ones are each within the limit; together they may
    # not be: counted before they are joined.
    count = PairCount()
    count.add(int(kept.sum()) + len(fresh))
    count.check()

    v = np.concatenate([nv_[kept].astype(np.int32), fresh.v])
    p = np.concatenate([np_[kept].astype(np.int32), fresh.p])
    start = np.concatenate([old.start[kept], fresh.start])
    months = np.concatenate([old.months[kept], fresh.months])
    order = np.argsort(c.pair_keys(v, p), kind="stable")
    return Pairs(v[order], p[order], start[order].astype(np.int64), months[order].astype(np.int64))


def prepare_variant(base: Prepared, r: Round) -> tuple[Prepared, Reuse]:
    """The variant round `r` prepared, reusing the base's work where it is unchanged."""
    b = base.compiled
    old_policy = b.round.policy
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    same_records = _same_records(b.round.volunteers, r.volunteers) and _same_records(
        b.round.placements, r.placements
    )
    if same_records and _policy_rest(old_policy, SCORE_ONLY_POLICY) == _policy_rest(
        r.policy, SCORE_ONLY_POLICY
    ):
        # Sorted ids and vocabularies are those of the base: only the round (and so the
        # weights the scorer reads) changes.
        c = dataclasses.replace(b, round=r)
        t["compile"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = (
            base.scores if r.policy.weights == old_policy.weights else score_pairs(c, base.pairs)
        )
        t["scoring"] = time.perf_counter() - t0
        return Prepared(c, base.pairs, scores, t), "rescored"

    elig_drop = SCORE_ONLY_POLICY | {"locked"}
    if _policy_rest(old_policy, elig_drop) != _policy_rest(r.policy, elig_drop):
        return prepare(r), "full"
    c = compile_round(r)
    t["compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = _incremental_pairs(base, c)
    how: Reuse = "incremental"
    if pairs is None:
        pairs, how = find_pairs(c), "full"
    t["eligibility"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = score_pairs(c, pairs)
    t["scoring"] = time.perf_counter() - t0
    return Prepared(c, pairs, scores, t), how
