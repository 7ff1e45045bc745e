"""Stopping a solve on request: a coordinator cancels a round, a planner a scenario run.

The caller hands the solve a `Stop`, a function that says whether to stop (say a
`threading.Event`'s `is_set`). The solvers look at it between their steps through a
`StopWatch` (`check`), interrupt CP-SAT mid-search (`during`: a watcher thread calls
its `stop_search`), and raise `Stopped`: a stopped solve has no result, not a partial
one. Without a `Stop` nothing is watched and no thread is started.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Stop = Callable[[], bool]
"""Says whether the solve should stop now; called often, so it must be cheap."""

STOP_POLL_S = 0.05
"""Seconds between looks at the stop signal while an uninterruptible step (a CP-SAT
search, a wait for the bound's process) runs: a stop ends it within about this."""


class Stopped(Exception):
    """The caller stopped the solve before it finished: there is no result."""


class StopWatch:
    """The stop signal of one solve, shared by every part of it. Once the signal has
    said stop, the watch says so for good (a signal that clears does not resume)."""

    def __init__(self, stop: Stop | None = None) -> None:
        self._stop = stop
        self._fired = False

    @property
    def watching(self) -> bool:
        """Whether there is a signal to watch at all."""
        return self._stop is not None

    def stopped(self) -> bool:
        """Whether the solve should stop."""
        if not self._fired and self._stop is not None and self._stop():
            self._fired = True
        return self._fired

    def check(self) -> None:
        """Raise `Stopped` when the solve should stop."""
        if self.stopped():
            raise Stopped

    @contextmanager
    def during(self, interrupt: Callable[[], None]) -> Iterator[None]:
        """Run the body with `interrupt` called (every `STOP_POLL_S`, until the body
        ends) once the signal says stop, then raise `Stopped` if it did. `interrupt`
        must be safe from another thread (CP-SAT's `stop_search` is); it is called
        again at every poll, as one call may come before the search has begun."""
        self.check()
        if self._stop is None:
            yield
            return
        done = threading.Event()

        def watch() -> None:
            while not done.wait(STOP_POLL_S):
                if self.stopped():
                    interrupt()

        watcher = threading.Thread(target=watch, daemon=True, name="stop-watch")
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
        self.check()

    def wait(self, event: Callable[[float | None], bool], seconds: float | None) -> bool:
        """`event(timeout)` (a wait that returns whether what it waits for came; None:
        no timeout) for at most `seconds` (None: for as long as it takes), in slices of
        `STOP_POLL_S` while there is a signal, raising `Stopped` as soon as it says stop."""
        if self._stop is None:
            return event(seconds)
        end = None if seconds is None else time.monotonic() + seconds
        while True:
            self.check()
            left = STOP_POLL_S if end is None else min(STOP_POLL_S, end - time.monotonic())
            if event(max(0.0, left)):
                return True
            if end is not None and time.monotonic() >= end:
                return False


NO_STOP = StopWatch()
"""The watch of a solve nobody can stop."""
