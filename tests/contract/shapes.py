"""Hypothesis strategies for contract-valid round documents of the shapes a programme may
bring, drawn from `shared/DOMAIN.md` and not from `tests/strategies.py` or
`benchmarks/generate.py`: every optional field absent or present, empty asks, many /
one / no eligible slots, month ends and 29 February, age ranges with and without birth
dates, lock and forbid, partial rankings, ties everywhere, extreme weights, odd ids and
unicode text, stable mode, every policy rule, tiny time limits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from tests.contract.oracle import Round, add_months, eligible_pairs

COUNTRIES = ("NP", "KE", "FR", "BR")
LANGS = ("en", "fr", "sw")
LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2", "native")
SKILLS = ("teaching", "wash", "ict-support")
MODULES = ("pre-deployment", "sécurité", "first_aid")
MONTH_ENDS = (
    dt.date(2027, 1, 31),
    dt.date(2027, 2, 28),
    dt.date(2028, 2, 29),
    dt.date(2027, 3, 31),
    dt.date(2027, 4, 30),
    dt.date(2027, 8, 31),
    dt.date(2027, 12, 31),
)
DAYS = (*MONTH_ENDS, dt.date(2027, 3, 1), dt.date(2028, 3, 1), dt.date(2027, 6, 15))
LEAP_BIRTHS = (dt.date(2000, 2, 29), dt.date(2004, 2, 29), dt.date(1996, 2, 29))
ODD_IDS = (".", "-", "_", "a.b-c_D", "x" * 64, "0", "v1", "V1", "V.1", "V-1")
UNICODE_TEXT = ("Zoë Ñandú", "李小龙", "أحمد", "🙂 emoji", "Ωmega\u200b", "")
SHAPES = (
    "bare",
    "full",
    "month_ends",
    "ages",
    "same_nationality",
    "ties",
    "huge_weights",
    "zero_weights",
    "many_slots",
    "locks",
    "prefs",
    "odd_ids",
    "nowhere",
    "crowded",
)
"""Shapes of a pure round (hard rules, locks and forbidden pairs only)."""
RULES = (
    "groups_placement",
    "groups_country",
    "nationality_cap",
    "nationality_share",
    "gender_balance",
    "min_fill",
    "max_per_host",
    "budget",
    "objective_tiers",
    "rematch",
)
"""Policy rules beyond the hard rules (`docs/policy-rules.md`)."""


def _iso(d: dt.date) -> str:
    return d.isoformat()


@st.composite
def a_day(draw: st.DrawFn, month_ends: bool, tight: bool) -> dt.date:
    if month_ends or draw(st.booleans()):
        return draw(st.sampled_from(DAYS if tight else (*DAYS[:2], DAYS[3])))
    return dt.date(2027, 1, 1) + dt.timedelta(days=draw(st.integers(0, 500 if tight else 90)))


def _full_and_day(draw: st.DrawFn, shape: str, tight: bool) -> tuple[bool, dt.date]:
    """Whether the record names every optional field, and its first day."""
    full = shape == "full" or (shape != "bare" and draw(st.booleans()))
    return full, draw(a_day(shape == "month_ends", tight))


@st.composite
def volunteer(
    draw: st.DrawFn, vid: str, shape: str, pids: list[str], tight: bool
) -> dict[str, Any]:
    full, frm = _full_and_day(draw, shape, tight)
    if not tight:
        frm = min(frm, dt.date(2027, 2, 28))
    span = draw(st.sampled_from((1, 3, 6, 12, 24, 36) if tight else (12, 24, 36)))
    until = add_months(frm, span) + dt.timedelta(days=draw(st.sampled_from((-1, 0, 0, 1, 40))))
    until = max(until, frm)
    v: dict[str, Any] = {
        "id": vid,
        "nationality": draw(st.sampled_from(COUNTRIES)),
        "available_from": _iso(frm),
        "available_until": _iso(until),
    }
    if shape == "bare":
        v["training"] = ["pre-deployment"]
        return v
    lo = draw(st.sampled_from((1, 1, 3, 6, 12, 36) if tight else (1, 3, 6)))
    hi = draw(st.sampled_from(sorted({lo, min(36, lo + 2), min(36, lo + 6), 36})))
    if full or draw(st.booleans()):
        v.update(min_months=lo, max_months=hi)
    if tight:
        v["training"] = draw(st.lists(st.sampled_from(MODULES), unique=True))
    else:
        v["training"] = draw(st.sampled_from((list(MODULES), ["pre-deployment"])))
    high = LEVELS if tight else LEVELS[3:]
    if full or not tight or draw(st.booleans()):
        v["languages"] = draw(st.dictionaries(st.sampled_from(LANGS), st.sampled_from(high)))
    if full or not tight or draw(st.booleans()):
        v["skills"] = draw(
            st.dictionaries(st.sampled_from(SKILLS), st.integers(1 if tight else 3, 5))
        )
    if full or shape == "ages" or draw(st.booleans()):
        if shape == "ages" and draw(st.booleans()):
            v["birth_date"] = _iso(draw(st.sampled_from(LEAP_BIRTHS)))
        elif shape == "ages" and draw(st.booleans()):
            base = draw(st.sampled_from(DAYS))
            years = draw(st.integers(17, 31))
            shift = draw(st.sampled_from((-1, 0, 1)))
            v["birth_date"] = _iso(add_months(base, -12 * years) + dt.timedelta(days=shift))
        elif shape != "ages" or draw(st.booleans()):
            v["birth_date"] = _iso(
                dt.date(1990, 1, 1) + dt.timedelta(days=draw(st.integers(0, 5000)))
            )
    if full:
        v["name"] = draw(st.sampled_from(UNICODE_TEXT))
        v["gender"] = draw(st.sampled_from(("female", "male", "other", "undisclosed")))
    elif draw(st.booleans()):
        v["gender"] = draw(st.sampled_from(("female", "male")))
    if pids and (full or shape == "prefs" or draw(st.booleans())):
        v["preferences"] = draw(st.lists(st.sampled_from(pids), unique=True))
    if full or draw(st.integers(0, 3)) == 0:
        v["excluded_countries"] = draw(
            st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=2 if tight else 1)
        )
    if full or draw(st.booleans()):
        v["security_clearance"] = draw(st.integers(0, 3) if tight else st.integers(2, 3))
    return v


@st.composite
def placement(
    draw: st.DrawFn, pid: str, shape: str, vids: list[str], tight: bool
) -> dict[str, Any]:
    full, early = _full_and_day(draw, shape, tight)
    late = early + dt.timedelta(days=draw(st.sampled_from((0, 0, 1, 30, 120))))
    p: dict[str, Any] = {
        "id": pid,
        "host": draw(st.sampled_from(("H1", "H2", "H.3"))),
        "country": draw(st.sampled_from(COUNTRIES)),
    }
    if early == late and draw(st.booleans()):
        p["start"] = _iso(early)
    else:
        p.update(start_earliest=_iso(early), start_latest=_iso(late))
    if shape == "bare":
        return p
    if shape == "many_slots":
        p["slots"] = draw(st.sampled_from((1, 2, 40, 1000)))
    elif full or draw(st.booleans()):
        p["slots"] = draw(st.integers(1, 3))
    lo = draw(st.sampled_from((1, 6, 12, 36) if tight else (1, 3, 6)))
    if full or draw(st.booleans()):
        top = sorted({lo, min(36, lo + 3), 36}) if tight else [36]
        p.update(min_months=lo, max_months=draw(st.sampled_from(top)))
    asks = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2)
    lang_asks = st.dictionaries(st.sampled_from(LANGS), st.sampled_from(LEVELS), max_size=2)
    for key, strat in (
        ("required_skills", asks),
        ("desired_skills", asks),
        ("required_languages", lang_asks),
        ("desired_languages", lang_asks),
    ):
        if full or draw(st.integers(0, 2 if tight or key.startswith("desired") else 5)) == 0:
            p[key] = draw(strat)
    if full or draw(st.integers(0, 3 if tight else 8)) == 0:
        p["required_training"] = draw(st.lists(st.sampled_from(MODULES[1:]), unique=True))
    if full or draw(st.booleans()):
        p["priority"] = draw(st.integers(1, 5))
    if full or draw(st.integers(0, 2)) == 0:
        p["security_level"] = draw(st.integers(0, 3 if tight else 2))
    if shape == "ages" or (full and draw(st.booleans())):
        if draw(st.booleans()):
            p["age_min"] = draw(st.integers(17, 30))
        if draw(st.booleans()):
            p["age_max"] = max(p.get("age_min", 0), draw(st.integers(17, 31)))
    if vids and (full or shape == "prefs" or draw(st.booleans())):
        p["ranking"] = draw(st.lists(st.sampled_from(vids), unique=True))
    if full:
        p["title"] = draw(st.sampled_from(UNICODE_TEXT))
        p["sdg_targets"] = draw(st.lists(st.sampled_from(("4.1", "6.b", "17.6")), unique=True))
        p["needs_assessment"] = {"beneficiaries": 120, "notes": draw(st.sampled_from(UNICODE_TEXT))}
    return p


def _ids(draw: st.DrawFn, prefix: str, n: int, odd: bool) -> list[str]:
    if odd:
        pool = [f"{prefix}{x}" if x in ("0",) else x for x in ODD_IDS]
        got = draw(st.lists(st.sampled_from(pool), unique=True, min_size=n, max_size=n))
        if len(got) == n:
            return got
    return [f"{prefix}{k}" for k in range(1, n + 1)]


@st.composite
def weights(draw: st.DrawFn, shape: str) -> dict[str, int] | None:
    names = ("skills", "languages", "preference", "ranking", "priority")
    if shape == "huge_weights":
        return {"placed": 1_000_000} | dict.fromkeys(names, 1_000_000)
    if shape == "zero_weights":
        return {"placed": draw(st.sampled_from((1, 1_000_000)))} | dict.fromkeys(names, 0)
    if shape == "ties":
        return {"placed": draw(st.integers(1, 9))} | dict.fromkeys(names, 0)
    if draw(st.booleans()):
        return None
    return {k: draw(st.sampled_from((0, 1, 3, 7, 100, 999_999))) for k in names} | {
        "placed": draw(st.sampled_from((1, 2, 500, 1_000_000)))
    }


def _crowd(draw: st.DrawFn, vols: list[dict[str, Any]], pls: list[dict[str, Any]]) -> None:
    """Make nearly every pair eligible, so that volunteers compete for few slots and the
    scores (desired asks, preferences, rankings, priorities) decide."""
    for v in vols:
        v.update(
            available_from="2027-01-01",
            available_until="2029-12-31",
            training=list(MODULES),
            security_clearance=3,
            excluded_countries=[],
            min_months=1,
            max_months=36,
        )
    for p in pls:
        for key in ("required_skills", "required_languages", "required_training", "age_min"):
            p.pop(key, None)
        p.pop("age_max", None)
        p["slots"] = draw(st.integers(1, 2))


@st.composite
def pure_rounds(
    draw: st.DrawFn, shape: str | None = None, max_v: int = 6, max_p: int = 4
) -> dict[str, Any]:
    """A valid round document with only the hard rules, locks and forbidden pairs; locks
    are drawn among eligible pairs within capacity, so the round is solvable."""
    shape = shape or draw(st.sampled_from(SHAPES))
    nv = draw(st.integers(0 if shape == "bare" else 1, max_v + 2 * (shape == "crowded")))
    npl = draw(st.integers(0 if shape == "bare" else 1, max_p))
    vids = _ids(draw, "V", nv, shape == "odd_ids")
    pids = _ids(draw, "P", npl, shape == "odd_ids")
    tight = shape in ("month_ends", "ages") or draw(st.integers(0, 3)) == 0
    vols = [draw(volunteer(v, shape, pids, tight)) for v in vids]
    pls = [draw(placement(p, shape, vids, tight)) for p in pids]
    if shape == "same_nationality":
        for v in vols:
            v["nationality"] = "KE"
            v.pop("excluded_countries", None)
        for p in pls:
            p["country"] = "KE"
    if shape == "crowded":
        _crowd(draw, vols, pls)
    if shape == "nowhere" and vols:
        vols[0]["excluded_countries"] = list(COUNTRIES)
    doc: dict[str, Any] = {"volunteers": vols, "placements": pls}
    if shape == "bare" and draw(st.booleans()):
        return doc
    policy: dict[str, Any] = {}
    if shape == "same_nationality" or draw(st.booleans()):
        policy["international_only"] = draw(st.booleans()) if shape != "same_nationality" else True
    if draw(st.integers(0, 3)) == 0:
        policy["required_training"] = draw(st.lists(st.sampled_from(MODULES), unique=True))
    w = draw(weights(shape))
    if w is not None:
        policy["weights"] = w
    if draw(st.integers(0, 3)) == 0:
        policy["seed"] = draw(st.integers(0, 2**31 - 1))
    if draw(st.integers(0, 3)) == 0:
        policy["stable_side"] = draw(st.sampled_from(("volunteers", "hosts")))
    if draw(st.integers(0, 4)) == 0:
        policy["time_limit_s"] = draw(st.sampled_from((0.001, 0.01, 1)))
    if vids and pids and (shape in ("locks", "full") or draw(st.integers(0, 3)) == 0):
        policy["forbidden"] = [
            {"volunteer": draw(st.sampled_from(vids)), "placement": draw(st.sampled_from(pids))}
            for _ in range(draw(st.integers(1, 3)))
        ]
    doc["policy"] = policy
    if shape in ("locks", "full") or draw(st.integers(0, 3)) == 0:
        pairs = sorted(eligible_pairs(Round.of(doc)))
        picked = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3)) if pairs else []
        room = {p["id"]: p.get("slots", 1) for p in pls}
        locked, taken = [], set()
        for vid, pid in picked:
            if vid not in taken and room[pid] > 0:
                taken.add(vid)
                room[pid] -= 1
                locked.append({"volunteer": vid, "placement": pid})
        if locked:
            policy["locked"] = locked
    return doc


@st.composite
def ruled_rounds(draw: st.DrawFn, rule: str | None = None) -> dict[str, Any]:
    """A valid round with one or more policy rules on (`RULES`)."""
    doc = draw(pure_rounds(max_v=6, max_p=3))
    rules = {rule} if rule else set(draw(st.lists(st.sampled_from(RULES), min_size=1, max_size=3)))
    pol = doc.setdefault("policy", {})
    pol["time_limit_s"] = draw(st.sampled_from((0.05, 2)))
    pol["rule_costs"] = draw(st.sampled_from((False, None)))
    vols, pls = doc["volunteers"], doc["placements"]
    if {"groups_placement", "groups_country"} & rules:
        for k, v in enumerate(vols):
            if draw(st.integers(0, 2)) == 0:
                v["group"] = f"g{k % 2}"
        pol["group_together"] = "country" if "groups_country" in rules else "placement"
    if "nationality_cap" in rules:
        pol["max_same_nationality_per_placement"] = draw(st.integers(1, 2))
    if "nationality_share" in rules:
        pol["max_nationality_share_per_country"] = draw(st.sampled_from((0.01, 0.5, 1.0)))
        pol["nationality_share_allowance"] = draw(st.integers(0, 2))
    if "gender_balance" in rules:
        pol["gender_balance"] = True
        pol["gender_balance_penalty"] = draw(st.sampled_from((0, 200, 1_000_000)))
    if "min_fill" in rules:
        pol["min_fill"] = {str(draw(st.integers(1, 5))): draw(st.integers(1, 3))}
    if "max_per_host" in rules:
        pol["max_per_host"] = draw(st.integers(1, 3))
    if "budget" in rules:
        pol["budget"] = {
            "total": draw(st.sampled_from((0, 1, 500, 10**12))),
            "cost": {"NP": draw(st.integers(0, 400))},
            "default_cost": draw(st.sampled_from((0, 250))),
        }
    if "objective_tiers" in rules:
        pol["objective"] = draw(st.permutations(["urgent_coverage", "score", "fairness"]).map(list))
        pol["objective_tolerance"] = draw(st.sampled_from((0, 0.1)))
        pol["fairness_by"] = draw(st.sampled_from(("nationality", "host")))
    if "rematch" in rules and pls:
        doc["previous"] = [
            {
                "volunteer": v["id"],
                "placement": draw(st.sampled_from([p["id"] for p in pls])),
                "stage": draw(st.sampled_from(("visa", "offer"))),
            }
            for v in vols
            if draw(st.booleans())
        ]
        pol["move_cost"] = draw(st.sampled_from((0, 100)))
        if draw(st.booleans()):
            pol["max_moves"] = draw(st.integers(0, 2))
        if draw(st.booleans()):
            pol["frozen_stages"] = ["visa"]
    return doc


BRUTE_RULES = (
    "groups_placement",
    "groups_country",
    "nationality_cap",
    "nationality_share",
    "max_per_host",
    "budget",
    "rematch",
    "gender_balance",
)
"""The rules `oracle.best_under_rules` knows: hard caps, groups, moves and the gender
penalty (not `min_fill` and the objective tiers)."""


@st.composite
def tiny_ruled_rounds(draw: st.DrawFn) -> dict[str, Any]:
    """A round of at most 5 volunteers with one to three of `BRUTE_RULES` on, time
    enough to prove the optimum."""
    rules = draw(st.lists(st.sampled_from(BRUTE_RULES), min_size=1, max_size=3, unique=True))
    d = draw(ruled_rounds(rules[0]))
    for extra in rules[1:]:
        more = draw(ruled_rounds(extra))["policy"]
        d["policy"].update({k: v for k, v in more.items() if k not in PAIR_RULES})
    d["policy"]["time_limit_s"] = 5
    d["volunteers"] = d["volunteers"][:5]
    vids = {v["id"] for v in d["volunteers"]}
    for k in ("locked", "forbidden"):
        if k in d["policy"]:
            d["policy"][k] = [x for x in d["policy"][k] if x["volunteer"] in vids]
    for p in d["placements"]:
        if "ranking" in p:
            p["ranking"] = [x for x in p["ranking"] if x in vids]
    if "previous" in d:
        d["previous"] = [x for x in d["previous"] if x["volunteer"] in vids]
    return d


PAIR_RULES = ("locked", "forbidden", "weights")
"""Policy fields drawn with the round's own records: kept from the first draw."""
