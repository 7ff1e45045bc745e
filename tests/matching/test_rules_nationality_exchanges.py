"""Nationality exchanges under a tight cap per placement
(`matching.rules.nationality_exchanges`)."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import checked_assignment, local_start
from volmatch.matching.rules.local import run_moves
from volmatch.matching.rules.nationality_exchanges import nationality_moves

COOK = {"teaching": 3, "cooking": 2}


def test_an_exchange_of_nationalities_between_placements() -> None:
    # P1 holds its cap of CN (B); C (CN) can only go to P1; B can go to P2, which is
    # full with D (KE), who can go to P1: C -> P1, B -> P2, D -> P1 places everyone
    d = doc(
        [vol("B", skills=COOK), vol("C"), vol("D", nationality="KE", skills=COOK)],
        [plc("P1", slots=2), plc("P2", required_skills={"cooking": 1})],
        max_same_nationality_per_placement=1,
    )
    r, prep, local, start = local_start(d, [("B", "P1"), ("D", "P2")])
    before = local.ev.values(start)
    after, values, kept = run_moves(local, start, nationality_moves)
    assert kept >= 1 and values > before
    assert checked_assignment(r, prep, after) == {"B": "P2", "C": "P1", "D": "P1"}


def test_no_exchange_breaks_the_cap() -> None:
    # every volunteer is CN and P2 already holds one: C cannot get in without
    # someone of CN leaving for a place with no CN, and there is none
    d = doc(
        [vol("B", skills=COOK), vol("C"), vol("D", skills=COOK)],
        [plc("P1", slots=2), plc("P2", required_skills={"cooking": 1})],
        max_same_nationality_per_placement=1,
    )
    r, prep, local, start = local_start(d, [("B", "P1"), ("D", "P2")])
    after, values, _ = run_moves(local, start, nationality_moves)
    assert len(checked_assignment(r, prep, after)) == 2
    assert values >= local.ev.values(start)
