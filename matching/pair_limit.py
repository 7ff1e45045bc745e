"""The one bound on how many pairs a round may have.

Everything after eligibility holds arrays per pair: the pairs themselves, their scores,
the flow network, the advice base's residual network and prices (210-240 bytes per
pair at the peak, the flow's solve; benchmarks/README.md "Memory per pair").
A round where every volunteer qualifies for every need (50,000 x 10,000 is 500 million
pairs) would need over 100 GB: without a bound, a service building such a round's
advice in the background was killed by the OOM killer. `find_pairs` counts the
candidate pairs of each batch of placements from their bitsets (a popcount, before any
per-pair array exists) and stops materialising them as soon as the running count passes
the limit; it then only counts on, so that the error says how many there are.

Candidates are the pairs meeting every rule the requirement bitsets decide (all but
dates, age and forbidden pairs, checked on the candidates), so they bound the eligible
pairs from above: in the benchmarks' generated rounds there are 1.4 times as many
(100,000 x 20,000: 7.0M candidates, 4.9M eligible).

The limit is process-wide, set by the command line and the service from their settings
(`VOLMATCH_MAX_ROUND_PAIRS`) through `set_pair_limit`.
"""

from __future__ import annotations

import threading
from typing import Final

from volmatch.models import TooManyPairs

MAX_ROUND_PAIRS: Final = 10_000_000
"""Default pair limit: above the largest realistic round measured (100,000 x 20,000:
7.0M candidates), and ~2.4 GB per round at ~240 bytes a pair, so that a service process
holding two warm rounds and building a third stays near 7 GB: two fit in 24 GB."""

PAIR_LIMIT_SETTING: Final = "VOLMATCH_MAX_ROUND_PAIRS"
"""The environment variable (and service setting `max_round_pairs`) that raises it."""

_limit = MAX_ROUND_PAIRS


def pair_limit() -> int:
    """The pair limit in force in this process."""
    return _limit


def set_pair_limit(limit: int) -> int:
    """Set the process's pair limit; returns the one it replaces (for tests to restore)."""
    global _limit
    if limit < 1:
        raise ValueError(f"the pair limit must be positive, not {limit}")
    old, _limit = _limit, int(limit)
    return old


class PairCount:
    """The candidate pairs counted so far across the placement ranges of one round
    (threads of `matching.parallel` add to one count)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = pair_limit() if limit is None else limit
        self.n = 0
        self._lock = threading.Lock()

    def add(self, k: int) -> bool:
        """Count `k` more pairs; whether the count is still within the limit."""
        with self._lock:
            self.n += k
            return self.n <= self.limit

    @property
    def over(self) -> bool:
        return self.n > self.limit

    def check(self) -> None:
        """Raise `TooManyPairs` where the count passed the limit."""
        if self.over:
            raise TooManyPairs(self.n, self.limit, PAIR_LIMIT_SETTING)
