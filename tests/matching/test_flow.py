"""The capacitated assignment as a min-cost flow (`matching.flow`): hand-made instances
with known optima, and the node compaction against numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from volmatch.matching.flow import compact_ids, max_score_assignment


def test_the_flow_trades_a_high_score_for_two_placed() -> None:
    # V0 scores 10 at P0 and 6 at P1; V1 scores 9 at P0 only; one slot each:
    # V0 -> P1, V1 -> P0 (15) beats V0 -> P0 alone (10)
    pv = np.array([0, 0, 1])
    pp = np.array([0, 1, 0])
    score = np.array([10, 6, 9], dtype=np.int64)
    sol = max_score_assignment(2, np.array([1, 1], dtype=np.int64), pv, pp, score)
    assert sorted(sol.chosen.tolist()) == [1, 2] and sol.objective == 15


def test_capacity_and_nobody_twice() -> None:
    pv = np.array([0, 1, 2, 0])
    pp = np.array([0, 0, 0, 1])
    score = np.array([5, 4, 3, 1], dtype=np.int64)
    sol = max_score_assignment(3, np.array([2, 1], dtype=np.int64), pv, pp, score)
    # P0 takes its two best (V0, V1); V2 would need a slot; V0 is not placed twice
    assert sorted(sol.chosen.tolist()) == [0, 1] and sol.objective == 9


def test_no_pairs_no_assignment() -> None:
    empty = np.zeros(0, dtype=np.int64)
    sol = max_score_assignment(3, np.array([1], dtype=np.int64), empty, empty, empty)
    assert len(sol.chosen) == 0 and sol.objective == 0


@given(st.lists(st.integers(0, 30), max_size=60))
def test_compact_ids_is_numpys_unique_with_inverse(ids: list[int]) -> None:
    arr = np.array(ids, dtype=np.int64)
    used, rank = compact_ids(arr, 31)
    want_used, want_rank = np.unique(arr, return_inverse=True)
    assert np.array_equal(used, want_used)
    assert np.array_equal(rank, want_rank.reshape(-1))
