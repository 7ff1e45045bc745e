"""An independent reading of the contract (`shared/DOMAIN.md`, README "Scores"): the
nine hard rules, the score, the assignment's start and length, the optimal total, the
volunteer-optimal stable matching and the exact costs of the reasons.

Written from the contract's text on the raw round document (dicts, defaults applied
here), sharing no code with `volmatch.matching`: where the two disagree, one of them
misreads the contract.
"""

from __future__ import annotations

import calendar
import collections
import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

CEFR_RANK = {"A1": 1, "A2": 2, "B1": 3, "B2": 4, "C1": 5, "C2": 6, "native": 7}
DEFAULT_WEIGHTS = {
    "placed": 500,
    "skills": 300,
    "languages": 200,
    "preference": 200,
    "ranking": 100,
    "priority": 200,
}
FORBID = 10**15
"""A cost no assignment of real scores reaches (scores are at most ~6 x 10^6 each)."""


def _date(x: Any) -> dt.date:
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(str(x))


def _cefr(level: str) -> int:
    return CEFR_RANK["native" if level.lower() == "native" else level.upper()]


def add_months(d: dt.date, n: int) -> dt.date:
    """`d + n` calendar months, a day past the end of the month clamping to its last day."""
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years: a year older on the birthday (a 29 February birthday is
    reached on 1 March in a common year)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class Pair(NamedTuple):
    """An eligible pair with its contract score, start and length."""

    volunteer: str
    placement: str
    start: dt.date
    months: int
    score: int
    breakdown: dict[str, int]


@dataclass
class Round:
    """The document with the contract's defaults filled in."""

    volunteers: list[dict[str, Any]]
    placements: list[dict[str, Any]]
    policy: dict[str, Any]
    slots: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Round:
        vols = []
        for v in doc.get("volunteers", []):
            v = dict(v)
            v.setdefault("min_months", 6)
            v.setdefault("max_months", 12)
            v.setdefault("languages", {})
            v.setdefault("skills", {})
            v.setdefault("training", [])
            v.setdefault("preferences", [])
            v.setdefault("excluded_countries", [])
            v.setdefault("security_clearance", 0)
            vols.append(v)
        pls = []
        for p in doc.get("placements", []):
            p = dict(p)
            if "start" in p:
                p["start_earliest"] = p["start_latest"] = p.pop("start")
            for k in ("required_skills", "desired_skills", "required_languages"):
                p.setdefault(k, {})
            p.setdefault("desired_languages", {})
            p.setdefault("required_training", [])
            p.setdefault("slots", 1)
            p.setdefault("min_months", 6)
            p.setdefault("max_months", 12)
            p.setdefault("priority", 3)
            p.setdefault("security_level", 0)
            p.setdefault("ranking", [])
            pls.append(p)
        pol = dict(doc.get("policy") or {})
        pol.setdefault("mode", "optimal")
        pol.setdefault("required_training", ["pre-deployment"])
        pol.setdefault("international_only", True)
        pol.setdefault("locked", [])
        pol.setdefault("forbidden", [])
        pol["weights"] = {**DEFAULT_WEIGHTS, **(pol.get("weights") or {})}
        return cls(vols, pls, pol, {p["id"]: p["slots"] for p in pls})

    @property
    def forbidden(self) -> set[tuple[str, str]]:
        return {(f["volunteer"], f["placement"]) for f in self.policy["forbidden"]}

    @property
    def locked(self) -> dict[str, str]:
        return {f["volunteer"]: f["placement"] for f in self.policy["locked"]}


def failed_rules(r: Round, v: dict[str, Any], p: dict[str, Any]) -> list[int]:
    """The numbers (1-9) of the hard rules the pair fails."""
    out = []
    if any(v["skills"].get(k, 0) < lvl for k, lvl in p["required_skills"].items()):
        out.append(1)
    langs = {k: _cefr(x) for k, x in v["languages"].items()}
    if any(langs.get(k, 0) < _cefr(x) for k, x in p["required_languages"].items()):
        out.append(2)
    modules = set(r.policy["required_training"]) | set(p["required_training"])
    if not modules <= set(v["training"]):
        out.append(3)
    dmin = max(v["min_months"], p["min_months"])
    if dmin > min(v["max_months"], p["max_months"]):
        out.append(4)
    s = max(_date(p["start_earliest"]), _date(v["available_from"]))
    if s > _date(p["start_latest"]) or add_months(s, dmin) > _date(v["available_until"]):
        out.append(5)
    if p["country"] in v["excluded_countries"] or (
        r.policy["international_only"] and p["country"] == v["nationality"]
    ):
        out.append(6)
    if v["security_clearance"] < p["security_level"]:
        out.append(7)
    if p.get("age_min") is not None or p.get("age_max") is not None:
        b = v.get("birth_date")
        age = None if b is None else age_on(_date(b), s)
        if (
            age is None
            or (p.get("age_min") is not None and age < p["age_min"])
            or (p.get("age_max") is not None and age > p["age_max"])
        ):
            out.append(8)
    if (v["id"], p["id"]) in r.forbidden:
        out.append(9)
    return out


def _ask_fit(have: dict[str, int], asks: Iterable[tuple[str, int]]) -> Fraction:
    fits = [min(Fraction(1), Fraction(have.get(k, 0), want)) for k, want in asks]
    return Fraction(1) if not fits else sum(fits, Fraction(0)) / len(fits)


def _rank_fit(ids: list[str], who: str) -> Fraction:
    if who not in ids:
        return Fraction(0)
    n, k = len(ids), ids.index(who) + 1
    return Fraction(n - k + 1, n)


def score(r: Round, v: dict[str, Any], p: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """The pair's score and its components (the README's table; fits rounded to the
    nearest integer, halves to even)."""
    w = r.policy["weights"]
    langs = {k: _cefr(x) for k, x in v["languages"].items()}
    fits = {
        "skills": _ask_fit(
            v["skills"], [*p["required_skills"].items(), *p["desired_skills"].items()]
        ),
        "languages": _ask_fit(
            langs,
            [
                (k, _cefr(x))
                for k, x in [*p["required_languages"].items(), *p["desired_languages"].items()]
            ],
        ),
        "preference": _rank_fit(list(v["preferences"]), p["id"]),
        "ranking": _rank_fit(list(p["ranking"]), v["id"]),
        "priority": Fraction(p["priority"] - 1, 4),
    }
    parts = {"placed": w["placed"]} | {k: round(w[k] * f) for k, f in fits.items()}
    return sum(parts.values()), parts


def months_of(v: dict[str, Any], p: dict[str, Any], s: dt.date) -> int:
    """The longest length in the overlap that ends by the volunteer's last day."""
    lo = max(v["min_months"], p["min_months"])
    hi = min(v["max_months"], p["max_months"])
    until = _date(v["available_until"])
    return max(d for d in range(lo, hi + 1) if add_months(s, d) <= until)


def eligible_pairs(r: Round) -> dict[tuple[str, str], Pair]:
    """Every pair that keeps the nine hard rules, with its score, start and length."""
    out = {}
    for v in r.volunteers:
        for p in r.placements:
            if failed_rules(r, v, p):
                continue
            total, parts = score(r, v, p)
            s = max(_date(p["start_earliest"]), _date(v["available_from"]))
            out[v["id"], p["id"]] = Pair(v["id"], p["id"], s, months_of(v, p, s), total, parts)
    return out


def best_total(
    r: Round,
    pairs: dict[tuple[str, str], Pair],
    *,
    must_place: dict[str, str | None] | None = None,
    min_fill: dict[str, int] | None = None,
) -> int | None:
    """The optimal total by an assignment on the slot-expanded matrix; `must_place`:
    volunteer -> placement it must take (None: anywhere), `min_fill`: placement -> slots
    that must be filled. None when nothing keeps them all."""
    must: dict[str, str | None] = dict(r.locked)
    for vid, pid in (must_place or {}).items():
        if vid in must and pid not in (None, must[vid]):
            return None  # a lock holds them elsewhere
        must[vid] = must.get(vid) or pid
    vids = [v["id"] for v in r.volunteers]
    slot_of: list[str] = []
    mandatory: list[bool] = []
    for p in r.placements:
        need = (min_fill or {}).get(p["id"], 0)
        for k in range(r.slots[p["id"]]):
            slot_of.append(p["id"])
            mandatory.append(k < need)
    n, m = len(vids), len(slot_of)
    if n + m == 0:
        return 0
    cost = np.zeros((n + m, m + n), dtype=np.float64)
    for i, vid in enumerate(vids):
        for j, pid in enumerate(slot_of):
            pair = pairs.get((vid, pid))
            ok = pair is not None and (vid not in must or must[vid] in (None, pid))
            cost[i, j] = -pair.score if ok and pair is not None else FORBID
        cost[i, m:] = FORBID if vid in must else 0
    for j, req in enumerate(mandatory):
        cost[n:, j] = FORBID if req else 0
    rows, cols = linear_sum_assignment(cost)
    chosen = cost[rows, cols]
    if (chosen >= FORBID).any():
        return None
    return int(-chosen.sum())


def lists(
    r: Round, pairs: dict[tuple[str, str], Pair]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Each side's list of its eligible partners as the contract ranks them: explicit
    `preferences` / `ranking` first, then descending score, ties by id."""
    vlist: dict[str, list[str]] = {}
    for v in r.volunteers:
        mine = [pp for (vv, pp) in pairs if vv == v["id"]]
        named = [p for p in v["preferences"] if p in mine]
        rest = sorted(set(mine) - set(named), key=lambda p: (-pairs[v["id"], p].score, p))
        vlist[v["id"]] = named + rest
    plist: dict[str, list[str]] = {}
    for p in r.placements:
        mine = [vv for (vv, pp) in pairs if pp == p["id"]]
        named = [v for v in p["ranking"] if v in mine]
        rest = sorted(set(mine) - set(named), key=lambda v: (-pairs[v, p["id"]].score, v))
        plist[p["id"]] = named + rest
    return vlist, plist


def stable_matching(
    r: Round, pairs: dict[tuple[str, str], Pair], side: str = "volunteers"
) -> set[tuple[str, str]]:
    """The stable matching that is best for `side` (deferred acceptance, that side
    proposing) on the contract's lists."""
    vlist, plist = lists(r, pairs)
    if side == "volunteers":
        vrank = {p: {v: k for k, v in enumerate(vs)} for p, vs in plist.items()}
        held = _deferred_acceptance(vlist, vrank, dict.fromkeys(vlist, 1), r.slots)
        return {(v, p) for p, vs in held.items() for v in vs}
    prank = {v: {p: k for k, p in enumerate(ps)} for v, ps in vlist.items()}
    held = _deferred_acceptance(plist, prank, r.slots, dict.fromkeys(vlist, 1))
    return {(v, p) for v, ps in held.items() for p in ps}


def _deferred_acceptance(
    lists: dict[str, list[str]],
    rank: dict[str, dict[str, int]],
    proposals: dict[str, int],
    room: dict[str, int],
) -> dict[str, list[str]]:
    """Proposers go down their lists, each making up to `proposals[x]` standing offers;
    receivers keep their best `room[y]` offers."""
    held: dict[str, list[str]] = {y: [] for y in room}
    nxt = dict.fromkeys(lists, 0)
    out = dict.fromkeys(lists, 0)
    free = sorted(lists)
    while free:
        x = free.pop()
        while out[x] < proposals[x] and nxt[x] < len(lists[x]):
            y = lists[x][nxt[x]]
            nxt[x] += 1
            held[y].append(x)
            held[y].sort(key=lambda z: rank[y][z])
            out[x] += 1
            if len(held[y]) > room[y]:
                loser = held[y].pop()
                out[loser] -= 1
                if loser != x:
                    free.append(loser)
    return held


def best_under_rules(
    r: Round, pairs: dict[tuple[str, str], Pair], previous: list[dict[str, Any]]
) -> int | None:
    """The best total under the hard policy rules (groups, nationality cap and share,
    host cap, budget, moves with their cost), by trying every assignment: tiny rounds
    only. None when no assignment keeps them."""
    pol = r.policy
    vol = {v["id"]: v for v in r.volunteers}
    plc = {p["id"]: p for p in r.placements}
    vids = [v["id"] for v in r.volunteers]
    options = [
        [p for p in plc if (vid, p) in pairs and r.locked.get(vid, p) == p]
        + ([] if vid in r.locked else [None])
        for vid in vids
    ]
    prev = {a["volunteer"]: a["placement"] for a in previous}
    best: int | None = None
    for choice in itertools.product(*options):
        at = {v: p for v, p in zip(vids, choice, strict=True) if p is not None}
        if not _rules_hold(r, vol, plc, at, prev):
            continue
        moved = sum(at.get(v) != p for v, p in prev.items())
        total = sum(pairs[v, p].score for v, p in at.items()) - pol.get("move_cost", 0) * moved
        total -= _gender_penalty(r, pairs, vol, at)
        best = total if best is None else max(best, total)
    return best


def _gender_penalty(
    r: Round,
    pairs: dict[tuple[str, str], Pair],
    vol: dict[str, dict[str, Any]],
    at: dict[str, str],
) -> int:
    """`gender_balance`: each placement receiving 2+ volunteers loses the penalty for
    each of female and male its eligible pool offers and it does not hold."""
    pol = r.policy
    if not pol.get("gender_balance"):
        return 0
    lost = 0
    for p in r.placements:
        here = [v for v, q in at.items() if q == p["id"]]
        if len(here) < 2:
            continue
        pool = {vol[v].get("gender") for (v, q) in pairs if q == p["id"]}
        held = {vol[v].get("gender") for v in here}
        lost += sum(g in pool and g not in held for g in ("female", "male"))
    return lost * pol.get("gender_balance_penalty", 200)


def _rules_hold(
    r: Round,
    vol: dict[str, dict[str, Any]],
    plc: dict[str, dict[str, Any]],
    at: dict[str, str],
    prev: dict[str, str],
) -> bool:
    pol = r.policy
    fill = collections.Counter(at.values())
    if any(n > r.slots[p] for p, n in fill.items()):
        return False
    by = "country" if pol.get("group_together") == "country" else "id"
    groups: dict[str, set[Any]] = {}
    for v in r.volunteers:
        if v.get("group"):
            groups.setdefault(v["group"], set()).add(
                plc[at[v["id"]]][by] if v["id"] in at else None
            )
    if any(len(w) > 1 for w in groups.values()):
        return False
    nat = collections.Counter((p, vol[v]["nationality"]) for v, p in at.items())
    cap = pol.get("max_same_nationality_per_placement")
    if cap is not None and max(nat.values(), default=0) > cap:
        return False
    share = pol.get("max_nationality_share_per_country")
    if share is not None:
        in_country = collections.Counter(plc[p]["country"] for p in at.values())
        per = collections.Counter((plc[p]["country"], vol[v]["nationality"]) for v, p in at.items())
        allowance = pol.get("nationality_share_allowance", 1)
        if any(
            Fraction(n) > Fraction(str(share)) * in_country[c] + allowance
            for (c, _), n in per.items()
        ):
            return False
    host_cap = pol.get("max_per_host")
    if (
        host_cap is not None
        and max(collections.Counter(plc[p]["host"] for p in at.values()).values(), default=0)
        > host_cap
    ):
        return False
    budget = pol.get("budget")
    if budget is not None:
        cost = budget.get("cost", {})
        spent = sum(cost.get(plc[p]["country"], budget.get("default_cost", 0)) for p in at.values())
        if spent > budget["total"]:
            return False
    if pol.get("max_moves") is not None:
        moved = sum(at.get(v) != p for v, p in prev.items())
        if moved > max(pol["max_moves"], forced_moves(r, prev)):
            return False
    return True


def forced_moves(r: Round, prev: dict[str, str]) -> int:
    """Previous assignments that change whatever `max_moves` says (docs/policy-rules.md):
    those that break a hard rule now, and per placement those beyond its slots."""
    vol = {v["id"]: v for v in r.volunteers}
    plc = {p["id"]: p for p in r.placements}
    still = collections.Counter(p for v, p in prev.items() if not failed_rules(r, vol[v], plc[p]))
    return len(prev) - sum(still.values()) + sum(max(0, n - r.slots[p]) for p, n in still.items())
