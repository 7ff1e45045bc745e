"""Hypothesis strategies for random, valid round documents (small vocabularies so that
rules bind often)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

COUNTRIES = ["CN", "NP", "KE", "SN", "TH"]
LANGS = ["en", "fr", "ne"]
LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2", "native"]
SKILLS = ["teaching", "health", "ict"]
MODULES = ["pre-deployment", "security"]
BASE = dt.date(2027, 1, 1)


def _day(offset: int) -> str:
    return (BASE + dt.timedelta(days=offset)).isoformat()


@st.composite
def volunteer(draw: st.DrawFn, i: int, n_placements: int, with_prefs: bool) -> dict[str, Any]:
    frm = draw(st.integers(0, 200))
    length = draw(st.integers(60, 600))
    vmin = draw(st.integers(1, 12))
    v: dict[str, Any] = {
        "id": f"V{i:02d}",
        "nationality": draw(st.sampled_from(COUNTRIES)),
        "gender": draw(st.sampled_from(["female", "male", "other", "undisclosed"])),
        "languages": draw(st.dictionaries(st.sampled_from(LANGS), st.sampled_from(LEVELS))),
        "skills": draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5))),
        "training": draw(st.lists(st.sampled_from(MODULES), unique=True)),
        "available_from": _day(frm),
        "available_until": _day(frm + length),
        "min_months": vmin,
        "max_months": draw(st.integers(vmin, 14)),
        "security_clearance": draw(st.integers(0, 3)),
        "excluded_countries": draw(st.lists(st.sampled_from(COUNTRIES), max_size=1)),
    }
    if draw(st.booleans()):
        v["birth_date"] = _day(-draw(st.integers(18 * 365, 40 * 365)))
    if with_prefs and n_placements:
        v["preferences"] = draw(
            st.lists(
                st.sampled_from([f"P{k:02d}" for k in range(n_placements)]), unique=True, max_size=3
            )
        )
    return v


@st.composite
def placement(draw: st.DrawFn, i: int, n_volunteers: int, with_prefs: bool) -> dict[str, Any]:
    earliest = draw(st.integers(0, 200))
    pmin = draw(st.integers(1, 12))
    p: dict[str, Any] = {
        "id": f"P{i:02d}",
        "host": f"H{draw(st.integers(0, 2))}",
        "country": draw(st.sampled_from(COUNTRIES)),
        "slots": draw(st.integers(1, 3)),
        "required_skills": draw(
            st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 4), max_size=1)
        ),
        "desired_skills": draw(
            st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2)
        ),
        "required_languages": draw(
            st.dictionaries(st.sampled_from(LANGS), st.sampled_from(LEVELS[:4]), max_size=1)
        ),
        "desired_languages": draw(
            st.dictionaries(st.sampled_from(LANGS), st.sampled_from(LEVELS), max_size=2)
        ),
        "required_training": draw(st.lists(st.sampled_from(MODULES[1:]), unique=True)),
        "start_earliest": _day(earliest),
        "start_latest": _day(earliest + draw(st.integers(0, 120))),
        "min_months": pmin,
        "max_months": draw(st.integers(pmin, 14)),
        "priority": draw(st.integers(1, 5)),
        "security_level": draw(st.integers(0, 2)),
    }
    if draw(st.integers(0, 3)) == 0:
        p["age_min"] = draw(st.integers(18, 25))
    if draw(st.integers(0, 3)) == 0:
        p["age_max"] = draw(st.integers(26, 40))
    if with_prefs and n_volunteers:
        p["ranking"] = draw(
            st.lists(
                st.sampled_from([f"V{k:02d}" for k in range(n_volunteers)]), unique=True, max_size=3
            )
        )
    return p


@st.composite
def round_docs(
    draw: st.DrawFn, max_volunteers: int = 10, max_placements: int = 6, forbid: bool = True
) -> dict[str, Any]:
    """A valid round document (dict). Training mostly present so pairs exist."""
    nv = draw(st.integers(1, max_volunteers))
    npl = draw(st.integers(1, max_placements))
    prefs = draw(st.booleans())
    vols = [draw(volunteer(i, npl, prefs)) for i in range(nv)]
    for v in vols:
        if draw(st.integers(0, 5)) > 0 and "pre-deployment" not in v["training"]:
            v["training"].append("pre-deployment")
    pls = [draw(placement(i, nv, prefs)) for i in range(npl)]
    policy: dict[str, Any] = {"international_only": draw(st.booleans())}
    if forbid and draw(st.booleans()):
        policy["forbidden"] = [
            {
                "volunteer": f"V{draw(st.integers(0, nv - 1)):02d}",
                "placement": f"P{draw(st.integers(0, npl - 1)):02d}",
            }
        ]
    if draw(st.booleans()):
        policy["weights"] = {
            "placed": draw(st.integers(1, 600)),
            "skills": draw(st.integers(0, 400)),
            "preference": draw(st.integers(0, 400)),
        }
    return {"volunteers": vols, "placements": pls, "policy": policy}


@st.composite
def ruled_docs(draw: st.DrawFn) -> dict[str, Any]:
    """Small random rounds with groups and a random set of policy rules on."""
    d = draw(round_docs(max_volunteers=9, max_placements=5))
    for v in d["volunteers"]:
        if draw(st.integers(0, 3)) == 0:
            v["group"] = f"g{draw(st.integers(0, 2))}"
    pol = d.setdefault("policy", {})
    pol["time_limit_s"] = 5
    pol["rule_costs"] = False
    if draw(st.booleans()):
        pol["max_same_nationality_per_placement"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        pol["max_nationality_share_per_country"] = draw(st.sampled_from([0.3, 0.5, 0.8]))
        pol["nationality_share_allowance"] = draw(st.integers(0, 1))
    if draw(st.booleans()):
        pol["max_per_host"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        pol["budget"] = {
            "total": draw(st.integers(0, 1500)),
            "cost": {"NP": 300, "KE": 200},
            "default_cost": 250,
        }
    if draw(st.booleans()):
        pol["gender_balance"] = True
    if draw(st.booleans()):
        pol["min_fill"] = {5: 1, 4: 1}
    pol["group_together"] = draw(st.sampled_from(["placement", "country"]))
    return d


SHAPES = (
    "natcap1",
    "natcap2-share",
    "host2",
    "couples-country",
    "groups3-placement",
    "couples-gender",
    "budget",
    "urgent-tiers",
    "rematch",
)
"""The shapes of `benchmarks.rules_family`, in small: the rules that couple placements."""


def _groups_of(draw: st.DrawFn, vols: list[dict[str, Any]], size: int) -> None:
    """Put some volunteers into groups of `size`."""
    n_groups = draw(st.integers(1, max(1, len(vols) // size)))
    for k in range(n_groups):
        for v in vols[k * size : (k + 1) * size]:
            v["group"] = f"s{k}"


@st.composite
def shaped_docs(draw: st.DrawFn, shape: str) -> dict[str, Any]:
    """A small round of one of the benchmark family's shapes (`SHAPES`)."""
    d = draw(round_docs(max_volunteers=9, max_placements=5, forbid=False))
    pol = d.setdefault("policy", {})
    pol.update({"time_limit_s": 1, "rule_costs": False})
    vols = d["volunteers"]
    if shape == "natcap1":
        pol["max_same_nationality_per_placement"] = 1
    elif shape == "natcap2-share":
        pol["max_same_nationality_per_placement"] = 2
        pol["max_nationality_share_per_country"] = 0.4
        pol["nationality_share_allowance"] = draw(st.integers(0, 1))
    elif shape == "host2":
        _groups_of(draw, vols, 2)
        pol.update(max_per_host=2, group_together="placement")
    elif shape == "couples-country":
        _groups_of(draw, vols, 2)
        pol.update(
            group_together="country",
            max_same_nationality_per_placement=1,
            max_per_host=draw(st.integers(1, 4)),
        )
    elif shape == "groups3-placement":
        _groups_of(draw, vols, 3)
        pol.update(group_together="placement", max_per_host=draw(st.integers(2, 8)))
    elif shape == "couples-gender":
        _groups_of(draw, vols, 2)
        pol.update(group_together="country", gender_balance=True)
    elif shape == "budget":
        pol["budget"] = {
            "total": draw(st.integers(0, 1500)),
            "cost": {"NP": 300, "KE": 200},
            "default_cost": 250,
        }
        pol["max_same_nationality_per_placement"] = draw(st.sampled_from([None, 2]))
    elif shape == "urgent-tiers":
        pol.update(objective=["urgent_coverage", "score"], min_fill={4: 1, 5: 1})
    elif shape == "rematch":
        npl = len(d["placements"])
        prev = draw(st.lists(st.integers(0, npl - 1), min_size=len(vols), max_size=len(vols)))
        d["previous"] = [
            {"volunteer": v["id"], "placement": f"P{p:02d}"}
            for v, p in zip(vols, prev, strict=True)
        ]
        pol.update(move_cost=draw(st.sampled_from([0, 100])), max_moves=draw(st.integers(0, 3)))
    else:
        raise ValueError(shape)
    return d
