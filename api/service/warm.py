"""Rounds held warm for advice: per round version, the compiled pool, its requirement
bitsets, the eligible pairs and scores, and the residual network of the best
assignment, so that a need's feasibility or a top-k with exact regrets is answered in
milliseconds instead of re-preparing a round of 100,000 volunteers.

A version is a round id with the time its result was stored and the erasures' mark:
rounds are frozen snapshots and a result is stored once, so a version never changes,
and a newer round, or an erasure (which rewrites rounds and results in place), is
another key. At most `kept` versions are
held, least recently used dropped; safe to share between request threads. One lives on
`app.state.warm` (no module-level state).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final

from volmatch.matching.advice import AdviceBase

WARM_KEPT: Final = 2
"""Round versions held: the current round and the one before (a 100k-volunteer round
holds a few hundred MB of pairs and network)."""


class WarmRounds:
    """Advice bases by round version, least recently used dropped past `kept`."""

    def __init__(self, kept: int = WARM_KEPT) -> None:
        self.kept = kept
        self._bases: OrderedDict[Hashable, AdviceBase] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, build: Callable[[], AdviceBase]) -> AdviceBase:
        """The base of `key`, built once (concurrent askers wait for the one build)."""
        with self._lock:
            base = self._bases.get(key)
            if base is not None:
                self._bases.move_to_end(key)
                return base
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                base = self._bases.get(key)
            if base is None:
                base = build()
                with self._lock:
                    self._bases[key] = base
                    self._bases.move_to_end(key)
                    while len(self._bases) > self.kept:
                        self._bases.popitem(last=False)
            with self._lock:
                self._building.pop(key, None)
            return base

    def clear(self) -> None:
        """Forget every round (after an erasure: the pool changed)."""
        with self._lock:
            self._bases.clear()


def warm_rounds(app: Any) -> WarmRounds:
    """The app's warm rounds (`app.state.warm`, made on first use where the app was built
    without: the routes and the pages share it)."""
    warm = getattr(app.state, "warm", None)
    if not isinstance(warm, WarmRounds):
        warm = app.state.warm = WarmRounds()
    return warm
