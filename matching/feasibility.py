"""Feasibility of one need against a round's pool: who each requirement removes, and
the smallest change of each requirement that would admit more people.

A need's eligibility splits into atomic requirements, each a test of one volunteer
number against one placement number (French >= C1, clearance >= 2, available by the
latest start ...). Their AND is exactly the contract's nine hard rules (a test compares
them with `eligibility.check_rules`). Per requirement, the volunteers who fail it but
pass every other one are the people a relaxation of it alone could admit; the nearest
relaxed threshold among theirs is the smallest change that admits anyone, and how many
it admits is counted exactly. Everything is vectorised over the pool: no pairs, no
solver, a few milliseconds at 100,000 volunteers.

Dates: the service starts on `s = max(start_earliest, available_from)`. Moving the
latest start later only admits (people available later). Moving the earliest start
earlier gives people whose availability ends early more months, but makes everyone
starting then younger: its change counts who it admits and who it loses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.dates import age_on, split_days, to_days
from volmatch.matching.eligibility import RULES, schedule_calendar
from volmatch.matching.failures import language
from volmatch.models import Placement
from volmatch.models.codes import CEFR_LEVELS, CEFR_RANK

B = NDArray[np.bool_]
I64 = NDArray[np.int64]
I32 = NDArray[np.int32]

MAX_MONTHS: Final = 36
"""The contract's longest length of service: a `max_months` change never goes past it."""


@dataclass(frozen=True)
class Requirement:
    """One atomic requirement of a need and who passes it."""

    key: str
    """`skill:teaching`, `language:fr`, `training:security`, `training:policy`,
    `length_min`, `length_max`, `own_length`, `start_latest`, `window`, `months`,
    `country`, `security`, `age_min`, `age_max`, `forbidden`."""
    rule: str
    """The hard rule (`eligibility.RULES`) it belongs to."""
    passes: B


@dataclass(frozen=True)
class Change:
    """The smallest change of one requirement that admits more people."""

    requirement: str
    rule: str
    field: str
    """The placement field to change (`required_languages.fr`, `start_latest` ...)."""
    current: object
    proposed: object
    """The new value; None where the requirement is dropped."""
    admits: int
    """Volunteers eligible after the change who are not now."""
    loses: int = 0
    """Volunteers eligible now who are not after it (only an earlier start can)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "requirement": self.requirement,
            "rule": self.rule,
            "field": self.field,
            "current": self.current,
            "proposed": self.proposed,
            "admits": self.admits,
            "loses": self.loses,
            "text": self.text(),
        }

    def text(self) -> str:
        """One line: what to change and how many it adds."""
        gain = f"+{self.admits}" + (f" (-{self.loses})" if self.loses else "")
        what = self.requirement.split(":", 1)[-1]
        if self.rule == "skills":
            if self.proposed is None:
                return f"without the {what} requirement: {gain}"
            return f"{what} at level {self.proposed} instead of {self.current}: {gain}"
        if self.rule == "languages":
            name = language(what)
            if self.proposed is None:
                return f"without the {name} requirement: {gain}"
            return f"{name} at {self.proposed} instead of {self.current}: {gain}"
        if self.rule == "training":
            return f"without the training module {what!r}: {gain}"
        if self.field == "min_months":
            return f"{self.proposed} months instead of {self.current}: {gain}"
        if self.field == "max_months":
            return f"up to {self.proposed} months instead of {self.current}: {gain}"
        if self.field == "start_latest":
            return f"latest start {self.proposed} instead of {self.current}: {gain}"
        if self.field == "start_earliest":
            return f"earliest start {self.proposed} instead of {self.current}: {gain}"
        if self.field == "security_level":
            return f"security level {self.proposed} instead of {self.current}: {gain}"
        if self.field == "age_min":
            return f"minimum age {self.proposed} instead of {self.current}: {gain}"
        return f"maximum age {self.proposed} instead of {self.current}: {gain}"


@dataclass(frozen=True)
class RuleCount:
    """How many volunteers one hard rule removes."""

    fail: int
    """Volunteers failing the rule."""
    only: int
    """Volunteers failing this rule and no other: it alone keeps them out."""


@dataclass(frozen=True)
class Feasibility:
    """A need against the pool."""

    eligible: B
    """Per volunteer of the pool: passes every hard rule."""
    rules: dict[str, RuleCount]
    changes: list[Change]
    requirements: list[Requirement] = field(repr=False)

    @property
    def n_eligible(self) -> int:
        return int(self.eligible.sum())

    def as_dict(self) -> dict[str, object]:
        """`pool` (volunteers counted), `eligible`, `rules` and `changes` as
        `volmatch advise --json` and the service print them."""
        return {
            "pool": len(self.eligible),
            "eligible": self.n_eligible,
            "rules": {k: {"fail": v.fail, "only": v.only} for k, v in self.rules.items()},
            "changes": [ch.as_dict() for ch in self.changes],
        }


@dataclass(frozen=True)
class _Start:
    """Per volunteer: the start day of service at this need and the whole months from it
    to the end of their availability."""

    day: I32
    fit: I32
    at_own: B
    """Starts at their own availability (later than the need's earliest start)."""


def _start(c: CompiledRound, earliest: int) -> _Start:
    cal = schedule_calendar(c)
    at_own = cal.af > earliest
    month, dom = split_days(np.array([earliest], dtype=np.int64))
    pse_code = int(month[0]) * 32 + int(dom[0])
    # int32 as the calendar holds them (days and month codes fit): half the memory traffic
    early = (cal.au_code - np.int32(pse_code)) >> 5
    fit = np.where(at_own, cal.own, early)
    return _Start(np.where(at_own, cal.af, np.int32(earliest)), fit, at_own)


AGE_THRESHOLDS_KEPT: Final = 64
"""Ages whose first days are kept per compiled pool: every age a need may ask (18-70
in practice), about 800 KB each at 100,000 volunteers."""


def first_day_of_age(c: CompiledRound, years: int) -> I64:
    """Per volunteer of `c`: the first day on which they are `years` old, as `age_on`
    counts, cached on the compiled pool (`age_on` converts 100,000 dates to years and
    months: about 90 ms; comparing the start day with this, well under one)."""
    key = f"first_day_of_age:{years}"
    got = c.cache.get(key)
    if isinstance(got, np.ndarray):
        return got
    out = _first_day_of_age(c.birth.astype(np.int64), years)
    if sum(1 for k in c.cache if k.startswith("first_day_of_age:")) < AGE_THRESHOLDS_KEPT:
        c.cache[key] = out
    return out


_MATRICES: Final = ("skill_level", "lang_level", "trained", "excluded")
"""The compiled pool's volunteer x code matrices a need reads one column of."""


def _column(c: CompiledRound, matrix: str, j: int) -> NDArray[np.uint8]:
    """Column `j` of one of `_MATRICES` as uint8, contiguous: the matrices are stored a
    volunteer per row, so a column read touches a cache line per volunteer; their
    transposes are kept on the compiled pool (a few MB at 100,000 volunteers), built on
    first use."""
    key = f"columns:{matrix}"
    cols = c.cache.get(key)
    if not isinstance(cols, np.ndarray):
        cols = np.ascontiguousarray(getattr(c, matrix).view(np.uint8).T)
        c.cache[key] = cols
    out: NDArray[np.uint8] = cols[j]
    return out


def _levels(c: CompiledRound, matrix: str, names: list[str], code: str) -> NDArray[np.uint8]:
    """The column for `code` of one of `_MATRICES` (zeros where nobody has it)."""
    try:
        return _column(c, matrix, names.index(code))
    except ValueError:
        return np.zeros(c.n_volunteers, dtype=np.uint8)


def requirements(
    c: CompiledRound,
    p: Placement,
    forbidden_index: int | None = None,
    st: _Start | None = None,
) -> list[Requirement]:
    """The atomic requirements of need `p` over the pool of `c` (`forbidden_index`: the
    need's row in `c` where the coordinator's forbidden pairs apply; `st`: the need's
    `_start`, where the caller has it)."""
    if st is None:
        st = _start(c, to_days(p.start_earliest))
    return [*_fixed_requirements(c, p, forbidden_index), *_start_requirements(c, p, st)]


def _fixed_requirements(
    c: CompiledRound, p: Placement, forbidden_index: int | None
) -> list[Requirement]:
    """The requirements that do not depend on the day service starts."""
    out: list[Requirement] = []
    n = c.n_volunteers
    for s, lv in sorted(p.required_skills.items()):
        have = _levels(c, "skill_level", c.skills, s)
        out.append(Requirement(f"skill:{s}", "skills", have >= lv))
    for lg, level in sorted(p.required_languages.items()):
        have = _levels(c, "lang_level", c.languages, lg)
        out.append(Requirement(f"language:{lg}", "languages", have >= CEFR_RANK[level]))
    out.append(Requirement("training:policy", "training", c.policy_trained.copy()))
    policy = set(c.round.policy.required_training)
    for m in sorted(set(p.required_training) - policy):
        has = _levels(c, "trained", c.modules, m).astype(np.bool_)
        out.append(Requirement(f"training:{m}", "training", has))
    out.append(Requirement("own_length", "length", c.v_min <= c.v_max))
    out.append(Requirement("length_min", "length", c.v_max >= p.min_months))
    out.append(Requirement("length_max", "length", c.v_min <= p.max_months))
    out.append(Requirement("start_latest", "dates", c.avail_from <= to_days(p.start_latest)))
    if p.country in c.countries:
        ok = ~_column(c, "excluded", c.countries.index(p.country)).view(np.bool_)
    else:
        ok = np.ones(n, np.bool_)
    if c.round.policy.international_only and p.country in c.countries:
        ok &= c.nationality != c.countries.index(p.country)
    out.append(Requirement("country", "country", ok))
    out.append(Requirement("security", "security", c.clearance >= p.security_level))
    if forbidden_index is not None and len(c.forbidden_v):
        ok = np.ones(n, np.bool_)
        ok[c.forbidden_v[c.forbidden_p == forbidden_index]] = False
        out.append(Requirement("forbidden", "forbidden", ok))
    return out


def _start_requirements(c: CompiledRound, p: Placement, st: _Start) -> list[Requirement]:
    """The requirements that depend on the day service starts (`st`)."""
    out = [
        Requirement("window", "dates", st.fit >= c.v_min),
        Requirement("months", "dates", st.fit >= p.min_months),
    ]
    if p.age_min is not None:
        old_enough = st.day >= first_day_of_age(c, p.age_min)
        out.append(Requirement("age_min", "age", c.has_birth & old_enough))
    if p.age_max is not None:
        young_enough = st.day < first_day_of_age(c, p.age_max + 1)
        out.append(Requirement("age_max", "age", c.has_birth & young_enough))
    return out


def _all(masks: list[B], n: int) -> B:
    out = np.ones(n, dtype=np.bool_)
    for m in masks:
        out &= m
    return out


def rule_masks(reqs: list[Requirement], n: int) -> dict[str, B]:
    """Per hard rule, in the contract's order: who passes it, as `check_rules` decides."""
    return {r: _all([q.passes for q in reqs if q.rule == r], n) for r in RULES}


def _failures(masks: list[B], n: int) -> NDArray[np.uint8]:
    """Per volunteer: how many of `masks` they fail (one pass each: cheaper than an AND
    of all the others per requirement)."""
    out = np.zeros(n, dtype=np.uint8)
    for m in masks:
        out += ~m
    return out


def _blocked(reqs: list[Requirement], total: NDArray[np.uint8], keys: set[str]) -> B:
    """Who passes every requirement whose key is not in `keys` and fails one of those
    (`total`: `_failures` of every requirement)."""
    inside = _failures([q.passes for q in reqs if q.key in keys], len(total))
    out: B = (inside == total) & (inside > 0)
    return out


def feasibility(c: CompiledRound, p: Placement, forbidden_index: int | None = None) -> Feasibility:
    """The need `p` against the pool of `c`: who is eligible, how many each hard rule
    removes, and each requirement's smallest change that admits more people."""
    n = c.n_volunteers
    st = _start(c, to_days(p.start_earliest))
    reqs = requirements(c, p, forbidden_index, st)
    total = _failures([q.passes for q in reqs], n)
    eligible = total == 0
    rules = rule_masks(reqs, n)
    by_rule = _failures(list(rules.values()), n)
    alone = by_rule == 1
    counts: dict[str, RuleCount] = {}
    for rule, ok in rules.items():
        counts[rule] = RuleCount(int(n - np.count_nonzero(ok)), int(np.count_nonzero(alone & ~ok)))
    changes = _changes(c, p, reqs, total, st)
    return Feasibility(eligible, counts, changes, reqs)


def _changes(
    c: CompiledRound,
    p: Placement,
    reqs: list[Requirement],
    total: NDArray[np.uint8],
    st: _Start,
) -> list[Change]:
    by_key = {q.key: q for q in reqs}
    out: list[Change] = []

    def blocked(*keys: str) -> B:
        """Who passes every requirement but `keys` and fails one of those."""
        return _blocked(reqs, total, set(keys))

    def lowest(
        key: str,
        have: NDArray[np.integer],
        current: object,
        fld: str,
        show: Callable[[int], object] = int,
    ) -> None:
        """The highest level below the one asked that someone held back by `key` has."""
        cand = blocked(key)
        if not cand.any():
            return
        best = int(have[cand].max())
        admits = int((have[cand] >= best).sum())
        proposed = show(best) if best > 0 else None
        out.append(Change(key, by_key[key].rule, fld, current, proposed, admits))

    for s, lv in sorted(p.required_skills.items()):
        lowest(f"skill:{s}", _levels(c, "skill_level", c.skills, s), lv, f"required_skills.{s}")
    for lg, level in sorted(p.required_languages.items()):
        lowest(
            f"language:{lg}",
            _levels(c, "lang_level", c.languages, lg),
            level,
            f"required_languages.{lg}",
            lambda rank: CEFR_LEVELS[rank - 1],
        )
    own_modules = [q.key for q in reqs if q.rule == "training" and q.key != "training:policy"]
    for key in own_modules:
        cand = blocked(key)
        if cand.any():
            out.append(
                Change(
                    key,
                    "training",
                    "required_training",
                    key.split(":", 1)[1],
                    None,
                    int(cand.sum()),
                )
            )
    cand = blocked("security")
    if cand.any():
        best = int(c.clearance[cand].max())
        out.append(
            Change(
                "security",
                "security",
                "security_level",
                p.security_level,
                best,
                int((c.clearance[cand] >= best).sum()),
            )
        )
    # months: lowering min_months helps where the volunteer's max or their window is short
    cand = blocked("length_min", "months")
    reach = np.minimum(c.v_max, st.fit)
    cand &= reach >= 1
    if cand.any():
        best = int(reach[cand].max())
        out.append(
            Change(
                "months",
                "length",
                "min_months",
                p.min_months,
                best,
                int((reach[cand] >= best).sum()),
            )
        )
    cand = blocked("length_max") & (c.v_min <= MAX_MONTHS)
    if cand.any():
        best = int(c.v_min[cand].min())
        out.append(
            Change(
                "length_max",
                "length",
                "max_months",
                p.max_months,
                best,
                int((c.v_min[cand] <= best).sum()),
            )
        )
    cand = blocked("start_latest")
    if cand.any():
        best = int(c.avail_from[cand].min())
        out.append(
            Change(
                "start_latest",
                "dates",
                "start_latest",
                str(p.start_latest),
                str(_date(best)),
                int((c.avail_from[cand] <= best).sum()),
            )
        )
    earlier = _earlier_start(c, p, reqs, total, st)
    if earlier is not None:
        out.append(earlier)
    for key, fld, cur in (("age_min", "age_min", p.age_min), ("age_max", "age_max", p.age_max)):
        if key not in by_key:
            continue
        cand = blocked(key) & c.has_birth
        if not cand.any():
            continue
        age = age_on(c.birth[cand], st.day[cand].astype(np.int64))
        best = int(age.max() if key == "age_min" else age.min())
        hit = age >= best if key == "age_min" else age <= best
        out.append(Change(key, "age", fld, cur, best, int(hit.sum())))
    return out


def _date(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def _first_day_of_age(birth: I64, years: int) -> I64:
    """The first day on which people born on `birth` are `years` old, as `age_on`
    counts (29 February birthdays turn on 1 March in other years)."""
    month, dom = split_days(birth)
    first = (month + 12 * years).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return first + dom


def _latest_start(c: CompiledRound, vis: I64, months: I64) -> I64:
    """Per volunteer of `vis`: the last day on which a service of `months` months may start and
    still end by the end of their availability (as `schedule` counts months)."""
    cal = schedule_calendar(c)
    target = cal.au_code[vis].astype(np.int64) - 32 * months
    month, day = target >> 5, target & 31
    first = month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    nxt = (month + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    out: I64 = first + np.minimum(day, nxt - first - 1)
    return out


_START_KEYS: Final = ("window", "months", "age_min", "age_max")
"""The requirements that depend on the day service starts."""


def _earlier_start(
    c: CompiledRound,
    p: Placement,
    reqs: list[Requirement],
    total: NDArray[np.uint8],
    st: _Start,
) -> Change | None:
    """The latest earliest-start before the current one that admits someone: per
    volunteer held back only by the start-dependent requirements, the days their
    start may take form an interval (enough months before the end of availability and
    under the maximum age: not after some day; old enough: not before some day); the
    change is the latest day in any of them."""
    n = c.n_volunteers
    keys = {q.key for q in reqs if q.key in _START_KEYS}
    cand = _blocked(reqs, total, keys)
    earliest = to_days(p.start_earliest)
    cand &= ~st.at_own & (c.avail_from < earliest)
    if p.age_min is not None or p.age_max is not None:
        cand &= c.has_birth
    if not cand.any():
        return None
    idx = np.flatnonzero(cand)
    dmin = np.maximum(c.v_min[idx], p.min_months)
    hi = np.minimum(_latest_start(c, idx, dmin), earliest - 1)
    lo = c.avail_from[idx].copy()
    if p.age_min is not None:
        lo = np.maximum(lo, _first_day_of_age(c.birth[idx], p.age_min))
    if p.age_max is not None:
        hi = np.minimum(hi, _first_day_of_age(c.birth[idx], p.age_max + 1) - 1)
    ok = lo <= hi
    if not ok.any():
        return None
    day = int(hi[ok].max())
    # only the start-dependent requirements change with the start
    moved = p.model_copy(update={"start_earliest": _date(day)})
    fixed = [q.passes for q in reqs if q.key not in _START_KEYS]
    after = _all(fixed + [q.passes for q in _start_requirements(c, moved, _start(c, day))], n)
    before = total == 0
    return Change(
        "start_earliest",
        "dates",
        "start_earliest",
        str(p.start_earliest),
        str(_date(day)),
        int((after & ~before).sum()),
        int((before & ~after).sum()),
    )
