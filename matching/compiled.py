"""A round compiled once into numpy arrays.

Everything numeric downstream (eligibility, scoring, solving, KPIs) works on these
arrays. Volunteers and placements are sorted by id, so the row order of the input
document never changes a result.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import itemgetter, le
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.dates import is_month_end, split_days
from volmatch.models import Placement, Policy, Round, Volunteer
from volmatch.models.codes import CEFR_RANK, GENDERS

I8 = NDArray[np.int8]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]
B = NDArray[np.bool_]

NO_AGE = -1
"""Marks an absent age limit."""

RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class Asks:
    """A per-placement list of (code, level) asks, padded to a rectangle.

    `code[p, k]` indexes the vocabulary; padding uses the vocabulary's size, which points
    at a sentinel column (level 0) in the volunteer matrix, and `level` 0, so that padding
    always passes and never scores.
    """

    code: I32
    level: U8
    count: I32

    @property
    def width(self) -> int:
        return int(self.code.shape[1])


@dataclass(frozen=True)
class CompiledRound:
    """The arrays of one round. Indices are positions in the id-sorted lists."""

    round: Round
    volunteers: tuple[Volunteer, ...]
    """The round's volunteers in id order (row i of every volunteer array)."""
    placements: tuple[Placement, ...]
    """The round's placements in id order."""
    volunteer_ids: list[str]
    placement_ids: list[str]
    countries: list[str]
    """Vocabulary of country codes seen in the round (nationalities, hosts, exclusions)."""
    skills: list[str]
    languages: list[str]
    modules: list[str]
    hosts: list[str]

    # volunteers
    nationality: I32
    gender: I8
    """Index into `models.codes.GENDERS`."""
    birth: I64
    has_birth: B
    avail_from: I64
    avail_until: I64
    af_month: I64
    """Month number (since 1970-01) of `avail_from`; with `af_dom` its day of month."""
    af_dom: I64
    au_month: I64
    au_dom: I64
    au_eom: B
    """Whether `avail_until` is the last day of its month (it then fits any day)."""
    v_min: I64
    v_max: I64
    clearance: I8
    skill_level: U8
    """V x (S+1) levels 0..5; last column is the padding sentinel (0)."""
    lang_level: U8
    """V x (L+1) CEFR ranks 0..7; last column is the padding sentinel (0)."""
    trained: B
    """V x (T+1) modules completed; last column (padding) is True."""
    excluded: B
    """V x C: countries the volunteer cannot go to."""
    policy_trained: B
    """Per volunteer: has every module of the policy's required_training."""
    group: I32
    """Group index per volunteer, -1 for none."""
    group_ids: list[str]

    # placements
    country: I32
    host: I32
    capacity: I64
    p_start_earliest: I64
    p_start_latest: I64
    pse_month: I64
    pse_dom: I64
    p_min: I64
    p_max: I64
    priority: I64
    security: I8
    age_min: I64
    age_max: I64
    req_skills: Asks
    des_skills: Asks
    req_langs: Asks
    des_langs: Asks
    req_training: Asks
    policy_training: I32
    """Module indices every volunteer must have (policy.required_training)."""
    policy_training_missing: list[str]
    """Modules the policy requires that no volunteer has completed."""

    # preferences and rankings, as (volunteer, placement, 0-based position) triples
    pref_v: I32
    pref_p: I32
    pref_pos: I32
    pref_len: I32
    rank_v: I32
    rank_p: I32
    rank_pos: I32
    rank_len: I32

    forbidden_v: I32
    forbidden_p: I32
    locked_v: I32
    locked_p: I32

    vindex: dict[str, int] = field(repr=False)
    pindex: dict[str, int] = field(repr=False)
    cache: dict[str, object] = field(default_factory=dict, repr=False, compare=False)
    """Derived structures built on first use (the requirement bitsets ...)."""

    @property
    def n_volunteers(self) -> int:
        return len(self.volunteer_ids)

    @property
    def n_placements(self) -> int:
        return len(self.placement_ids)

    def pair_keys(self, v: I32 | I64, p: I32 | I64) -> I64:
        """A sortable int64 key of each pair: placement-major, as `find_pairs` orders them."""
        return np.asarray(p, dtype=np.int64) * max(self.n_volunteers, 1) + np.asarray(
            v, dtype=np.int64
        )


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

_VOLUNTEER_SCALARS = (
    "id",
    "nationality",
    "gender",
    "birth_date",
    "available_from",
    "available_until",
    "min_months",
    "max_months",
    "security_clearance",
    "group",
)
_PLACEMENT_SCALARS = (
    "id",
    "host",
    "country",
    "slots",
    "start_earliest",
    "start_latest",
    "min_months",
    "max_months",
    "priority",
    "security_level",
    "age_min",
    "age_max",
)


@dataclass
class _Flat:
    """One collection field of every record, flattened: record i has `lengths[i]` items,
    `keys` are the items (a mapping's keys) and `values` a mapping's values."""

    lengths: list[int] = field(default_factory=list)
    keys: list[Any] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def rows(self) -> I64:
        """The record of each item."""
        return np.repeat(np.arange(len(self.lengths), dtype=np.int64), self.lengths)


_Columns = list[Sequence[Any]]
_Reader = Callable[[Iterable[Mapping[str, Any]]], tuple[_Columns, dict[str, _Flat]]]


def _columns(rows: list[tuple[Any, ...]], width: int) -> _Columns:
    return list(zip(*rows, strict=True)) or [()] * width


# The readers visit each record once and read all its fields: with 100,000 records that
# is far quicker than a pass over the records per field, and quicker written out than
# looped over field names.


def _read_volunteers(records: Iterable[Mapping[str, Any]]) -> tuple[_Columns, dict[str, _Flat]]:
    """Scalar fields of the volunteers as columns, and their collections flattened."""
    rows: list[tuple[Any, ...]] = []
    add_row, scalars = rows.append, itemgetter(*_VOLUNTEER_SCALARS)
    sk, la, tr, ex, pr = _Flat(), _Flat(), _Flat(), _Flat(), _Flat()
    sk_n, sk_k, sk_v = sk.lengths.append, sk.keys.extend, sk.values.extend
    la_n, la_k, la_v = la.lengths.append, la.keys.extend, la.values.extend
    tr_n, tr_k = tr.lengths.append, tr.keys.extend
    ex_n, ex_k = ex.lengths.append, ex.keys.extend
    pr_n, pr_k = pr.lengths.append, pr.keys.extend
    for f in records:
        add_row(scalars(f))
        m = f["skills"]
        sk_n(len(m))
        sk_k(m)
        sk_v(m.values())
        m = f["languages"]
        la_n(len(m))
        la_k(m)
        la_v(m.values())
        t = f["training"]
        tr_n(len(t))
        tr_k(t)
        t = f["excluded_countries"]
        ex_n(len(t))
        ex_k(t)
        t = f["preferences"]
        pr_n(len(t))
        pr_k(t)
    flats = {"skills": sk, "languages": la, "training": tr, "excluded": ex, "preferences": pr}
    return _columns(rows, len(_VOLUNTEER_SCALARS)), flats


def _read_placements(records: Iterable[Mapping[str, Any]]) -> tuple[_Columns, dict[str, _Flat]]:
    """Scalar fields of the placements as columns, and their collections flattened."""
    rows: list[tuple[Any, ...]] = []
    add_row, scalars = rows.append, itemgetter(*_PLACEMENT_SCALARS)
    rs, ds, rl, dl, tr, ra = _Flat(), _Flat(), _Flat(), _Flat(), _Flat(), _Flat()
    rs_n, rs_k, rs_v = rs.lengths.append, rs.keys.extend, rs.values.extend
    ds_n, ds_k, ds_v = ds.lengths.append, ds.keys.extend, ds.values.extend
    rl_n, rl_k, rl_v = rl.lengths.append, rl.keys.extend, rl.values.extend
    dl_n, dl_k, dl_v = dl.lengths.append, dl.keys.extend, dl.values.extend
    tr_n, tr_k = tr.lengths.append, tr.keys.extend
    ra_n, ra_k = ra.lengths.append, ra.keys.extend
    for f in records:
        add_row(scalars(f))
        m = f["required_skills"]
        rs_n(len(m))
        rs_k(m)
        rs_v(m.values())
        m = f["desired_skills"]
        ds_n(len(m))
        ds_k(m)
        ds_v(m.values())
        m = f["required_languages"]
        rl_n(len(m))
        rl_k(m)
        rl_v(m.values())
        m = f["desired_languages"]
        dl_n(len(m))
        dl_k(m)
        dl_v(m.values())
        t = f["required_training"]
        tr_n(len(t))
        tr_k(t)
        t = f["ranking"]
        ra_n(len(t))
        ra_k(t)
    flats = {
        "required_skills": rs,
        "desired_skills": ds,
        "required_languages": rl,
        "desired_languages": dl,
        "required_training": tr,
        "ranking": ra,
    }
    return _columns(rows, len(_PLACEMENT_SCALARS)), flats


def _read_sorted(
    records: Sequence[RecordT], read: _Reader, names: Iterable[str]
) -> tuple[list[RecordT], _Columns, dict[str, _Flat]]:
    """The records sorted by id (the first column) and their fields, read by `read`."""

    def fields(recs: Sequence[RecordT]) -> tuple[_Columns, dict[str, _Flat]]:
        try:  # through __dict__: attribute access is slow on models
            return read(map(vars, recs))
        except KeyError:  # a record constructed without some field: let attribute access say
            return read({n: getattr(r, n) for n in names} for r in recs)

    columns, flats = fields(records)
    ids = columns[0]
    if all(map(le, ids, islice(ids, 1, None))):  # already in order (a stable sort keeps it)
        return list(records), columns, flats
    ordered = [records[i] for i in sorted(range(len(ids)), key=ids.__getitem__)]
    return ordered, *fields(ordered)


def _lookup(index: Mapping[str, int], keys: Iterable[str], count: int) -> I64:
    """`index[k]` of each key (a KeyError for an unknown one), as an array."""
    return np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=count)


def _days(dates: Iterable[dt.date], count: int) -> I64:
    """Day numbers (`matching.dates.to_days`) of dates, in bulk."""
    days = np.fromiter(map(dt.date.toordinal, dates), dtype=np.int64, count=count)
    return days - _EPOCH_ORDINAL


def _ints(values: Sequence[int | None], none: int = NO_AGE) -> I64:
    return np.fromiter(
        (none if x is None else x for x in values), dtype=np.int64, count=len(values)
    )


def _levels(flat: _Flat, rank: Mapping[Any, int] | None) -> I64:
    values: Iterable[int] = flat.values if rank is None else map(rank.__getitem__, flat.values)
    return np.fromiter(values, dtype=np.int64, count=len(flat.values))


def _asks(flat: _Flat, vocab: dict[str, int], pad: int, levels: I64 | None = None) -> Asks:
    """Asks of each record, sorted by code, each code once; level 1 where none given."""
    n = len(flat.lengths)
    rows = flat.rows()
    codes = _lookup(vocab, flat.keys, len(flat.keys))
    if levels is None:
        levels = np.ones(len(codes), dtype=np.int64)
    # Vocabularies are sorted, so sorting by index within a record sorts by code.
    order = np.lexsort((codes, rows))
    rows, codes, levels = rows[order], codes[order], levels[order]
    first = np.ones(len(rows), dtype=np.bool_)  # a code listed twice counts once
    first[1:] = (rows[1:] != rows[:-1]) | (codes[1:] != codes[:-1])
    rows, codes, levels = rows[first], codes[first], levels[first]
    count = np.bincount(rows, minlength=n).astype(np.int32)
    width = max(int(count.max()) if n else 0, 1)
    pos = np.arange(len(rows), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    code = np.full((n, width), pad, dtype=np.int32)
    level = np.zeros((n, width), dtype=np.uint8)
    code[rows, pos] = codes
    level[rows, pos] = levels
    return Asks(code=code, level=level, count=count)


@dataclass(frozen=True)
class _Vocabulary:
    """The codes of one kind seen in the round, sorted, and each one's index."""

    names: list[str]
    index: dict[str, int]


def _vocab(items: set[str]) -> _Vocabulary:
    ordered = sorted(items)
    return _Vocabulary(ordered, {x: i for i, x in enumerate(ordered)})


@dataclass(frozen=True)
class _Vocabularies:
    """Every vocabulary of the round."""

    skills: _Vocabulary
    languages: _Vocabulary
    modules: _Vocabulary
    countries: _Vocabulary
    """Nationalities, host countries and excluded countries."""
    hosts: _Vocabulary
    groups: _Vocabulary

    @classmethod
    def of(
        cls,
        vcols: _Columns,
        vflat: dict[str, _Flat],
        pcols: _Columns,
        pflat: dict[str, _Flat],
        policy: Policy,
    ) -> _Vocabularies:
        """The vocabularies of the round's records and policy."""

        def keys_of(*flats: _Flat) -> set[str]:
            return set(chain.from_iterable(f.keys for f in flats))

        nationality = vcols[_VOLUNTEER_SCALARS.index("nationality")]
        groups = vcols[_VOLUNTEER_SCALARS.index("group")]
        country = pcols[_PLACEMENT_SCALARS.index("country")]
        host = pcols[_PLACEMENT_SCALARS.index("host")]
        return cls(
            skills=_vocab(
                keys_of(vflat["skills"], pflat["required_skills"], pflat["desired_skills"])
            ),
            languages=_vocab(
                keys_of(vflat["languages"], pflat["required_languages"], pflat["desired_languages"])
            ),
            modules=_vocab(
                keys_of(vflat["training"], pflat["required_training"])
                | set(policy.required_training)
            ),
            countries=_vocab(keys_of(vflat["excluded"]) | set(nationality) | set(country)),
            hosts=_vocab(set(host)),
            groups=_vocab({g for g in groups if g is not None}),
        )


def _triples(
    flat: _Flat, index: dict[str, int], self_is_volunteer: bool
) -> tuple[I32, I32, I32, I32]:
    """(volunteer, placement, position, list length) of each list entry."""
    lengths = np.asarray(flat.lengths, dtype=np.int64)
    owner = flat.rows()
    pos = np.arange(len(owner), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    other = _lookup(index, flat.keys, len(flat.keys)).astype(np.int32)
    v, p = (owner.astype(np.int32), other) if self_is_volunteer else (other, owner.astype(np.int32))
    return v, p, pos.astype(np.int32), lengths.astype(np.int32)


def _matrix(
    out: NDArray[np.uint8] | NDArray[np.bool_],
    flat: _Flat,
    index: dict[str, int],
    values: I64 | None = None,
) -> None:
    """Set `out[i, index[key]]` for every key of record i to its value (or to True)."""
    cols = _lookup(index, flat.keys, len(flat.keys))
    out[flat.rows(), cols] = True if values is None else values


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: compiling makes many short-lived containers,
    and each full collection they trigger walks every object of a large round."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compile_round(r: Round) -> CompiledRound:
    """Compile a validated round into arrays (ids sorted, vocabularies sorted)."""
    with _gc_paused():
        return _compile(r)


def _compile(r: Round) -> CompiledRound:
    """`compile_round`, with the collector paused."""
    vols, vcols, vflat = _read_sorted(r.volunteers, _read_volunteers, Volunteer.model_fields)
    pls, pcols, pflat = _read_sorted(r.placements, _read_placements, Placement.model_fields)
    volunteer_ids = list(vcols[0])
    placement_ids = list(pcols[0])
    vindex = {x: i for i, x in enumerate(volunteer_ids)}
    pindex = {x: i for i, x in enumerate(placement_ids)}
    vocab = _Vocabularies.of(vcols, vflat, pcols, pflat, r.policy)
    return CompiledRound(
        round=r,
        volunteers=tuple(vols),
        placements=tuple(pls),
        volunteer_ids=volunteer_ids,
        placement_ids=placement_ids,
        countries=vocab.countries.names,
        skills=vocab.skills.names,
        languages=vocab.languages.names,
        modules=vocab.modules.names,
        hosts=vocab.hosts.names,
        group_ids=vocab.groups.names,
        **_volunteer_arrays(vcols, vflat, vocab, r.policy),
        **_placement_arrays(pcols, pflat, vocab),
        **_coordinator_lists(vflat, pflat, vindex, pindex, r.policy),
        vindex=vindex,
        pindex=pindex,
    )


def _volunteer_arrays(
    vcols: _Columns, vflat: dict[str, _Flat], vocab: _Vocabularies, policy: Policy
) -> dict[str, Any]:
    """The volunteer fields of `CompiledRound` (and the policy's training, which is
    checked against the volunteers' modules)."""
    (
        _ids,
        v_nationality,
        v_gender,
        v_birth,
        v_from,
        v_until,
        v_min_months,
        v_max_months,
        v_clearance,
        v_groups,
    ) = vcols
    v_skills, v_langs, v_training = vflat["skills"], vflat["languages"], vflat["training"]
    nv = len(v_nationality)
    S, L, T, C = (
        len(vocab.skills.names),
        len(vocab.languages.names),
        len(vocab.modules.names),
        len(vocab.countries.names),
    )
    midx = vocab.modules.index
    skill_level = np.zeros((nv, S + 1), dtype=np.uint8)
    lang_level = np.zeros((nv, L + 1), dtype=np.uint8)
    trained = np.zeros((nv, T + 1), dtype=np.bool_)
    trained[:, T] = True
    excluded = np.zeros((nv, C), dtype=np.bool_)
    gender_code = {g: i for i, g in enumerate(GENDERS)}
    has_birth = np.fromiter((b is not None for b in v_birth), dtype=np.bool_, count=nv)
    birth = np.zeros(nv, dtype=np.int64)
    birth[has_birth] = _days((b for b in v_birth if b is not None), int(has_birth.sum()))
    avail_from = _days(v_from, nv)
    avail_until = _days(v_until, nv)
    gidx = vocab.groups.index
    _matrix(skill_level, v_skills, vocab.skills.index, _levels(v_skills, None))
    _matrix(lang_level, v_langs, vocab.languages.index, _levels(v_langs, CEFR_RANK))
    _matrix(trained, v_training, midx)
    _matrix(excluded, vflat["excluded"], vocab.countries.index)
    have_module = (
        np.asarray(trained[:, :T].any(axis=0), dtype=np.bool_)
        if nv
        else np.zeros(T, dtype=np.bool_)
    )
    af_month, af_dom = split_days(avail_from)
    au_month, au_dom = split_days(avail_until)
    return {
        "nationality": _lookup(vocab.countries.index, v_nationality, nv).astype(np.int32),
        "gender": _lookup(gender_code, v_gender, nv).astype(np.int8),
        "birth": birth,
        "has_birth": has_birth,
        "avail_from": avail_from,
        "avail_until": avail_until,
        "af_month": af_month,
        "af_dom": af_dom,
        "au_month": au_month,
        "au_dom": au_dom,
        "au_eom": is_month_end(avail_until),
        "v_min": _ints(v_min_months),
        "v_max": _ints(v_max_months),
        "clearance": _ints(v_clearance).astype(np.int8),
        "skill_level": skill_level,
        "lang_level": lang_level,
        "trained": trained,
        "excluded": excluded,
        "policy_trained": np.all(trained[:, [midx[m] for m in policy.required_training]], axis=1)
        if nv
        else np.zeros(0, dtype=np.bool_),
        "group": np.fromiter(
            (-1 if g is None else gidx[g] for g in v_groups), dtype=np.int32, count=nv
        ),
        "policy_training": np.asarray([midx[m] for m in policy.required_training], dtype=np.int32),
        "policy_training_missing": [
            m for m in policy.required_training if not have_module[midx[m]]
        ],
    }


def _placement_arrays(
    pcols: _Columns, pflat: dict[str, _Flat], vocab: _Vocabularies
) -> dict[str, Any]:
    """The placement fields of `CompiledRound`."""
    (
        _ids,
        p_host,
        p_country,
        p_slots,
        p_earliest,
        p_latest,
        p_min_months,
        p_max_months,
        p_priority,
        p_security,
        p_age_min,
        p_age_max,
    ) = pcols
    npl = len(p_host)
    sidx, S = vocab.skills.index, len(vocab.skills.names)
    lidx, L = vocab.languages.index, len(vocab.languages.names)
    p_req_skills, p_des_skills = pflat["required_skills"], pflat["desired_skills"]
    p_req_langs, p_des_langs = pflat["required_languages"], pflat["desired_languages"]
    p_start_earliest = _days(p_earliest, npl)
    pse_month, pse_dom = split_days(p_start_earliest)
    return {
        "country": _lookup(vocab.countries.index, p_country, npl).astype(np.int32),
        "host": _lookup(vocab.hosts.index, p_host, npl).astype(np.int32),
        "capacity": _ints(p_slots),
        "p_start_earliest": p_start_earliest,
        "pse_month": pse_month,
        "pse_dom": pse_dom,
        "p_start_latest": _days(p_latest, npl),
        "p_min": _ints(p_min_months),
        "p_max": _ints(p_max_months),
        "priority": _ints(p_priority),
        "security": _ints(p_security).astype(np.int8),
        "age_min": _ints(p_age_min),
        "age_max": _ints(p_age_max),
        "req_skills": _asks(p_req_skills, sidx, S, _levels(p_req_skills, None)),
        "des_skills": _asks(p_des_skills, sidx, S, _levels(p_des_skills, None)),
        "req_langs": _asks(p_req_langs, lidx, L, _levels(p_req_langs, CEFR_RANK)),
        "des_langs": _asks(p_des_langs, lidx, L, _levels(p_des_langs, CEFR_RANK)),
        "req_training": _asks(
            pflat["required_training"], vocab.modules.index, len(vocab.modules.names)
        ),
    }


def _coordinator_lists(
    vflat: dict[str, _Flat],
    pflat: dict[str, _Flat],
    vindex: dict[str, int],
    pindex: dict[str, int],
    policy: Policy,
) -> dict[str, Any]:
    """The preferences and rankings as (volunteer, placement, position) triples, and
    the forbidden and locked pairs, as fields of `CompiledRound`."""
    pv, pp, ppos, plen = _triples(vflat["preferences"], pindex, True)
    rv, rp, rpos, rlen = _triples(pflat["ranking"], vindex, False)
    return {
        "pref_v": pv,
        "pref_p": pp,
        "pref_pos": ppos,
        "pref_len": plen,
        "rank_v": rv,
        "rank_p": rp,
        "rank_pos": rpos,
        "rank_len": rlen,
        "forbidden_v": np.asarray([vindex[x.volunteer] for x in policy.forbidden], dtype=np.int32),
        "forbidden_p": np.asarray([pindex[x.placement] for x in policy.forbidden], dtype=np.int32),
        "locked_v": np.asarray([vindex[x.volunteer] for x in policy.locked], dtype=np.int32),
        "locked_p": np.asarray([pindex[x.placement] for x in policy.locked], dtype=np.int32),
    }
