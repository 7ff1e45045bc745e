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

A round's first advice request would otherwise wait for its build (seconds at 10,000
volunteers, a minute at 100,000): `prewarm` builds it in the background as soon as a
result is stored (the embedded worker calls it after its commit). One build runs at a
time on one thread; of the builds asked meanwhile only the newest waits (a newer
result makes the older round's build moot), so memory stays bounded by `kept` plus
the one being built. A round over the pair limit (`matching.pair_limit`) is refused
once, logged without personal data, and every later ask of it answered with that refusal.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Final

from volmatch.api.service.logs import get_logger
from volmatch.matching.advice import AdviceBase
from volmatch.models import TooManyPairs

log = get_logger("warm")

WARM_KEPT: Final = 2
"""Round versions held: the current round and the one before (a 100k-volunteer round
holds a few hundred MB of pairs and network)."""


REFUSED_KEPT: Final = 16
"""Refused round versions remembered: a few bytes each, and more than rounds in use."""


class WarmRounds:
    """Advice bases by round version, least recently used dropped past `kept`."""

    def __init__(self, kept: int = WARM_KEPT) -> None:
        self.kept = kept
        self._bases: OrderedDict[Hashable, AdviceBase] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self._refused: OrderedDict[Hashable, TooManyPairs] = OrderedDict()
        """Versions whose build found the round over the pair limit (newest last)."""
        self._next: Callable[[], object] | None = None
        """The newest background build asked for and not started yet."""
        self._prewarmer: threading.Thread | None = None
        self.builds = 0
        """How many bases were built here (not found built)."""

    def get(self, key: Hashable, build: Callable[[], AdviceBase]) -> AdviceBase:
        """The base of `key`, built once (concurrent askers wait for the one build)."""
        with self._lock:
            base = self._bases.get(key)
            if base is not None:
                self._bases.move_to_end(key)
                return base
            refused = self._refused.get(key)
            if refused is not None:
                raise refused
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                base = self._bases.get(key)
                refused = self._refused.get(key)
            if refused is not None:
                raise refused
            if base is None:
                try:
                    base = build()
                except TooManyPairs as exc:
                    self._refuse(key, exc)
                    raise
                finally:
                    with self._lock:
                        self._building.pop(key, None)
                with self._lock:
                    self.builds += 1
                    self._bases[key] = base
                    self._bases.move_to_end(key)
                    while len(self._bases) > self.kept:
                        self._bases.popitem(last=False)
            return base

    def _refuse(self, key: Hashable, exc: TooManyPairs) -> None:
        """Remember that `key`'s round is over the pair limit, so that every later ask
        is answered at once instead of counting its pairs again."""
        with self._lock:
            self._refused[key] = exc
            while len(self._refused) > REFUSED_KEPT:
                self._refused.popitem(last=False)
        # Counts and the round's id only: the round's records are personal data.
        log.error(
            "round over the pair limit: its advice and explanations are unavailable",
            extra={
                "round": key[0] if isinstance(key, tuple) and key else str(key),
                "pairs": exc.pairs,
                "limit": exc.limit,
            },
        )

    def refused(self, key: Hashable) -> TooManyPairs | None:
        """The refusal of `key`'s round where its build found it over the pair limit."""
        with self._lock:
            return self._refused.get(key)

    def peek(self, key: Hashable) -> AdviceBase | None:
        """The base of `key` if it is built, without building it (a page that must not
        wait for a build asks this first)."""
        with self._lock:
            base = self._bases.get(key)
            if base is not None:
                self._bases.move_to_end(key)
            return base

    def building(self, key: Hashable) -> bool:
        """Whether the base of `key` is being built now (an asker then waits for it)."""
        with self._lock:
            return key in self._building

    def busy(self) -> bool:
        """Whether a background build runs (or its collector's pass after it)."""
        with self._lock:
            return self._prewarmer is not None and self._prewarmer.is_alive()

    def pending(self) -> bool:
        """Whether a background build is asked for and not started yet (a page that only
        wants the newest round built leaves it be: it may be the worker's cheap
        hand-over, which a rebuild from the database would replace)."""
        with self._lock:
            return self._next is not None

    def prewarm(self, job: Callable[[], object]) -> None:
        """Run `job` (typically one that calls `get`) on the background thread, replacing
        any job asked for earlier and not started yet."""
        with self._lock:
            self._next = job
            if self._prewarmer is None or not self._prewarmer.is_alive():
                self._prewarmer = threading.Thread(
                    target=self._prewarm_loop, daemon=True, name="volmatch-prewarm"
                )
                self._prewarmer.start()

    def _prewarm_loop(self) -> None:
        while True:
            with self._lock:
                job, self._next = self._next, None
                if job is None:
                    self._prewarmer = None
                    return
            try:
                job()
            except Exception as exc:  # a background build never takes the service down
                log.warning("background warm-up failed", extra={"exc_type": type(exc).__name__})

    def stop(self, timeout: float) -> None:
        """Drop the build asked for and not started, and wait up to `timeout` seconds for
        the one running: a stopping service must not read from a database it is closing."""
        with self._lock:
            self._next = None
            thread = self._prewarmer
        if thread is not None:
            thread.join(timeout=timeout)

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
