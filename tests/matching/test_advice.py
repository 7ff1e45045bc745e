"""Recommendations: the regret of each choice equals the optimum re-solved with the
choice forced, by an independent solver (scipy's linear_sum_assignment on the slots),
for the round's own needs, for volunteers, and for a need added to the round."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from tests.helpers import doc, plc, vol
from tests.strategies import _day, placement, round_docs
from volmatch.matching import prepare
from volmatch.matching.advice import (
    AdviceBase,
    advice_base,
    advise_placement,
    advise_volunteer,
    recommend_for_placement,
)
from volmatch.matching.prepared import Prepared
from volmatch.matching.solve import solve_prepared
from volmatch.models import Placement, parse_round


def _optimum(n_v: int, capacity: list[int], pairs: list[tuple[int, int, int]]) -> int:
    """The best total: volunteers x (every slot, plus one 'unplaced' column each)."""
    slots = [p for p, k in enumerate(capacity) for _ in range(k)]
    if n_v == 0 or not pairs:
        return 0
    w = np.zeros((n_v, len(slots) + n_v))
    neg = -1e9  # an ineligible pair: never worth taking
    w[:, : len(slots)] = neg
    for v, p, s in pairs:
        for j, q in enumerate(slots):
            if q == p:
                w[v, j] = s
    rows, cols = linear_sum_assignment(w, maximize=True)
    return round(float(w[rows, cols].sum()))


def _round_pairs(prep: Prepared) -> list[tuple[int, int, int]]:
    pr = prep.pairs
    return list(zip(pr.v.tolist(), pr.p.tolist(), prep.scores.total.tolist(), strict=True))


def _forced(n_v: int, cap: list[int], pairs: list[tuple[int, int, int]], v: int, p: int) -> int:
    """The best total with volunteer v given a slot of placement p."""
    score = next(s for a, b, s in pairs if a == v and b == p)
    cap = list(cap)
    cap[p] -= 1
    rest = [(a, b, s) for a, b, s in pairs if a != v]
    return score + _optimum(n_v, cap, rest)


def _base(d: dict[str, Any]) -> AdviceBase:
    prep = prepare(parse_round(d))
    sol = solve_prepared(prep)
    return advice_base(prep, sol.chosen, exact=True)


@settings(max_examples=30)
@given(round_docs(max_volunteers=7, max_placements=4))
def test_regrets_equal_a_re_solve_with_the_choice_forced(d: dict[str, Any]) -> None:
    base = _base(d)
    c = base.prep.compiled
    pairs = _round_pairs(base.prep)
    cap = c.capacity.tolist()
    best = _optimum(c.n_volunteers, cap, pairs)
    assert best == base.optimum
    for pi in range(c.n_placements):
        recs = recommend_for_placement(base, pi, top=1000)
        assert len(recs) == sum(1 for _, b, _ in pairs if b == pi)
        for r in recs:
            forced = _forced(c.n_volunteers, cap, pairs, c.vindex[r.volunteer], pi)
            assert r.regret == best - forced
        keys = [(r.regret, -r.score, r.volunteer) for r in recs]
        assert keys == sorted(keys)
    for vi in range(c.n_volunteers):
        doc_v = advise_volunteer(base, vi, top=1000)
        for r in doc_v["recommendations"]:  # type: ignore[attr-defined]
            forced = _forced(c.n_volunteers, cap, pairs, vi, c.pindex[r["placement"]])
            assert r["regret"] == best - forced


def _check_added(d: dict[str, Any], raw: dict[str, Any]) -> None:
    """Advice on the need `raw` the round of `d` does not hold: every regret equals the
    round with the need and its slots added, re-solved whole, with and without the
    volunteer forced into it (and the eligible volunteers and scores are those of the
    round compiled whole with it)."""
    base = _base(d)
    draft = Placement.model_validate(raw)
    advice = advise_placement(base, draft, top=1000)
    assert not advice.in_round
    whole = prepare(parse_round({**d, "placements": [*d["placements"], raw]}))
    pairs = _round_pairs(whole)
    wc = whole.compiled
    new = wc.pindex[draft.id]
    cap = wc.capacity.tolist()
    best = _optimum(wc.n_volunteers, cap, pairs)
    theirs = {(wc.volunteer_ids[v], s) for v, p, s in pairs if p == new}
    assert {(r.volunteer, r.score) for r in advice.recommendations} == theirs
    assert advice.feasibility.n_eligible == len(theirs)
    for r in advice.recommendations:
        forced = _forced(wc.n_volunteers, cap, pairs, wc.vindex[r.volunteer], new)
        assert r.regret == best - forced, r


@settings(max_examples=30)
@given(round_docs(max_volunteers=7, max_placements=3, forbid=False), st.data())
def test_a_new_need_priced_as_the_round_plus_the_need(
    d: dict[str, Any], data: st.DataObject
) -> None:
    """Any need, one to three slots (one slot: two Dijkstras in the round's network)."""
    raw = data.draw(placement(90, 0, False))
    raw["slots"] = data.draw(st.integers(1, 3))
    _check_added(d, raw)


@settings(max_examples=40)
@given(round_docs(max_volunteers=7, max_placements=3, forbid=False), st.data())
def test_a_new_need_with_several_slots_open_to_most(d: dict[str, Any], data: st.DataObject) -> None:
    """A need most of the pool qualifies for, with two or three slots: filled a slot at
    a time from the round's optimum, volunteers move to it from the round's needs, and
    its regrets are those of the round plus the need (one slot would price them
    differently in about half of such rounds)."""
    raw = data.draw(placement(90, 0, False))
    raw.update(
        slots=data.draw(st.integers(2, 3)),
        required_skills={},
        required_languages={},
        required_training=[],
        security_level=0,
        min_months=1,
        max_months=14,
        start_earliest=_day(150),
        start_latest=_day(400),
    )
    raw.pop("age_min", None)
    raw.pop("age_max", None)
    _check_added(d, raw)


def test_top_k_and_the_best_first() -> None:
    vols = [vol(f"V{i}", skills={"teaching": 1 + i % 5}) for i in range(8)]
    d = doc(vols, [plc("P1", desired_skills={"teaching": 5}), plc("P2")])
    base = _base(d)
    recs = recommend_for_placement(base, base.prep.compiled.pindex["P1"], top=3)
    assert len(recs) == 3
    assert recs[0].regret == 0
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    out = advise_placement(base, base.prep.compiled.placements[0], top=3).as_dict()
    assert set(out) >= {"placement", "eligible", "rules", "changes", "recommendations"}
    assert out["eligible"] == 8
    assert out["availability"]["placed_here"] == 1  # type: ignore[index]
