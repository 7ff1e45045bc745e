"""What a solve with rules starts from (`matching.rules.setup`): a large round's search
starts from the relaxation's first assignment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volmatch.matching import solve_round
from volmatch.matching.prepared import prepare
from volmatch.models import parse_round


@pytest.mark.parametrize("gender", [False, True])
def test_large_round_search_starts_from_the_relaxations_first_assignment(
    monkeypatch: pytest.MonkeyPatch, gender: bool
) -> None:
    """On a round whose relaxation runs in a child process, the search's start is the
    child's first assignment, which already prices the budget (with gender balance,
    also the placement-by-placement choices, when the child has sent them by then),
    and the solve keeps every rule from there."""
    import time

    import volmatch.matching.rules.background as background
    import volmatch.matching.rules.bound as bound
    import volmatch.matching.rules.setup as rules_setup
    from benchmarks.generate import generate_round
    from volmatch.matching import validate_result
    from volmatch.matching.validate import rule_violations

    d = generate_round(300, 60, seed=4, rules=True)
    countries = sorted({p["country"] for p in d["placements"]})
    d["policy"] = {
        "gender_balance": gender,
        "max_per_host": 4,
        "budget": {
            "total": 60_000,
            "cost": {c: 2000 + 300 * (i % 3) for i, c in enumerate(countries)},
        },
        "time_limit_s": 3,
        "rule_costs": False,
    }
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    reports: list[bound.Relaxation] = []
    bound.relaxation(
        prep,
        r.policy,
        none,
        none,
        0,
        report=reports.append,
        max_flows=background.CHILD_FLOWS,
        start_at_zero=False,
    )
    first = reports[0]
    assert first.multiplier > 0  # priced from the first flow on
    monkeypatch.setattr(background, "BACKGROUND_PAIRS", 0)
    monkeypatch.setattr(rules_setup, "FULL_MODEL_PAIRS", 0)
    setup = rules_setup.set_up(prep, time.perf_counter())
    try:
        assert setup.relaxed is not None and setup.relaxed.forked
        if setup.other_hint is None:
            # the start and the guide are the child's first flow
            assert np.array_equal(np.sort(setup.hint), np.sort(first.chosen))
            assert setup.guide is not None
            assert np.array_equal(np.sort(setup.guide), np.sort(first.chosen))
        else:
            # with gender balance, the placements' choices the child had sent by then
            # (not computed in this process: the child's steps are the same steps)
            # start and guide, the first flow's assignment the second start
            assert gender
            assert np.array_equal(np.sort(setup.other_hint), np.sort(first.chosen))
            assert setup.guide is not None and np.array_equal(setup.guide, setup.hint)
    finally:
        setup.relaxed.cancel()
    result = solve_round(r)
    assert not validate_result(r, result) and not rule_violations(r, result)
    assert result.objective <= result.bound


def test_the_search_starts_from_the_better_of_the_two_repaired_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the start is the placements' choices, the bound's flow's assignment is a
    second start (the choices ignore the shares per country): the greedy repair of
    each is made and the better by the tiers kept, whichever order they come in."""
    import time

    import volmatch.matching.rules.setup as rules_setup
    from benchmarks.generate import generate_round
    from volmatch.matching.pure import solve_pure
    from volmatch.matching.rules.evaluate import Evaluator
    from volmatch.matching.rules.greedy import greedy_start
    from volmatch.matching.rules.tiers import _better_start

    d = generate_round(300, 60, seed=4)
    d["policy"] = {
        "max_same_nationality_per_placement": 2,
        "max_nationality_share_per_country": 0.4,
        "time_limit_s": 3,
        "rule_costs": False,
    }
    r = parse_round(d)
    prep = prepare(r)
    monkeypatch.setattr(rules_setup, "FULL_MODEL_PAIRS", 0)
    setup = rules_setup.set_up(prep, time.perf_counter())
    if setup.relaxed is not None:
        setup.relaxed.cancel()
    ev = Evaluator(prep, r.policy, setup.prev_pair)
    pure = solve_pure(prep).chosen
    # a poor start: the volunteers of the best-represented nationality first
    nat = prep.compiled.nationality[prep.pairs.v]
    crowd = np.flatnonzero(nat == np.bincount(nat).argmax()).astype(np.intp)
    setup.model_pairs = np.union1d(setup.model_pairs, np.union1d(pure, crowd)).astype(np.intp)

    def repaired(hint: np.ndarray) -> np.ndarray:
        setup.hint = hint
        return np.sort(setup.model_pairs[greedy_start(prep, setup, r.policy, frozenset())])

    starts = {"pure": repaired(pure), "crowd": repaired(crowd)}
    assert ev.values(starts["pure"]) != ev.values(starts["crowd"])
    best = max(ev.values(s) for s in starts.values())
    for first, second in (("pure", crowd), ("crowd", pure)):
        setup.hint = pure if first == "pure" else crowd
        setup.other_hint = second
        got = _better_start(prep, setup, r.policy, ev, starts[first])
        assert ev.values(got) == best and not ev.breaches(got, setup.locked)
        assert setup.hint is (pure if first == "pure" else crowd)  # restored


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(-(10**6), 10**6)), min_size=0, max_size=300)
)
@settings(max_examples=200, deadline=None)
def test_best_first_is_the_two_key_sort(rows: list[tuple[int, int]]) -> None:
    """The one-key sort behind the model's pairs and the greedy's order gives the
    order of `np.lexsort((-score, by))`, ties in the original order."""
    from volmatch.matching.rules.setup import best_first

    by = np.array([b for b, _ in rows], dtype=np.int32)
    score = np.array([s for _, s in rows], dtype=np.int64)
    assert np.array_equal(best_first(by, score), np.lexsort((-score, by)))
