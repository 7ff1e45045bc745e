"""Ejection chains across hosts under a host cap (`matching.rules.host_chains`)."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import checked_assignment, local_start
from volmatch.matching.rules.host_chains import host_chain_moves
from volmatch.matching.rules.local import run_moves


def test_a_chain_across_hosts_unsticks_a_host_at_its_cap() -> None:
    # H1 is at its cap (B at P1b); A can only go to P1 (H1), B can go to P2 (H2):
    # no single move places A, the chain A -> P1, B -> P2 does
    d = doc(
        [vol("A"), vol("B", skills={"teaching": 3, "cooking": 2})],
        [plc("P1", slots=2), plc("P1b"), plc("P2", host="H2", required_skills={"cooking": 1})],
        max_per_host=1,
    )
    r, prep, local, start = local_start(d, [("B", "P1b")])
    before = local.ev.values(start)
    after, values, kept = run_moves(local, start, host_chain_moves)
    assert kept >= 1 and values > before
    assert checked_assignment(r, prep, after) == {"A": "P1", "B": "P2"}


def test_no_chain_when_nobody_may_leave_the_host() -> None:
    # B has nowhere else to go: A stays out, and nothing breaks the cap
    d = doc(
        [vol("A"), vol("B")],
        [plc("P1", slots=2), plc("P1b"), plc("P2", host="H2", required_skills={"cooking": 1})],
        max_per_host=1,
    )
    r, prep, local, start = local_start(d, [("B", "P1b")])
    after, values, _ = run_moves(local, start, host_chain_moves)
    placed_now = checked_assignment(r, prep, after)
    assert len(placed_now) == 1 and values >= local.ev.values(start)
