"""The placement-by-placement Lagrangian bound (`matching.decompose`) never cuts off
the proven optimum, at any multiplier and any volunteer prices it steps through."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from matching.constraints.gender import _BALANCED
from matching.decompose import F64, decomposition_bounds
from matching.solve import prepare
from models import parse_round
from tests.test_bound import proven_score_round
from tests.test_policy_rules import ruled_docs


def _best_choice(
    vals: F64, male_female: NDArray[np.int8], slots: int, applies: bool, pen: float
) -> tuple[float, NDArray[np.intp]]:
    """The oracle of `all_choices` for one placement: the best set of at most `slots`
    candidates (vals sorted descending) and its
    value, the gender penalty counted exactly where the rule applies."""
    if not applies:
        k = int((vals[:slots] > 0).sum())
        return float(vals[:k].sum()), np.arange(k)
    best, members = 0.0, np.arange(0)
    if vals[0] > 0:
        best, members = float(vals[0]), np.arange(1)
    n = len(vals)
    first_f = np.flatnonzero(male_female == _BALANCED[0])[:1]
    first_m = np.flatnonzero(male_female == _BALANCED[1])[:1]
    # two or more people: a set holding a woman (a man) may as well hold the best
    # one, and then the best of the rest; every pattern of genders forced, each
    # charged for the genders it does not force (its best set may hold more)
    for forced, missing in (((first_f, first_m), 0), ((first_f,), 1), ((first_m,), 1), ((), 2)):
        if any(len(x) == 0 for x in forced):
            continue
        take = np.zeros(n, dtype=np.bool_)
        for x in forced:
            take[x] = True
        k = int(take.sum())
        rest = np.flatnonzero(~take)
        need = max(0, 2 - k)
        if len(rest) < need:
            continue
        extra = rest[need : max(need, slots - k)]
        chosen = np.concatenate([np.flatnonzero(take), rest[:need], extra[vals[extra] > 0]])
        value = float(vals[chosen].sum()) - pen * missing
        if value > best:
            best, members = value, chosen
    return best, members


@settings(max_examples=80, deadline=None)
@given(ruled_docs(), st.sampled_from([0, 50, 400]), st.sampled_from([0.0, 0.1, 0.5]))
def test_every_bound_it_yields_holds(d: dict[str, Any], pen: int, lam: float) -> None:
    got = proven_score_round(d, pen, gender=True)
    if got is None or getattr(got[1], "conflicts", None):
        return  # rules that cannot hold together, or no proof: nothing to compare
    r, result = got
    none = np.zeros(0, dtype=np.intp)
    use = lam if r.policy.budget is not None else 0.0
    bounds = list(decomposition_bounds(prepare(r), r.policy, use, none, 0,
                                       target=0.9 * result.objective, iterations=30))
    assert bounds and all(b >= result.objective for b in bounds)
    assert bounds == sorted(bounds, reverse=True)  # each one better than the last


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-50, 100), st.sampled_from([0, 1, 2])), min_size=1,
             max_size=6),
    st.integers(2, 4),
    st.sampled_from([0.0, 30.0, 200.0]),
)
def test_best_choice_is_the_exact_optimum(cands: list[tuple[int, int]], slots: int,
                                          pen: float) -> None:
    """Against every subset: at most `slots` people, the penalty for each of female
    and male missing once two or more are placed."""
    from itertools import combinations

    cands = sorted(cands, key=lambda x: -x[0])
    vals = np.array([v for v, _ in cands], dtype=np.float64)
    genders = np.array([g for _, g in cands], dtype=np.int8)
    best = 0.0
    for k in range(1, min(slots, len(cands)) + 1):
        for s in combinations(range(len(cands)), k):
            value = float(vals[list(s)].sum())
            if k >= 2:
                value -= pen * sum(1 for g in (0, 1) if not (genders[list(s)] == g).any())
            best = max(best, value)
    got, members = _best_choice(vals, genders, slots, True, pen)
    assert got == best
    assert len(members) <= slots and len(set(members.tolist())) == len(members)
    chosen = genders[members]
    missing = sum(1 for g in (0, 1) if not (chosen == g).any()) if len(members) >= 2 else 0
    assert float(vals[members].sum()) - pen * missing == got  # the set it names


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(-50, 100), st.sampled_from([0, 1, 2, 3])), max_size=6),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(1, 4), min_size=6, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
    st.sampled_from([0.0, 30.0, 200.0]),
)
def test_all_choices_agrees_with_one_placement_at_a_time(
    places: list[list[tuple[int, int]]], slots: list[int], applies: list[bool], pen: float
) -> None:
    from matching.decompose import all_choices

    vals, genders, place = [], [], []
    for p, cands in enumerate(places):
        for v, g in sorted(cands, key=lambda x: -x[0]):
            vals.append(float(v))
            genders.append(g)
            place.append(p)
    n_p = len(places)
    va = np.array(vals, dtype=np.float64)
    ga = np.array(genders, dtype=np.int8)
    pa = np.array(place, dtype=np.int64)
    starts = np.searchsorted(pa, np.arange(n_p + 1)).astype(np.int64)
    sl = np.array(slots[:n_p], dtype=np.int64)
    ap = np.array(applies[:n_p]) & (sl >= 2)
    value, chosen = all_choices(va, pa, starts, ga, sl, ap, pen)
    for p in range(n_p):
        a, b = int(starts[p]), int(starts[p + 1])
        if a == b:
            assert value[p] == 0
            continue
        want, _ = _best_choice(va[a:b], ga[a:b], int(sl[p]), bool(ap[p]), pen)
        assert value[p] == want
        # the chosen entries are a set worth exactly that
        took = np.flatnonzero(chosen[a:b])
        got = float(va[a:b][took].sum())
        if ap[p] and len(took) >= 2:
            got -= pen * sum(1 for g in (0, 1) if not (ga[a:b][took] == g).any())
        assert len(took) <= sl[p] and got == want


def test_group_members_use_only_placements_that_take_them_all() -> None:
    from matching.decompose import group_usable
    from tests.helpers import doc, plc, vol

    vols = [
        vol("A", group="couple", skills={"teaching": 5}),
        vol("B", group="couple", skills={"teaching": 5}, languages={"fr": "C1"}),
        vol("C"),
    ]
    pls = [
        plc("P1", slots=2),  # both members eligible
        plc("P2", slots=2, required_languages={"fr": "B2"}, country="KE"),  # only B
    ]
    for together, b_at_p2 in (("placement", False), ("country", False)):
        r = parse_round(doc(vols, pls, group_together=together, gender_balance=True))
        prep = prepare(r)
        ok = group_usable(prep, r.policy)
        c, pairs = prep.compiled, prep.pairs
        got = {(c.volunteer_ids[int(pairs.v[i])], c.placement_ids[int(pairs.p[i])]): bool(ok[i])
               for i in range(len(pairs))}
        assert got[("A", "P1")] and got[("B", "P1")] and got[("C", "P1")]
        assert got[("B", "P2")] is b_at_p2  # A cannot follow B to Kenya
