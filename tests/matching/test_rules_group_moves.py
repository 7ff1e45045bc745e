"""Groups moved as one (`matching.rules.group_moves`)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from tests.helpers import doc, plc, vol
from tests.matching.rounds import checked_assignment, greedy_local, local_start
from tests.strategies import ruled_docs
from volmatch.matching.rules.group_moves import group_moves
from volmatch.matching.rules.local import run_moves

COOK = {"teaching": 3, "cooking": 2}


def test_a_couple_moves_in_together_and_the_single_makes_room() -> None:
    # the couple A+B fits only P2 (2 slots), where C sits; C can go elsewhere: no
    # move of one person places the couple, the group move (C on) does
    d = doc(
        [vol("A", group="G"), vol("B", group="G"), vol("C", skills=COOK)],
        [plc("P1"), plc("P2", slots=2), plc("P3", required_skills={"cooking": 1})],
    )
    r, prep, local, start = local_start(d, [("C", "P2")])
    before = local.ev.values(start)
    after, values, kept = run_moves(local, start, group_moves)
    assert kept >= 1 and values > before
    where = checked_assignment(r, prep, after)
    assert where["A"] == where["B"] == "P2" and where["C"] in ("P1", "P3")


def test_a_couple_moves_between_countries_together_within_the_budget() -> None:
    # the couple sits in KE but would rather be in NP, where the placements take one
    # each (one in each country is no move: the group would split)
    d = doc(
        [
            vol("A", group="G", preferences=["N1", "N2"]),
            vol("B", group="G", preferences=["N1", "N2"]),
        ],
        [
            plc("N1", country="NP"),
            plc("N2", country="NP", host="H3"),
            plc("K1", country="KE", host="H2", slots=2),
        ],
        group_together="country",
        budget={"total": 600, "cost": {"NP": 100, "KE": 300}},
    )
    r, prep, local, start = local_start(d, [("A", "K1"), ("B", "K1")])
    before = local.ev.values(start)
    after, values, kept = run_moves(local, start, group_moves)
    assert kept == 1 and values > before
    where = checked_assignment(r, prep, after)
    assert {where["A"], where["B"]} == {"N1", "N2"}


def test_a_group_move_that_breaks_the_budget_is_not_kept() -> None:
    d = doc(
        [vol("A", group="G", preferences=["K1"]), vol("B", group="G", preferences=["K1"])],
        [
            plc("N1", country="NP", slots=2),
            plc("K1", country="KE", host="H2", slots=2),
        ],
        group_together="country",
        budget={"total": 300, "cost": {"NP": 100, "KE": 300}},
    )
    r, prep, local, start = local_start(d, [("A", "N1"), ("B", "N1")])
    after, _, kept = run_moves(local, start, group_moves)
    assert kept == 0 and checked_assignment(r, prep, after) == {"A": "N1", "B": "N1"}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruled_docs())
def test_moves_from_the_greedy_start_never_break_a_rule(d: dict[str, Any]) -> None:
    r, prep, local, start = greedy_local(d)
    if local.ev.breaches(start, local.locked):
        return  # locks that break a rule: CP-SAT's case, not the search's
    after, values, _ = run_moves(local, start, group_moves, rounds=2)
    assert values >= local.ev.values(start)
    checked_assignment(r, prep, after)
