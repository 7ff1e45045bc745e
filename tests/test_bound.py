"""The relaxation bound of rounds with rules (`matching.bound`) never cuts off the
proven optimum, with the gender balance network and the budget multiplier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_policy_rules import ruled_docs
from volmatch.matching import solve_round
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.bound import relaxation
from volmatch.models import Result, Round, parse_round


def proven_score_round(d: dict[str, Any], pen: int, gender: bool) -> tuple[Round, Result] | None:
    """The round scored on one tier with the given gender rule, and its result when
    that result is proven optimal (None otherwise: nothing to compare a bound with)."""
    pol = d["policy"]
    pol["objective"] = ["score"]
    pol.pop("min_fill", None)
    pol["gender_balance"] = gender
    pol["gender_balance_penalty"] = pen
    r = parse_round(d)
    result = solve_round(r)
    tiers = getattr(result, "tiers", None)
    proven = result.status == "optimal" if tiers is None else tiers.get("score", {}).get("optimal")
    return (r, result) if proven else None


@settings(max_examples=40, deadline=None)
@given(ruled_docs(), st.sampled_from([0, 50, 400]), st.booleans())
def test_relaxation_bounds_the_proven_optimum(d: dict[str, Any], pen: int, gender: bool) -> None:
    got = proven_score_round(d, pen, gender)
    if got is None:
        return  # rules that cannot hold together, or no proof: nothing to compare
    r, result = got
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    relax = relaxation(prep, r.policy, none, none, 0)
    assert relax.bound >= result.objective


def test_gender_network_is_tighter_than_leaving_the_rule_out() -> None:
    from tests.helpers import doc, plc, vol

    # two slots, only women score well: the flow without the rule fills both with women
    vols = [vol(f"F{i}", gender="female", skills={"teaching": 5}) for i in range(3)]
    vols += [vol("M1", gender="male")]
    d = doc(
        vols,
        [plc("P1", slots=2, desired_skills={"teaching": 5})],
        gender_balance=True,
        gender_balance_penalty=10_000,
    )
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    with_rule = relaxation(prep, r.policy, none, none, 0).bound
    without = relaxation(
        prep, r.policy.model_copy(update={"gender_balance": False}), none, none, 0
    ).bound
    result = solve_round(r)
    assert result.objective <= with_rule < without
    assert with_rule == result.objective  # two slots: the stand-in is exact


@pytest.mark.parametrize("slots", [3, 4])
def test_gender_network_bounds_teams_with_the_other_class(slots: int) -> None:
    """The first volunteer of neither declared gender earns only the per-volunteer
    charge in the network (the rule never rewards that class): still a bound, for every
    mix of four candidates at one placement of three or four slots."""
    import itertools

    from tests.helpers import doc, plc, vol

    pen = 3_000
    none = np.zeros(0, dtype=np.intp)
    mixes = list(itertools.product(["female", "male", "other"], repeat=4))[::3]
    for genders in mixes:
        vols = [
            vol(f"V{i}", gender=g, skills={"teaching": 5 if i < 3 else 3})
            for i, g in enumerate(genders)
        ]
        d = doc(
            vols,
            [plc("P1", slots=slots, desired_skills={"teaching": 5})],
            gender_balance=True,
            gender_balance_penalty=pen,
        )
        r = parse_round(d)
        result = solve_round(r)
        bound = relaxation(prepare(r), r.policy, none, none, 0).bound
        assert result.objective <= bound, genders


def test_relaxation_in_a_child_process_gives_the_same_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import volmatch.matching.rules.background as background
    import volmatch.matching.rules.bound as bound
    from benchmarks.generate import generate_round

    d = generate_round(300, 60, seed=2, rules=True)
    d["policy"] = {"gender_balance": True, "max_per_host": 5, "time_limit_s": 2}
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    here = bound.relaxation(prep, r.policy, none, none, 0)
    monkeypatch.setattr(background, "BACKGROUND_PAIRS", 0)
    pending = background.relaxation_later(prep, r.policy, none, none, 0)
    assert pending._child is not None  # it did fork
    there = pending.result()
    # the child goes on to the placement-by-placement bound, which can only lower it
    assert there.bound <= here.bound and np.array_equal(there.chosen, here.chosen)
    # a solve that goes through the child reports that bound too, and leaves no child
    solved = solve_round(r)
    assert solved.objective <= solved.bound
    late = background.relaxation_later(prep, r.policy, none, none, 0)
    late.cancel()
    assert late._child is None


def test_child_keeps_working_while_the_parent_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent reads the pipe only at the end; the child's reports must not fill it
    (a blocked child stops improving its bound). Here each report carries a million
    chosen pairs, 8 MB pickled, far over a pipe's buffer."""
    import time

    import volmatch.matching.rules.background as background
    import volmatch.matching.rules.bound as bound

    def slow_relaxation(*args: Any, report: Any = None, **kw: Any) -> bound.Relaxation:
        big = np.arange(1_000_000, dtype=np.intp)
        for k in range(3):
            report(bound.Relaxation(100 - k, big, 0.1 * k, k + 1))
            time.sleep(0.2)
        return bound.Relaxation(98, big, 0.2, 3)

    monkeypatch.setattr(background, "relaxation", slow_relaxation)
    pending = background.Pending((None, None, None, None, 0))
    pending.start()
    if pending._child is None:
        pytest.skip("no fork on this system")
    time.sleep(2.0)  # the parent is busy searching; the child should finish meanwhile
    got = pending.result(deadline=time.perf_counter() + 0.05)
    assert got is not None and got.bound == 98 and got.flows == 3


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
        assert setup.relaxed is not None and setup.relaxed._child is not None
        assert np.array_equal(np.sort(setup.hint), np.sort(want))
        assert (setup.guide is not None) is gender
    finally:
        setup.relaxed.cancel()
    result = solve_round(r)
    assert not validate_result(r, result) and not rule_violations(r, result)
    assert result.objective <= result.bound


def test_a_softened_round_reports_the_bound_of_the_flow_without_rules() -> None:
    """When a rule is dropped for the round, the relaxation (which assumed it) no longer
    bounds the result: the bound is the optimum without any rule."""
    from tests.helpers import doc, plc, vol

    vols = [vol(f"V{i}", nationality="CN") for i in range(3)]
    d = doc(vols, [plc("P1", slots=3), plc("P2", slots=3)],
            max_same_nationality_per_placement=2, max_moves=0)
    d["previous"] = [{"volunteer": f"V{i}", "placement": "P1"} for i in range(3)]
    r = parse_round(d)
    result = solve_round(r)
    assert any(c.get("softened") for c in result.conflicts)  # type: ignore[attr-defined]
    pure = solve_round(parse_round({k: v for k, v in d.items() if k not in ("policy",
                                                                             "previous")}))
    assert result.bound == pure.objective >= result.objective
