"""What a solve with rules starts from (`matching.rules.setup`): a large round's search
starts from the relaxation's first assignment."""

from __future__ import annotations

import numpy as np
import pytest

from volmatch.matching import solve_round
from volmatch.matching.prepared import prepare
from volmatch.models import parse_round


@pytest.mark.parametrize("gender", [False, True])
def test_large_round_search_starts_from_the_relaxations_first_assignment(
    monkeypatch: pytest.MonkeyPatch, gender: bool
) -> None:
    """On a round whose relaxation runs in a child process, the search's start is the
    child's first assignment, which already prices the budget (with gender balance:
    the placement-by-placement choices at that assignment's multiplier), and the
    solve keeps every rule from there."""
    import time

    import volmatch.matching.rules.background as background
    import volmatch.matching.rules.bound as bound
    import volmatch.matching.rules.setup as rules_setup
    from benchmarks.generate import generate_round
    from volmatch.matching import validate_result
    from volmatch.matching.rules.decompose import best_step, decomposition_steps
    from volmatch.matching.validate import rule_violations

    d = generate_round(300, 60, seed=4, rules=True)
    countries = sorted({p["country"] for p in d["placements"]})
    d["policy"] = {
        "gender_balance": gender,
        "max_per_host": 4,
        "budget": {"total": 60_000, "cost": {c: 2000 + 300 * (i % 3) for i, c in
                                                  enumerate(countries)}},
        "time_limit_s": 3,
        "rule_costs": False,
    }
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    reports: list[bound.Relaxation] = []
    bound.relaxation(prep, r.policy, none, none, 0, report=reports.append,
                     max_flows=background.CHILD_FLOWS, start_at_zero=False)
    first = reports[0]
    assert first.multiplier > 0  # priced from the first flow on
    want = first.chosen
    if gender:
        steps = best_step(decomposition_steps(prep, r.policy, first.multiplier, none, 0,
                                              0.99 * first.bound, rules_setup.START_STEPS,
                                              balance_budget=True, locked=none))
        assert steps is not None
        want = steps.chosen
    monkeypatch.setattr(background, "BACKGROUND_PAIRS", 0)
    monkeypatch.setattr(rules_setup, "FULL_MODEL_PAIRS", 0)
    setup = rules_setup.set_up(prep, time.perf_counter())
    try:
        assert setup.relaxed is not None and setup.relaxed.forked
        assert np.array_equal(np.sort(setup.hint), np.sort(want))
        # every shape is guided: by the placement-by-placement choices where they
        # run (gender balance), else by the bound's first flow
        assert setup.guide is not None and np.array_equal(np.sort(setup.guide), np.sort(want))
    finally:
        setup.relaxed.cancel()
    result = solve_round(r)
    assert not validate_result(r, result) and not rule_violations(r, result)
    assert result.objective <= result.bound
