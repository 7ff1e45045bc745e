"""Groups (`matching.constraints.groups`): placed together or not at all, at one
placement or in one country; a group no placement takes whole stays out, with the
reason."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import given, settings

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve
from tests.strategies import ruled_docs
from volmatch.matching.constraints.groups import unplaceable_groups
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.model import build_model
from volmatch.matching.rules.setup import set_up
from volmatch.models import parse_round


def test_group_goes_together_even_at_a_lower_score() -> None:
    d = doc(
        [vol("V1", group="g", skills={"teaching": 5}), vol("V2", group="g")],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", slots=2)],
    )
    assert placed(solve(d)) == {"V1": "P2", "V2": "P2"}
    # without the group, V1 would take P1
    d2 = doc(
        [vol("V1", skills={"teaching": 5}), vol("V2")],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", slots=2)],
    )
    assert placed(solve(d2))["V1"] == "P1"


def test_group_together_by_country() -> None:
    d = doc(
        [vol("V1", group="g"), vol("V2", group="g")],
        [plc("P1"), plc("P2"), plc("P3", country="KE")],
        group_together="country",
    )
    where = placed(solve(d))
    assert set(where) == {"V1", "V2"} and {where["V1"], where["V2"]} == {"P1", "P2"}


def test_group_no_placement_takes_whole_stays_out_with_reason() -> None:
    d = doc(
        [vol("V1", group="g"), vol("V2", group="g", languages={"fr": "B2"})],
        [plc("P1", required_languages={"en": "B1"}), plc("P2", required_languages={"fr": "B1"})],
    )
    result = solve(d)
    assert result.assignments == []
    why = {u.volunteer: u.reasons for u in result.unmatched_volunteers}
    assert "group 'g': no placement accepts all 2 members" in why["V1"][0]


@settings(max_examples=30, deadline=None)
@given(ruled_docs())
def test_groups_no_placement_takes_counted_like_the_model(d: dict[str, Any]) -> None:
    r = parse_round(d)
    prep = prepare(r)
    setup = set_up(prep, 0.0)
    everything = replace(setup, model_pairs=np.arange(len(prep.pairs), dtype=np.intp))
    built = build_model(prep, everything, r.policy)
    counted = unplaceable_groups(prep.compiled, prep.pairs, r.policy.group_together)
    assert counted == built.ctx.notes["groups_unplaceable"]


def test_groups_alone_feasible_and_infeasible_and_its_array_check_agrees() -> None:
    from tests.matching.rounds import rule_alone
    from volmatch.matching.constraints.groups import add_groups, breaches

    d = doc(
        [vol("A", group="g"), vol("B", group="g")],
        [plc("P1", slots=2), plc("P2", host="H2", country="KE")],
        group_together="placement",
    )
    ok, prep, picked, pol = rule_alone(d, add_groups, [("A", "P1"), ("B", "P1")])
    assert ok and breaches(prep.compiled, prep.pairs, picked, pol.group_together) == []
    ok, prep, picked, pol = rule_alone(d, add_groups, [("A", "P1"), ("B", "P2")])
    assert not ok and breaches(prep.compiled, prep.pairs, picked, pol.group_together) == [0]
    # one member alone is a split too (the model completes it: B joins A)
    ok, prep, picked, pol = rule_alone(d, add_groups, [("A", "P1")])
    assert ok and breaches(prep.compiled, prep.pairs, picked, pol.group_together) == [0]
