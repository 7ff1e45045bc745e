"""Feasibility of a need: per-rule counts equal a brute-force count with the contract's
rule checker, and every smallest change is the smallest (brute force over every
candidate threshold, each variant checked pair by pair)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from tests.helpers import doc, plc, vol
from tests.strategies import round_docs
from volmatch.matching import prepare
from volmatch.matching.compiled import CompiledRound, compile_round
from volmatch.matching.drafts import with_placements
from volmatch.matching.eligibility import RULES, check_rules, dense_pairs
from volmatch.matching.feasibility import Change, feasibility
from volmatch.matching.scoring import score_pairs
from volmatch.models import Placement, parse_round
from volmatch.models.codes import CEFR_LEVELS, CEFR_RANK

B = NDArray[np.bool_]


def _brute_eligible(c: CompiledRound, variants: list[Placement], pi: int | None) -> B:
    """Per variant and volunteer: eligible, by `check_rules` on the variants compiled
    against the pool (the coordinator's forbidden pairs of the round's placement `pi`)."""
    dc = with_placements(c, variants)
    nv, k = c.n_volunteers, len(variants)
    pp, pv = np.divmod(np.arange(nv * k, dtype=np.int64), max(nv, 1))
    rules = check_rules(dc, pv, pp)
    ok = np.ones(nv * k, dtype=np.bool_)
    for name, passed in rules.items():
        if name != "forbidden":
            ok &= passed
    out = ok.reshape(k, nv)
    if pi is not None:
        out[:, c.forbidden_v[c.forbidden_p == pi]] = False
    return out


@settings(max_examples=25)
@given(round_docs(max_volunteers=12, max_placements=4))
def test_rule_counts_equal_brute_force(d: dict[str, Any]) -> None:
    c = compile_round(parse_round(d))
    every = np.arange(c.n_volunteers, dtype=np.int64)
    for pi, p in enumerate(c.placements):
        f = feasibility(c, p, pi)
        rules = {k: np.asarray(v) for k, v in check_rules(c, every, pi).items()}
        all_ok = np.all(np.stack(list(rules.values())), axis=0)
        assert np.array_equal(f.eligible, all_ok)
        for rule in RULES:
            others = np.all(np.stack([v for k, v in rules.items() if k != rule]), axis=0)
            assert f.rules[rule].fail == int((~rules[rule]).sum()), rule
            assert f.rules[rule].only == int((~rules[rule] & others).sum()), rule


def _variants(c: CompiledRound, p: Placement, ch_field: str) -> list[tuple[object, Placement]]:
    """Every candidate relaxation of one field, nearest first: (value, placement)."""
    out: list[tuple[object, Placement]] = []

    def put(value: object, **update: Any) -> None:
        out.append((value, p.model_copy(update=update)))

    if ch_field.startswith("required_skills."):
        s = ch_field.split(".", 1)[1]
        for lv in range(p.required_skills[s] - 1, 0, -1):
            put(lv, required_skills={**p.required_skills, s: lv})
        put(None, required_skills={k: v for k, v in p.required_skills.items() if k != s})
    elif ch_field.startswith("required_languages."):
        lg = ch_field.split(".", 1)[1]
        for rank in range(CEFR_RANK[p.required_languages[lg]] - 1, 0, -1):
            put(
                CEFR_LEVELS[rank - 1],
                required_languages={**p.required_languages, lg: CEFR_LEVELS[rank - 1]},
            )
        put(None, required_languages={k: v for k, v in p.required_languages.items() if k != lg})
    elif ch_field == "security_level":
        for lv in range(p.security_level - 1, -1, -1):
            put(lv, security_level=lv)
    elif ch_field == "min_months":
        for m in range(p.min_months - 1, 0, -1):
            put(m, min_months=m)
    elif ch_field == "max_months":
        for m in range(p.max_months + 1, 37):
            put(m, max_months=m)
    elif ch_field == "start_latest":
        last = int(c.avail_from.max()) if c.n_volunteers else 0
        day = p.start_latest
        while (day - dt.date(1970, 1, 1)).days <= last:
            day += dt.timedelta(days=1)
            put(str(day), start_latest=day)
    elif ch_field == "start_earliest":
        first = int(c.avail_from.min()) if c.n_volunteers else 0
        day = p.start_earliest
        while (day - dt.date(1970, 1, 1)).days >= first:
            day -= dt.timedelta(days=1)
            put(str(day), start_earliest=day)
    elif ch_field == "age_min" and p.age_min is not None:
        for a in range(p.age_min - 1, -1, -1):
            put(a, age_min=a)
    elif ch_field == "age_max" and p.age_max is not None:
        for a in range(p.age_max + 1, 130):
            put(a, age_max=a)
    return out


_FIELDS = (
    "security_level",
    "min_months",
    "max_months",
    "start_latest",
    "start_earliest",
    "age_min",
    "age_max",
)


def _check_smallest(c: CompiledRound, p: Placement, pi: int, changes: list[Change]) -> None:
    by_field = {ch.field: ch for ch in changes if ch.rule != "training"}
    base = _brute_eligible(c, [p], pi)[0]
    fields = [
        *_FIELDS,
        *(f"required_skills.{s}" for s in p.required_skills),
        *(f"required_languages.{lg}" for lg in p.required_languages),
    ]
    for fld in fields:
        variants = _variants(c, p, fld)
        if not variants:
            assert fld not in by_field
            continue
        ok = _brute_eligible(c, [v for _, v in variants], pi)
        admits = (ok & ~base).sum(axis=1)
        first = np.flatnonzero(admits > 0)
        if len(first) == 0:
            assert fld not in by_field, (fld, by_field.get(fld))
            continue
        k = int(first[0])
        ch = by_field.get(fld)
        assert ch is not None, (fld, variants[k][0])
        assert ch.proposed == variants[k][0], (fld, ch)
        assert ch.admits == int(admits[k]), (fld, ch)
        assert ch.loses == int((base & ~ok[k]).sum()), (fld, ch)
    for m in p.required_training:
        if m in c.round.policy.required_training:
            continue
        variant = p.model_copy(
            update={"required_training": [x for x in p.required_training if x != m]}
        )
        gain = int((_brute_eligible(c, [variant], pi)[0] & ~base).sum())
        got = [ch for ch in changes if ch.requirement == f"training:{m}"]
        assert [ch.admits for ch in got] == ([gain] if gain else [])


@st.composite
def demanding_rounds(draw: st.DrawFn) -> dict[str, Any]:
    """Rounds whose needs ask one thing more (clearance, an age, a short or a late or
    early window), so that every kind of change is exercised."""
    d = draw(round_docs(max_volunteers=20, max_placements=2))
    for p in d["placements"]:
        p.pop("age_min", None)
        p.pop("age_max", None)
        p["required_skills"] = {}
        p["required_training"] = []
        aspect = draw(st.sampled_from(["security", "age_min", "age_max", "months", "window"]))
        if aspect == "security":
            p["security_level"] = draw(st.integers(1, 3))
        elif aspect == "age_min":
            p["age_min"] = draw(st.integers(22, 38))
        elif aspect == "age_max":
            p["age_max"] = draw(st.integers(20, 36))
        elif aspect == "months":
            p["max_months"] = p["min_months"] = draw(st.integers(1, 4))
        else:
            shift = dt.timedelta(days=draw(st.integers(-60, 300)))
            for k in ("start_earliest", "start_latest"):
                p[k] = (dt.date.fromisoformat(p[k]) + shift).isoformat()
    return d


@settings(max_examples=25)
@given(demanding_rounds())
def test_every_smallest_change_is_the_smallest(d: dict[str, Any]) -> None:
    c = compile_round(parse_round(d))
    for pi, p in enumerate(c.placements):
        _check_smallest(c, p, pi, feasibility(c, p, pi).changes)


def test_hand_made_changes_read_as_a_host_would() -> None:
    vols = [vol(f"V{i}", languages={"fr": lv}) for i, lv in enumerate(["B1", "B1", "B2", "A2"])]
    d = doc(vols, [plc("P1", required_languages={"fr": "C1"}, min_months=12)])
    c = compile_round(parse_round(d))
    f = feasibility(c, c.placements[0], 0)
    assert f.n_eligible == 0
    assert f.rules["languages"].fail == 4
    texts = [ch.text() for ch in f.changes]
    assert "French at B2 instead of C1: +1" in texts


@settings(max_examples=20)
@given(round_docs(max_volunteers=8, max_placements=4))
def test_drafts_compiled_against_the_pool_match_the_round(d: dict[str, Any]) -> None:
    """The round's own placements, compiled as drafts against its pool, give the same
    eligible pairs and scores as the round compiled whole."""
    prep = prepare(parse_round(d))
    c = prep.compiled
    dc = with_placements(c, list(c.placements))
    mine, theirs = dense_pairs(dc), dense_pairs(c)
    assert np.array_equal(mine.v, theirs.v) and np.array_equal(mine.p, theirs.p)
    assert np.array_equal(score_pairs(dc, mine).total, score_pairs(c, theirs).total)


def test_draft_with_codes_the_pool_never_saw() -> None:
    d = doc([vol("V1"), vol("V2", skills={"ict": 2})], [plc("P1")])
    c = compile_round(parse_round(d))
    new = Placement.model_validate(
        plc("D1", required_skills={"carpentry": 1}, desired_languages={"sw": "B1"}, country="KE")
    )
    f = feasibility(c, new)
    assert f.n_eligible == 0 and f.rules["skills"].only == 2
    assert [ch.text() for ch in f.changes] == ["without the carpentry requirement: +2"]
    assert _brute_eligible(c, [new], None).sum() == 0


def test_the_first_day_of_an_age_is_where_age_on_reaches_it() -> None:
    """Age limits compare the start day with the first day of the age (cached per age):
    the same decision as `age_on` on every start day, 29 February birthdays included."""
    from volmatch.matching.dates import age_on, to_days
    from volmatch.matching.feasibility import first_day_of_age

    births = [dt.date(1996, 2, 27) + dt.timedelta(days=k) for k in range(0, 1500, 7)]
    births += [dt.date(1996, 2, 29), dt.date(2000, 2, 29), dt.date(1999, 12, 31)]
    c = compile_round(
        parse_round(
            doc([vol(f"V{i}", birth_date=b.isoformat()) for i, b in enumerate(births)], [plc("P1")])
        )
    )
    birth = c.birth.astype(np.int64)
    for years in (18, 25):
        first = first_day_of_age(c, years)
        # every day of the years in which these people reach the age
        days = np.arange(to_days(dt.date(1996 + years, 1, 1)), to_days(dt.date(2001 + years, 1, 1)))
        on = np.repeat(days, c.n_volunteers)
        who = np.tile(np.arange(c.n_volunteers), len(days))
        assert np.array_equal(on >= first[who], age_on(birth[who], on) >= years)
        assert first_day_of_age(c, years) is first  # kept on the compiled pool
