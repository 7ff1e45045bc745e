"""Re-check a result against the contract without the solver.

Written independently of the vectorised code on purpose (plain Python, one pair at a
time) so that tests can use it as an oracle for `find_pairs`, the solvers and the result
builder.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter

from volmatch.models import Placement, Result, Round, Volunteer
from volmatch.models.codes import CEFR_RANK


def add_months(d: dt.date, months: int) -> dt.date:
    """`d + months` calendar months, clamped to the end of the target month."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def age(birth: dt.date, on: dt.date) -> int:
    """Whole years between `birth` and `on`."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def pair_violations(r: Round, v: Volunteer, p: Placement) -> list[str]:
    """Names of the hard rules the pair breaks (empty = eligible)."""
    bad: list[str] = []
    if any(v.skills.get(s, 0) < lv for s, lv in p.required_skills.items()):
        bad.append("skills")
    if any(
        CEFR_RANK.get(v.languages.get(lg, ""), 0) < CEFR_RANK[lv]
        for lg, lv in p.required_languages.items()
    ):
        bad.append("languages")
    if not set(r.policy.required_training) | set(p.required_training) <= set(v.training):
        bad.append("training")
    dmin = max(v.min_months, p.min_months)
    if dmin > min(v.max_months, p.max_months):
        bad.append("length")
    s = max(p.start_earliest, v.available_from)
    if s > p.start_latest or add_months(s, dmin) > v.available_until:
        bad.append("dates")
    if p.country in v.excluded_countries or (
        r.policy.international_only and p.country == v.nationality
    ):
        bad.append("country")
    if v.security_clearance < p.security_level:
        bad.append("security")
    if p.age_min is not None or p.age_max is not None:
        s = max(p.start_earliest, v.available_from)
        if v.birth_date is None:
            bad.append("age")
        else:
            a = age(v.birth_date, s)
            if (p.age_min is not None and a < p.age_min) or (
                p.age_max is not None and a > p.age_max
            ):
                bad.append("age")
    if any(f.volunteer == v.id and f.placement == p.id for f in r.policy.forbidden):
        bad.append("forbidden")
    return bad


def expected_schedule(v: Volunteer, p: Placement) -> tuple[dt.date, int]:
    """Start and months the contract prescribes for an eligible pair."""
    s = max(p.start_earliest, v.available_from)
    d = min(v.max_months, p.max_months)
    while add_months(s, d) > v.available_until:
        d -= 1
    return s, d


def validate_result(r: Round, result: Result) -> list[str]:
    """Every way the result breaks the contract's hard rules, capacity, locks or its own
    arithmetic (empty list = valid)."""
    problems: list[str] = []
    vols = {v.id: v for v in r.volunteers}
    pls = {p.id: p for p in r.placements}
    seen = Counter(a.volunteer for a in result.assignments)
    problems += [f"volunteer {v} is placed {n} times" for v, n in seen.items() if n > 1]
    load = Counter(a.placement for a in result.assignments)
    problems += [
        f"placement {p} has {n} volunteers for {pls[p].slots} slots"
        for p, n in load.items()
        if p in pls and n > pls[p].slots
    ]
    for a in result.assignments:
        v, p = vols.get(a.volunteer), pls.get(a.placement)
        if v is None or p is None:
            problems.append(f"assignment {a.volunteer}->{a.placement} names an unknown id")
            continue
        bad = pair_violations(r, v, p)
        if bad:
            problems.append(f"{a.volunteer}->{a.placement} breaks {', '.join(bad)}")
            continue
        start, months = expected_schedule(v, p)
        if (a.start, a.months) != (start, months):
            problems.append(
                f"{a.volunteer}->{a.placement} has start/months {a.start}/{a.months}, "
                f"expected {start}/{months}"
            )
        if sum(a.breakdown.values()) != a.score:
            problems.append(f"{a.volunteer}->{a.placement} score is not the sum of its breakdown")
        if a.score <= 0:
            problems.append(f"{a.volunteer}->{a.placement} has a non-positive score")
    placed = {(a.volunteer, a.placement) for a in result.assignments}
    problems += [
        f"locked pair {k.volunteer}->{k.placement} is missing"
        for k in r.policy.locked
        if (k.volunteer, k.placement) not in placed
    ]
    unmatched = {u.volunteer for u in result.unmatched_volunteers}
    missing = set(vols) - set(seen) - unmatched
    problems += [f"volunteer {v} is neither placed nor listed unmatched" for v in sorted(missing)]
    problems += [
        f"unmatched volunteer {u.volunteer} has no reason"
        for u in result.unmatched_volunteers
        if not u.reasons
    ]
    for p in r.placements:
        open_n = p.slots - load.get(p.id, 0)
        listed = next((o for o in result.open_slots if o.placement == p.id), None)
        if open_n > 0 and (listed is None or listed.open != open_n or not listed.reasons):
            problems.append(f"placement {p.id} has {open_n} open slot(s) not reported with reasons")
    return problems


def rule_violations(r: Round, result: Result) -> list[str]:
    """Every way the result breaks a hard policy rule (groups, nationality mix, host
    caps, budget, moves, frozen stages). Soft rules are penalties, not violations."""
    pol = r.policy
    problems: list[str] = []
    at = {a.volunteer: a.placement for a in result.assignments}
    pls = {p.id: p for p in r.placements}
    vols = {v.id: v for v in r.volunteers}
    groups: dict[str, list[str]] = {}
    for v in r.volunteers:
        if v.group is not None:
            groups.setdefault(v.group, []).append(v.id)
    for g, members in groups.items():
        if len(members) < 2:
            continue
        placed = [m for m in members if m in at]
        if placed and len(placed) != len(members):
            problems.append(f"group {g}: only {', '.join(placed)} of {', '.join(members)} placed")
        elif placed:
            where = (
                {at[m] for m in members}
                if pol.group_together == "placement"
                else {pls[at[m]].country for m in members}
            )
            if len(where) > 1:
                problems.append(f"group {g} is split over {', '.join(sorted(where))}")
    if pol.max_same_nationality_per_placement is not None:
        per = Counter((p, vols[v].nationality) for v, p in at.items())
        problems += [
            f"{p} holds {n} volunteers of nationality {nat}"
            for (p, nat), n in per.items()
            if n > pol.max_same_nationality_per_placement
        ]
    if pol.max_nationality_share_per_country is not None:
        in_country = Counter(pls[p].country for p in at.values())
        per_nat = Counter((pls[p].country, vols[v].nationality) for v, p in at.items())
        pct = round(pol.max_nationality_share_per_country * 100)
        for (c, nat), n in per_nat.items():
            if 100 * n > pct * in_country[c] + 100 * pol.nationality_share_allowance:
                problems.append(f"{n} of {in_country[c]} volunteers in {c} are {nat}")
    if pol.max_per_host is not None:
        per_host = Counter(pls[p].host for p in at.values())
        problems += [
            f"host {h} receives {n} volunteers" for h, n in per_host.items() if n > pol.max_per_host
        ]
    if pol.budget is not None:
        b = pol.budget
        spent = sum(b.cost.get(pls[p].country, b.default_cost) for p in at.values())
        if spent > b.total:
            problems.append(f"the round spends {spent} of a budget of {b.total}")
    if r.previous:
        moved = [a for a in r.previous if at.get(a.volunteer) != a.placement]
        # a previous pair that breaks a hard rule now, or that its placement has no slot
        # left for, moves whatever the limit says
        still = [
            a.placement
            for a in r.previous
            if a.volunteer in vols
            and a.placement in pls
            and not pair_violations(r, vols[a.volunteer], pls[a.placement])
        ]
        overflow = sum(max(0, n - pls[p].slots) for p, n in Counter(still).items())
        forced = len(r.previous) - len(still) + overflow
        limit = None if pol.max_moves is None else max(pol.max_moves, forced)
        if limit is not None and len(moved) > limit:
            problems.append(f"{len(moved)} volunteers moved, more than max_moves {pol.max_moves}")
        problems += [
            f"frozen assignment {a.volunteer}->{a.placement} was moved"
            for a in moved
            if a.stage is not None and a.stage in pol.frozen_stages
        ]
    return problems
