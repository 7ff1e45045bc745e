"""A round compiled once into numpy arrays.

Everything numeric downstream (eligibility, scoring, solving, KPIs) works on these
arrays. Volunteers and placements are sorted by id, so the row order of the input
document never changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from matching.dates import is_month_end, split_days, to_days
from models import Placement, Round, Volunteer
from models.codes import CEFR_RANK

I8 = NDArray[np.int8]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]
B = NDArray[np.bool_]

NO_AGE = -1
"""Marks an absent age limit."""


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


def _asks(per_record: list[dict[str, int]], vocab: dict[str, int], pad: int) -> Asks:
    width = max((len(a) for a in per_record), default=0)
    n = len(per_record)
    code = np.full((n, max(width, 1)), pad, dtype=np.int32)
    level = np.zeros((n, max(width, 1)), dtype=np.uint8)
    count = np.zeros(n, dtype=np.int32)
    for i, asks in enumerate(per_record):
        for k, (c, lv) in enumerate(sorted(asks.items())):
            code[i, k] = vocab[c]
            level[i, k] = lv
        count[i] = len(asks)
    return Asks(code=code, level=level, count=count)


def _vocab(items: set[str]) -> tuple[list[str], dict[str, int]]:
    ordered = sorted(items)
    return ordered, {x: i for i, x in enumerate(ordered)}


def _triples(
    lists: list[tuple[str, ...]], index: dict[str, int], self_is_volunteer: bool
) -> tuple[I32, I32, I32, I32]:
    a: list[int] = []
    b: list[int] = []
    pos: list[int] = []
    length = np.zeros(len(lists), dtype=np.int32)
    for i, refs in enumerate(lists):
        length[i] = len(refs)
        for k, ref in enumerate(refs):
            a.append(i)
            b.append(index[ref])
            pos.append(k)
    owner = np.asarray(a, dtype=np.int32)
    other = np.asarray(b, dtype=np.int32)
    v, p = (owner, other) if self_is_volunteer else (other, owner)
    return v, p, np.asarray(pos, dtype=np.int32), length


def compile_round(r: Round) -> CompiledRound:
    """Compile a validated round into arrays (ids sorted, vocabularies sorted)."""
    from models.codes import GENDERS

    vols = sorted(r.volunteers, key=lambda v: v.id)
    pls = sorted(r.placements, key=lambda p: p.id)
    vindex = {v.id: i for i, v in enumerate(vols)}
    pindex = {p.id: i for i, p in enumerate(pls)}
    pol = r.policy

    skills_set: set[str] = set()
    langs_set: set[str] = set()
    mods_set: set[str] = set(pol.required_training)
    countries_set: set[str] = set()
    for v in vols:
        skills_set.update(v.skills)
        langs_set.update(v.languages)
        mods_set.update(v.training)
        countries_set.add(v.nationality)
        countries_set.update(v.excluded_countries)
    for p in pls:
        skills_set.update(p.required_skills, p.desired_skills)
        langs_set.update(p.required_languages, p.desired_languages)
        mods_set.update(p.required_training)
        countries_set.add(p.country)
    skills, sidx = _vocab(skills_set)
    langs, lidx = _vocab(langs_set)
    mods, midx = _vocab(mods_set)
    countries, cidx = _vocab(countries_set)
    hosts, hidx = _vocab({p.host for p in pls})
    groups, gidx = _vocab({v.group for v in vols if v.group is not None})

    nv, npl = len(vols), len(pls)
    S, L, T, C = len(skills), len(langs), len(mods), len(countries)
    skill_level = np.zeros((nv, S + 1), dtype=np.uint8)
    lang_level = np.zeros((nv, L + 1), dtype=np.uint8)
    trained = np.zeros((nv, T + 1), dtype=np.bool_)
    trained[:, T] = True
    excluded = np.zeros((nv, C), dtype=np.bool_)
    gender_code = {g: i for i, g in enumerate(GENDERS)}
    nationality = np.empty(nv, dtype=np.int32)
    gender = np.empty(nv, dtype=np.int8)
    birth = np.zeros(nv, dtype=np.int64)
    has_birth = np.zeros(nv, dtype=np.bool_)
    avail_from = np.empty(nv, dtype=np.int64)
    avail_until = np.empty(nv, dtype=np.int64)
    v_min = np.empty(nv, dtype=np.int64)
    v_max = np.empty(nv, dtype=np.int64)
    clearance = np.empty(nv, dtype=np.int8)
    group = np.full(nv, -1, dtype=np.int32)
    # One pass over the objects fills flat lists; the matrices are set in bulk after.
    si: list[int] = []
    sj: list[int] = []
    sv: list[int] = []
    li: list[int] = []
    lj: list[int] = []
    lv: list[int] = []
    ti: list[int] = []
    tj: list[int] = []
    ei: list[int] = []
    ej: list[int] = []
    for i, v in enumerate(vols):
        nationality[i] = cidx[v.nationality]
        gender[i] = gender_code[v.gender]
        if v.birth_date is not None:
            birth[i] = to_days(v.birth_date)
            has_birth[i] = True
        avail_from[i] = to_days(v.available_from)
        avail_until[i] = to_days(v.available_until)
        v_min[i] = v.min_months
        v_max[i] = v.max_months
        clearance[i] = v.security_clearance
        if v.group is not None:
            group[i] = gidx[v.group]
        for code, level in v.skills.items():
            si.append(i)
            sj.append(sidx[code])
            sv.append(level)
        for code, cefr in v.languages.items():
            li.append(i)
            lj.append(lidx[code])
            lv.append(CEFR_RANK[cefr])
        for m in v.training:
            ti.append(i)
            tj.append(midx[m])
        for c in v.excluded_countries:
            ei.append(i)
            ej.append(cidx[c])
    skill_level[si, sj] = sv
    lang_level[li, lj] = lv
    trained[ti, tj] = True
    excluded[ei, ej] = True

    def pdates(attr: str) -> I64:
        return np.fromiter((to_days(getattr(p, attr)) for p in pls), dtype=np.int64, count=npl)

    def pints(attr: str, none: int = NO_AGE) -> I64:
        return np.fromiter(
            (none if getattr(p, attr) is None else getattr(p, attr) for p in pls),
            dtype=np.int64,
            count=npl,
        )

    cefr = [{k: CEFR_RANK[x] for k, x in m.items()} for m in (p.required_languages for p in pls)]
    cefr_d = [{k: CEFR_RANK[x] for k, x in m.items()} for m in (p.desired_languages for p in pls)]
    pv, pp, ppos, plen = _triples([v.preferences for v in vols], pindex, True)
    rv, rp, rpos, rlen = _triples([p.ranking for p in pls], vindex, False)
    fv = np.asarray([vindex[x.volunteer] for x in pol.forbidden], dtype=np.int32)
    fp = np.asarray([pindex[x.placement] for x in pol.forbidden], dtype=np.int32)
    kv = np.asarray([vindex[x.volunteer] for x in pol.locked], dtype=np.int32)
    kp = np.asarray([pindex[x.placement] for x in pol.locked], dtype=np.int32)
    have_module = (
        np.asarray(trained[:, :T].any(axis=0), dtype=np.bool_)
        if nv
        else np.zeros(T, dtype=np.bool_)
    )
    af_month, af_dom = split_days(avail_from)
    au_month, au_dom = split_days(avail_until)
    p_start_earliest = pdates("start_earliest")
    pse_month, pse_dom = split_days(p_start_earliest)

    return CompiledRound(
        round=r,
        volunteers=tuple(vols),
        placements=tuple(pls),
        volunteer_ids=[v.id for v in vols],
        placement_ids=[p.id for p in pls],
        countries=countries,
        skills=skills,
        languages=langs,
        modules=mods,
        hosts=hosts,
        nationality=nationality,
        gender=gender,
        birth=birth,
        has_birth=has_birth,
        avail_from=avail_from,
        avail_until=avail_until,
        af_month=af_month,
        af_dom=af_dom,
        au_month=au_month,
        au_dom=au_dom,
        au_eom=is_month_end(avail_until),
        v_min=v_min,
        v_max=v_max,
        clearance=clearance,
        skill_level=skill_level,
        lang_level=lang_level,
        trained=trained,
        excluded=excluded,
        policy_trained=np.all(trained[:, [midx[m] for m in pol.required_training]], axis=1)
        if nv
        else np.zeros(0, dtype=np.bool_),
        group=group,
        group_ids=groups,
        country=np.asarray([cidx[p.country] for p in pls], dtype=np.int32),
        host=np.asarray([hidx[p.host] for p in pls], dtype=np.int32),
        capacity=pints("slots"),
        p_start_earliest=p_start_earliest,
        pse_month=pse_month,
        pse_dom=pse_dom,
        p_start_latest=pdates("start_latest"),
        p_min=pints("min_months"),
        p_max=pints("max_months"),
        priority=pints("priority"),
        security=pints("security_level").astype(np.int8),
        age_min=pints("age_min"),
        age_max=pints("age_max"),
        req_skills=_asks([dict(p.required_skills) for p in pls], sidx, S),
        des_skills=_asks([dict(p.desired_skills) for p in pls], sidx, S),
        req_langs=_asks(cefr, lidx, L),
        des_langs=_asks(cefr_d, lidx, L),
        req_training=_asks([dict.fromkeys(p.required_training, 1) for p in pls], midx, T),
        policy_training=np.asarray([midx[m] for m in pol.required_training], dtype=np.int32),
        policy_training_missing=[m for m in pol.required_training if not have_module[midx[m]]],
        pref_v=pv,
        pref_p=pp,
        pref_pos=ppos,
        pref_len=plen,
        rank_v=rv,
        rank_p=rp,
        rank_pos=rpos,
        rank_len=rlen,
        forbidden_v=fv,
        forbidden_p=fp,
        locked_v=kv,
        locked_p=kp,
        vindex=vindex,
        pindex=pindex,
    )
