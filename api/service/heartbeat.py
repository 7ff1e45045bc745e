"""The heartbeat of a worker solving a round or a scenario run: the lease renewed every
`heartbeat_s` (a write), and between renewals a look every `cancel_poll_s` (a read)
whether the job was cancelled, so that a cancel stops the solve within about that
(`matching.stop`) instead of at the next renewal or the end of the time limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from volmatch.api.service.logs import get_logger
from volmatch.api.service.settings import Settings

log = get_logger("heartbeat")


@dataclass
class Held:
    """What the heartbeat tells the worker about the job it holds."""

    lost: threading.Event = field(default_factory=threading.Event)
    """Another worker took the job over (our lease expired): drop our work."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    """The job was cancelled: stop solving, store no result."""

    def stop(self) -> bool:
        """Whether the solve should stop (the `matching.stop.Stop` handed to it)."""
        return self.lost.is_set() or self.cancelled.is_set()


def beat(
    settings: Settings,
    renew: Callable[[], bool],
    cancelled: Callable[[], bool],
    done: threading.Event,
    held: Held,
) -> None:
    """Until `done`: `renew` the lease every `heartbeat_s` (False: the job is no longer
    ours) and look whether it was `cancelled` every `cancel_poll_s`; sets `held.lost`
    or `held.cancelled` and returns on either."""
    every = min(settings.cancel_poll_s, settings.heartbeat_s)
    renew_at = time.monotonic() + settings.heartbeat_s
    while not done.wait(every):
        try:
            if cancelled():
                held.cancelled.set()
                return
            if time.monotonic() < renew_at:
                continue
            renew_at = time.monotonic() + settings.heartbeat_s
            if not renew():
                (held.cancelled if cancelled() else held.lost).set()
                return
        except Exception as exc:  # a database hiccup: try again at the next beat
            log.warning("heartbeat failed", extra={"exc_type": type(exc).__name__})
