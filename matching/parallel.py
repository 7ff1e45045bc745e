"""Eligibility and scoring of a large round on every core: the placements are split
into contiguous ranges, each range's pairs are found and scored in its own thread, and
the pieces are joined in order (pairs are placement-major, so the joined arrays are
exactly what one pass gives). numpy releases the interpreter's lock inside its array
loops, which is where these stages spend their time."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from functools import partial
from typing import Final, TypeVar

import numpy as np

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import Pairs, find_pairs, requirement_index, schedule_calendar
from volmatch.matching.pair_limit import PairCount
from volmatch.matching.scoring import COMPONENTS, Scores, score_pairs

T = TypeVar("T")

PARALLEL_FROM: Final = 20_000_000
"""Volunteers x placements from which the work is split (below it threads cost more
than they save)."""
MAX_THREADS: Final = 4
"""Ranges at most: beyond this the threads contend for memory bandwidth."""


def workers(c: CompiledRound) -> int:
    """How many ranges to split the round into."""
    if c.n_volunteers * c.n_placements < PARALLEL_FROM or c.n_placements < 2:
        return 1
    return max(
        1,
        min(
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1,
            MAX_THREADS,
        ),
    )


def ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """`parts` contiguous ranges covering 0..n (one empty range where n is 0: a round
    without placements is still one piece of work)."""
    cuts = np.linspace(0, n, parts + 1).round().astype(int).tolist()
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a] or [(0, n)]


def in_threads(jobs: list[Callable[[], T]]) -> list[T]:
    """Run each job in its own thread (the first in this one); re-raise the first error."""
    out: list[T | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            out[k] = jobs[k]()
        except BaseException as e:  # handed to the caller below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(1, len(jobs))]
    for t in threads:
        t.start()
    run(0)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out  # type: ignore[return-value]


def join_pairs(parts: list[Pairs]) -> Pairs:
    if len(parts) == 1:
        return parts[0]
    return Pairs(
        np.concatenate([p.v for p in parts]),
        np.concatenate([p.p for p in parts]),
        np.concatenate([p.start for p in parts]),
        np.concatenate([p.months for p in parts]),
    )


def find_pair_parts(c: CompiledRound) -> list[Pairs]:
    """The eligible pairs, in one piece per range of placements (see `workers`); raises
    `TooManyPairs` over the pair limit, counted over all ranges."""
    spans = ranges(c.n_placements, workers(c))
    if len(spans) > 1:
        # built once here rather than raced for by the threads
        requirement_index(c)
        schedule_calendar(c)
    count = PairCount()
    parts = in_threads([partial(find_pairs, c, a, b, count) for a, b in spans])
    count.check()
    return parts


def score_pair_parts(c: CompiledRound, parts: list[Pairs]) -> Scores:
    """`score_pairs` of each piece, one thread each, written straight into the joined
    arrays (a join afterwards would touch every page a second time)."""
    if len(parts) == 1:
        return score_pairs(c, parts[0])
    n = sum(len(p) for p in parts)
    scores = Scores(
        total=np.empty(n, dtype=np.int64),
        components={k: np.empty(n, dtype=np.int64) for k in COMPONENTS},
    )
    at = np.cumsum([0] + [len(p) for p in parts]).tolist()

    def piece(k: int) -> Scores:
        lo, hi = at[k], at[k + 1]
        return Scores(scores.total[lo:hi], {n: a[lo:hi] for n, a in scores.components.items()})

    in_threads([partial(score_pairs, c, p, piece(k)) for k, p in enumerate(parts)])
    return scores
