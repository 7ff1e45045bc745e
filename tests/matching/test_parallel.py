"""Eligibility and scoring split between threads give exactly the one-pass arrays."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.generate import generate_round
from volmatch.matching import compile_round, find_pairs, parallel, score_pairs
from volmatch.matching.prepared import prepare
from volmatch.models import parse_round


def test_ranges_cover_every_placement_once() -> None:
    for n in (1, 2, 7, 100):
        for parts in (1, 2, 3, 4):
            spans = parallel.ranges(n, parts)
            covered = [i for a, b in spans for i in range(a, b)]
            assert covered == list(range(n))


@pytest.mark.parametrize("seed", [0, 3])
def test_threaded_pairs_and_scores_equal_one_pass(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    r = parse_round(generate_round(600, 90, seed=seed))
    one = compile_round(r)
    pairs = find_pairs(one)
    scores = score_pairs(one, pairs)
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "workers", lambda c: 3)
    prep = prepare(r)
    for a, b in (
        (pairs.v, prep.pairs.v),
        (pairs.p, prep.pairs.p),
        (pairs.start, prep.pairs.start),
        (pairs.months, prep.pairs.months),
        (scores.total, prep.scores.total),
    ):
        assert np.array_equal(a, b)
    assert list(scores.components) == list(prep.scores.components)
    for k, v in scores.components.items():
        assert np.array_equal(v, prep.scores.components[k]), k


def test_a_failing_thread_raises_in_the_caller() -> None:
    def boom() -> int:
        raise ValueError("range 2 failed")

    with pytest.raises(ValueError, match="range 2 failed"):
        parallel.in_threads([lambda: 1, boom])
