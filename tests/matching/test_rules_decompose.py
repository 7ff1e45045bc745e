"""The placement-by-placement Lagrangian bound (`matching.rules.decompose`) never cuts off
the proven optimum, at any multiplier and any volunteer prices it steps through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from tests.matching.rounds import proven_score_round
from tests.strategies import ruled_docs
from volmatch.matching.constraints.gender import BALANCED_GENDERS
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.decompose import F64, decomposition_steps, grouping
from volmatch.models import parse_round


def improving(steps: Any) -> list[int]:
    """Each better bound of a run of subgradient steps."""
    out: list[int] = []
    for step in steps:
        if not out or step.bound < out[-1]:
            out.append(step.bound)
    return out


def flatten(
    places: Sequence[Sequence[tuple[int, ...]]], slots: list[int], applies: list[bool]
) -> tuple[
    F64,
    NDArray[np.int8],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.bool_],
    NDArray[np.int64],
]:
    """Candidates per placement ((value, gender[, nationality]) each) as `all_choices`
    takes them: values, genders, placements, starts, slots, where the rule applies,
    nationalities (0 where none is given)."""
    rows = [(p, *c) for p, cands in enumerate(places) for c in sorted(cands, key=lambda x: -x[0])]
    n_p = len(places)
    va = np.array([r[1] for r in rows], dtype=np.float64)
    ga = np.array([r[2] for r in rows], dtype=np.int8)
    pa = np.array([r[0] for r in rows], dtype=np.int64)
    na = np.array([r[3] if len(r) > 3 else 0 for r in rows], dtype=np.int64)
    starts = np.searchsorted(pa, np.arange(n_p + 1)).astype(np.int64)
    sl = np.array(slots[:n_p], dtype=np.int64)
    ap = np.array(applies[:n_p]) & (sl >= 2)
    return va, ga, pa, starts, sl, ap, na


def bounds_hold(d: dict[str, Any], pen: int, lam: float, gender: bool) -> None:
    """Every better bound of 30 steps is at least the CP-SAT-proven optimum (when
    the rules hold together and the optimum is proven)."""
    got = proven_score_round(d, pen, gender=gender)
    if got is None or getattr(got[1], "conflicts", None):
        return  # rules that cannot hold together, or no proof: nothing to compare
    r, result = got
    none = np.zeros(0, dtype=np.intp)
    use = lam if r.policy.budget is not None else 0.0
    bounds = improving(
        decomposition_steps(
            prepare(r), r.policy, use, none, 0, target=0.9 * result.objective, iterations=30
        )
    )
    assert bounds and all(b >= result.objective for b in bounds)


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
    first_f = np.flatnonzero(male_female == BALANCED_GENDERS[0])[:1]
    first_m = np.flatnonzero(male_female == BALANCED_GENDERS[1])[:1]
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
    bounds_hold(d, pen, lam, gender=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-50, 100), st.sampled_from([0, 1, 2])), min_size=1, max_size=6),
    st.integers(2, 4),
    st.sampled_from([0.0, 30.0, 200.0]),
)
def test_best_choice_is_the_exact_optimum(
    cands: list[tuple[int, int]], slots: int, pen: float
) -> None:
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
    from volmatch.matching.rules.decompose import all_choices

    va, ga, pa, starts, sl, ap, _ = flatten(places, slots, applies)
    n_p = len(places)
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
    from tests.helpers import doc, plc, vol
    from volmatch.matching.rules.decompose import group_usable

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
        got = {
            (c.volunteer_ids[int(pairs.v[i])], c.placement_ids[int(pairs.p[i])]): bool(ok[i])
            for i in range(len(pairs))
        }
        assert got[("A", "P1")] and got[("B", "P1")] and got[("C", "P1")]
        assert got[("B", "P2")] is b_at_p2  # A cannot follow B to Kenya


def _best_capped(
    vals: F64,
    genders: NDArray[np.int8],
    nats: list[int],
    slots: int,
    applies: bool,
    pen: float,
    cap: int | None,
) -> float:
    """Every subset of at most `slots`, at most `cap` of one nationality (None: no cap)."""
    from collections import Counter
    from itertools import combinations

    best = 0.0
    for k in range(1, min(slots, len(vals)) + 1):
        for s in combinations(range(len(vals)), k):
            if cap is not None and max(Counter(nats[i] for i in s).values()) > cap:
                continue
            value = float(vals[list(s)].sum())
            if applies and k >= 2:
                value -= pen * sum(1 for g in BALANCED_GENDERS if not (genders[list(s)] == g).any())
            best = max(best, value)
    return best


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(st.integers(-50, 100), st.sampled_from([0, 1, 2]), st.integers(0, 2)),
            max_size=6,
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.integers(1, 4), min_size=4, max_size=4),
    st.lists(st.booleans(), min_size=4, max_size=4),
    st.sampled_from([0.0, 30.0, 200.0]),
    st.integers(1, 2),
)
def test_capped_choices_bound_the_best_set_within_the_nationality_cap(
    places: list[list[tuple[int, int, int]]],
    slots: list[int],
    applies: list[bool],
    pen: float,
    cap: int,
) -> None:
    """With the nationality cap each placement's value lies between the best set
    within the cap (it must never be below: the bound would cut off an assignment) and
    the best set without it."""
    from volmatch.matching.rules.decompose import all_choices, nationality_allowed

    va, ga, pa, starts, sl, ap, na = flatten(places, slots, applies)
    n_p = len(places)
    nats = na.tolist()
    by_group, group_starts, group_of = grouping(pa * 3 + na)
    allowed = (
        nationality_allowed(np.arange(len(va)), by_group, group_starts, group_of, cap)
        if len(va)
        else np.zeros(0, dtype=np.bool_)
    )
    value, chosen = all_choices(va, pa, starts, ga, sl, ap, pen, allowed)
    for p in range(n_p):
        a, b = int(starts[p]), int(starts[p + 1])
        args = (va[a:b], ga[a:b], nats[a:b], int(sl[p]), bool(ap[p]), pen)
        within = _best_capped(*args, cap)
        assert within - 1e-9 <= value[p] <= _best_capped(*args, None) + 1e-9
        took = np.flatnonzero(chosen[a:b])
        assert len(took) <= sl[p]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=30), st.integers(1, 3), st.randoms())
def test_nationality_allowed_is_each_groups_best_cap(groups: list[int], cap: int, rnd: Any) -> None:
    from volmatch.matching.rules.decompose import nationality_allowed

    g = np.array(groups, dtype=np.int64)
    rank = np.array(rnd.sample(range(len(g)), len(g)), dtype=np.int64)
    by_group, group_starts, group_of = grouping(g)
    got = nationality_allowed(rank, by_group, group_starts, group_of, cap)
    for i in range(len(g)):
        better = sum(1 for j in range(len(g)) if g[j] == g[i] and rank[j] < rank[i])
        assert got[i] == (better < cap)


@st.composite
def dense_docs(draw: st.DrawFn) -> dict[str, Any]:
    """Generated rounds small enough for CP-SAT to prove, with 15-50 pairs (random
    documents mostly have none), one in three volunteers in a pair group, and every
    rule the bound must respect drawn on or off."""
    from benchmarks.generate import generate_round

    d = generate_round(
        draw(st.integers(20, 35)),
        draw(st.integers(3, 6)),
        seed=draw(st.integers(0, 10_000)),
        rules=True,
    )
    vols = d["volunteers"]
    for k in range(0, len(vols) - 1, 6):
        if draw(st.booleans()):
            vols[k]["group"] = vols[k + 1]["group"] = f"g{k}"
    countries = sorted({p["country"] for p in d["placements"]})
    pol: dict[str, Any] = {
        "time_limit_s": 5,
        "rule_costs": False,
        "group_together": draw(st.sampled_from(["placement", "country"])),
    }
    if draw(st.booleans()):
        pol["max_same_nationality_per_placement"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        pol["max_per_host"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        pol["budget"] = {
            "total": draw(st.integers(2_000, 12_000)),
            "cost": {c: 1000 + 500 * (i % 3) for i, c in enumerate(countries)},
        }
    d["policy"] = pol
    return d


@settings(max_examples=40, deadline=None)
@given(
    dense_docs(),
    st.sampled_from([0, 50, 400]),
    st.sampled_from([0.05, 0.3, 1.0]),
    st.integers(0, 50),
)
def test_bounds_hold_with_a_lock_and_a_moving_multiplier(
    d: dict[str, Any], pen: int, lam: float, pick: int
) -> None:
    """A locked pair, and the budget's multiplier moved step by step towards the
    budget: every step's bound still holds for the proven optimum."""
    from volmatch.matching.prepared import locked_pair_indices
    from volmatch.matching.rules.decompose import decomposition_steps
    from volmatch.models import InfeasibleRound

    prep0 = prepare(parse_round(d))
    if len(prep0.pairs) == 0:
        return
    k = pick % len(prep0.pairs)
    c0 = prep0.compiled
    d["policy"]["locked"] = [
        {
            "volunteer": c0.volunteer_ids[int(prep0.pairs.v[k])],
            "placement": c0.placement_ids[int(prep0.pairs.p[k])],
        }
    ]
    try:
        got = proven_score_round(d, pen, gender=True)
    except InfeasibleRound:  # the lock breaks a rule: nothing to compare
        return
    if got is None or getattr(got[1], "conflicts", None):
        return
    r, result = got
    prep = prepare(r)
    locked = locked_pair_indices(prep)
    assert len(locked) == 1
    none = np.zeros(0, dtype=np.intp)
    use = lam if r.policy.budget is not None else 0.0
    steps = list(
        decomposition_steps(
            prep,
            r.policy,
            use,
            none,
            0,
            0.9 * result.objective,
            40,
            balance_budget=True,
            locked=locked,
        )
    )
    assert steps and all(s.bound >= result.objective for s in steps)
    # the locked pair is in every step's choices
    assert all(int(locked[0]) in s.chosen.tolist() for s in steps)


@settings(max_examples=50, deadline=None)
@given(dense_docs(), st.sampled_from([0, 50, 400]), st.sampled_from([0.0, 0.1, 0.5]), st.booleans())
def test_every_bound_holds_on_rounds_with_many_pairs(
    d: dict[str, Any], pen: int, lam: float, gender: bool
) -> None:
    """With gender balance, or with only the nationality cap per placement."""
    bounds_hold(d, pen, lam, gender=gender)


def test_groups_multipliers_tighten_the_bound_where_one_member_would_go_alone(
    monkeypatch: Any,
) -> None:
    """A couple (by country) where the country has one slot: a member may go only with
    the other, so the couple never goes. Without the groups' multipliers the
    placements take the better member alone and the bound counts that score; with
    them the bound falls towards the one volunteer in no group, and stays above the
    optimum."""
    import volmatch.matching.rules.decompose as dec
    from tests.helpers import doc, plc, vol
    from volmatch.matching import solve_round
    from volmatch.matching.rules.decompose import best_step

    vols = [
        vol("A", group="couple", gender="female", skills={"teaching": 5}),
        vol("B", group="couple", gender="male", skills={"teaching": 1}),
        vol("C", gender="female", skills={"teaching": 3}),
    ]
    d = doc(
        vols,
        [plc("P1", slots=1, desired_skills={"teaching": 5})],
        group_together="country",
        gender_balance=True,
    )
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)

    def bound() -> int:
        step = best_step(decomposition_steps(prep, r.policy, 0.0, none, 0, 0.0, 200))
        assert step is not None
        return step.bound

    with_groups = bound()
    monkeypatch.setattr(
        dec, "group_keys", lambda prep, policy, keep: (np.full(len(keep), -1), none)
    )
    without = bound()
    optimum = solve_round(r).objective
    assert optimum <= with_groups < without
