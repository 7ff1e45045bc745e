"""An independent reading of the contract (`shared/DOMAIN.md`, README "Scores"): the
nine hard rules, the score, the assignment's start and length, the optimal total, the
volunteer-optimal stable matching and the exact costs of the reasons.

Written from the contract's text on the raw round document (dicts, defaults applied
here), sharing no code with `volmatch.matching`: where the two disagree, one of them
misreads the contract.
"""

from __future__ import annotations

import calendar
import datetime as dt
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
    must = {**r.locked, **(must_place or {})}
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


def stable_matching(r: Round, pairs: dict[tuple[str, str], Pair]) -> set[tuple[str, str]]:
    """The volunteer-optimal stable matching (deferred acceptance, volunteers proposing)
    on the contract's lists: explicit preferences / ranking first, then descending score,
    ties by id."""
    vlist: dict[str, list[str]] = {}
    for v in r.volunteers:
        mine = [pp for (vv, pp) in pairs if vv == v["id"]]
        named = [p for p in v["preferences"] if p in mine]
        rest = sorted(
            (p for p in mine if p not in named), key=lambda p: (-pairs[v["id"], p].score, p)
        )
        vlist[v["id"]] = named + rest
    prank: dict[str, dict[str, int]] = {}
    for p in r.placements:
        mine = [vv for (vv, pp) in pairs if pp == p["id"]]
        named = [v for v in p["ranking"] if v in mine]
        rest = sorted(
            (v for v in mine if v not in named), key=lambda v: (-pairs[v, p["id"]].score, v)
        )
        prank[p["id"]] = {v: k for k, v in enumerate(named + rest)}
    held: dict[str, list[str]] = {p["id"]: [] for p in r.placements}
    nxt = dict.fromkeys(vlist, 0)
    free = sorted(vlist)
    while free:
        vid = free.pop()
        if nxt[vid] >= len(vlist[vid]):
            continue
        pid = vlist[vid][nxt[vid]]
        nxt[vid] += 1
        held[pid].append(vid)
        held[pid].sort(key=lambda x: prank[pid][x])
        if len(held[pid]) > r.slots[pid]:
            free.append(held[pid].pop())
    return {(vid, pid) for pid, vs in held.items() for vid in vs}
