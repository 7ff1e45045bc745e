"""The relaxation bound of rounds with rules (`matching.rules.bound` over the networks
of `matching.rules.network`) never cuts off the proven optimum, with the gender
balance network and the budget multiplier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.matching.rounds import proven_score_round
from tests.strategies import ruled_docs
from volmatch.matching import solve_round
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.bound import relaxation
from volmatch.models import parse_round


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
