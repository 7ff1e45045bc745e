"""The relaxation of `matching.rules.bound`, run beside the search.

Its flows hold the interpreter's lock for seconds on large rounds, while the search
uses one core: on a fork-capable system a child process computes it on the other core
and sends each better bound back as it is found. `Pending` waits for it, reads the
newest, or stops it; small rounds compute it in process, before the search.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.bound import Relaxation, relaxation
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Policy

CHILD_FLOWS = 5
"""Flows of the multiplier search in the child, after which it turns to the
placement-by-placement bound until stopped: later flows take seconds each on large
rounds and gain little, the placement-by-placement bound far more."""
DECOMPOSE_SHARE = 0.1
"""Share of the time limit a small round gives the placement-by-placement bound
before its search starts."""
FLOWS_SHARE = 0.3
"""Share of the time limit a small round's multiplier search may take (one flow at
least): the flows take a fraction of a second each, so only tight limits cut them."""
BACKGROUND_PAIRS = 100_000
"""From this many pairs, the relaxation runs in a forked process beside the search."""


class Pending:
    """A relaxation being computed: `first()` and `result()` wait for it, `cancel()`
    drops it. A wait raises `Stopped` once `watch` says stop (the caller cancels)."""

    def __init__(
        self,
        args: tuple[Any, ...],
        done: Relaxation | None = None,
        watch: StopWatch = NO_STOP,
    ) -> None:
        self._args = args
        self._done = done
        self._watch = watch
        self._child: Any = None
        self._receive: Connection | None = None
        self._reader: threading.Thread | None = None
        self._got: list[Relaxation] = []
        self._ended = False  # the child's pipe is closed
        self._complete = False  # the child finished its flows
        self._arrived = threading.Condition()
        self._started = time.perf_counter()
        self.first_seconds: float | None = None
        """Seconds from the start of the child to its first relaxation (None: none yet)."""

    def start(self) -> None:
        """Run in a forked child (if the system forks; else `result()` computes it)."""
        if "fork" not in mp.get_all_start_methods():
            return
        self._started = time.perf_counter()
        ctx = mp.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_relax_child, args=(send, self._args), daemon=True)
        try:
            child.start()
        except OSError:
            receive.close()
            return
        finally:
            send.close()
        self._child, self._receive = child, receive
        # The pipe is read as messages come: one larger than the pipe's buffer (a
        # chosen assignment of 8,000 pairs and more) would otherwise block the child,
        # and its later, tighter flows would never run.
        self._reader = threading.Thread(target=self._drain, args=(receive,), daemon=True)
        self._reader.start()

    def _drain(self, receive: Connection) -> None:
        try:
            while True:
                msg = receive.recv()
                if msg is None:
                    with self._arrived:
                        self._complete = True
                    break
                with self._arrived:
                    if not self._got:
                        self.first_seconds = time.perf_counter() - self._started
                    self._got.append(msg)
                    self._arrived.notify_all()
        except (EOFError, OSError):
            pass
        finally:
            with self._arrived:
                self._ended = True
                self._arrived.notify_all()

    def _wait(self, ready: Callable[[], bool], deadline: float | None) -> None:
        def came(timeout: float | None) -> bool:
            with self._arrived:
                return self._arrived.wait_for(lambda: ready() or self._ended, timeout=timeout)

        wait = None if deadline is None else max(0.0, deadline - time.perf_counter())
        self._watch.wait(came, wait)

    def first(self, deadline: float | None = None) -> Relaxation | None:
        """The first relaxation found (None if none by `deadline`); the child goes on."""
        if self._done is not None:
            return self._done
        if self._reader is None:
            return None
        self._wait(lambda: bool(self._got), deadline)
        with self._arrived:
            return self._got[0] if self._got else None

    @property
    def forked(self) -> bool:
        """Whether a child process is at work or done and not yet joined."""
        return self._child is not None

    @property
    def in_background(self) -> bool:
        """Computed by a child process (until `result()` stops it)."""
        return self._reader is not None

    def latest(self) -> Relaxation | None:
        """The best relaxation found so far, without waiting."""
        if self._done is not None:
            return self._done
        with self._arrived:
            return self._got[-1] if self._got else None

    def result(self, deadline: float | None = None) -> Relaxation | None:
        """The relaxation; with a `deadline` (a perf_counter() value), the best bound
        the child has found by then (None if none yet), and the child is stopped."""
        if self._done is not None:
            return self._done
        best: Relaxation | None = None
        finished = False
        if self._reader is not None:
            self._wait(lambda: self._complete, deadline)
            with self._arrived:
                best = self._got[-1] if self._got else None
                finished = self._complete
            self.cancel()
        if deadline is None and not finished:
            # the child failed: compute it here
            prep, policy, locked, prev_pairs, n_previous = self._args
            best = relaxation(prep, policy, locked, prev_pairs, n_previous, watch=self._watch)
        self._done = best
        return best

    def cancel(self) -> None:
        """Stop a child still at work (the solve ended another way)."""
        if self._child is not None and self._child.is_alive():
            self._child.terminate()
        self._close()

    def _close(self) -> None:
        if self._child is not None:
            self._child.join()
            self._child = None
        if self._reader is not None:
            self._reader.join()  # the child is gone: its end of the pipe is closed
            self._reader = None
        if self._receive is not None:
            self._receive.close()
            self._receive = None


def relaxation_later(
    prep: Prepared,
    policy: Policy,
    locked: NDArray[np.intp],
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    watch: StopWatch = NO_STOP,
) -> Pending:
    """Start `relaxation`; the returned `Pending` waits for it.

    Its flows hold the interpreter's lock for seconds on large rounds, while the
    search that follows uses one core: on a fork-capable system the flows run in a
    child process on the other core. Elsewhere, or if the child fails, `result()`
    computes it in process. Waits for it raise `Stopped` once `watch` says stop, as
    does the relaxation computed here."""
    args = (prep, policy, locked, prev_pairs, n_previous)
    if len(prep.pairs) < BACKGROUND_PAIRS:
        # small rounds: the placement-by-placement bound costs a fraction of a second;
        # DECOMPOSE_SHARE of the time limit at most
        now = time.perf_counter()
        until = now + DECOMPOSE_SHARE * policy.time_limit_s
        flows_until = now + FLOWS_SHARE * policy.time_limit_s
        return Pending(
            args,
            relaxation(
                *args,
                decompose=True,
                decompose_until=until,
                flows_until=flows_until,
                watch=watch,
            ),
            watch,
        )
    pending = Pending(args, watch=watch)
    pending.start()
    return pending


def _relax_child(send: Connection, args: tuple[Any, ...]) -> None:
    """Send each better relaxation as it is found, then None when done. The first
    flow already prices the budget: its assignment is the search's start."""
    try:
        prep, policy, locked, prev_pairs, n_previous = args

        relaxation(
            prep,
            policy,
            locked,
            prev_pairs,
            n_previous,
            report=send.send,
            max_flows=CHILD_FLOWS,
            start_at_zero=False,
            decompose=True,
        )
        send.send(None)
    except BaseException:  # a broken pipe (the parent stopped waiting) or a failure
        pass
    finally:
        send.close()
