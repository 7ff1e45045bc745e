"""The one place where a command's errors become a message on stderr and an exit code.

Bad input (an invalid round, a round that cannot be solved, a bad argument) exits 2
with every error listed on stderr; anything else exits 1 with one line naming it.
Commands run their body through `guarded`, so no traceback reaches a coordinator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from volmatch.matching.stop import Stop

EXIT_OK = 0
"""The command did what was asked."""
EXIT_ERROR = 1
"""Something other than the input went wrong (a bug, a full disk ...)."""
EXIT_BAD_INPUT = 2
"""The input is wrong; every error is listed on stderr."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C (128 + SIGINT, as shells say it); nothing was written."""
JOIN_S = 0.1
"""How often the waiting thread wakes, so that Ctrl-C reaches it (Python runs signal
handlers only between its own steps of the main thread)."""

T = TypeVar("T")


class BadInput(Exception):
    """A bad argument that is not a round-document error (unknown id ...)."""


def stderr() -> Console:
    """A rich console on stderr, for messages that must not mix with JSON on stdout."""
    from rich.console import Console

    return Console(stderr=True)


def report(exc: BaseException) -> int:
    """Print `exc` on stderr as a coordinator should read it; return the exit code."""
    from volmatch.models import InfeasibleRound, InvalidRound

    err = stderr()
    if isinstance(exc, InvalidRound):
        err.print(f"[bold red]invalid round:[/] {len(exc.errors)} error(s)")
        for e in exc.errors:
            err.print(f"  - {e}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    if isinstance(exc, InfeasibleRound):
        err.print(f"[bold red]round cannot be solved:[/] {len(exc.conflicts)} conflict(s)")
        for c in exc.conflicts:
            err.print(f"  - {c}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    if isinstance(exc, BadInput):
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_BAD_INPUT
    err.print(f"[bold red]volmatch failed:[/] {type(exc).__name__}: {exc}", highlight=False)
    return EXIT_ERROR


def interruptible(fn: Callable[[Stop], T]) -> T:
    """`fn(stop)` run in a thread of its own while this one waits, so that Ctrl-C is
    seen at once (a solve waiting inside CP-SAT would see it only when that search
    ends): it tells the solve to stop (`matching.stop`), waits for it, and exits with
    `EXIT_INTERRUPTED`."""
    import threading

    told, finished = threading.Event(), threading.Event()
    out: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn(told.is_set))
        except BaseException as exc:  # handed to the waiting thread
            failed.append(exc)
        finally:
            finished.set()

    worker = threading.Thread(target=run, name="solve", daemon=True)
    worker.start()
    # (an event, not `join`: Ctrl-C inside `Thread.join` can leave the thread marked
    # finished while it runs, and the process then ends under a running CP-SAT)
    try:
        while not finished.wait(JOIN_S):
            pass
    except KeyboardInterrupt:
        told.set()
        finished.wait()
        stderr().print("stopped (Ctrl-C): nothing written", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if failed:
        raise failed[0]
    return out[0]


def guarded(fn: Callable[[], T]) -> T:
    """Run a command's body: every error ends in a message and an exit code."""
    try:
        return fn()
    except typer.Exit:
        raise
    except Exception as exc:  # every error ends in a message and an exit code
        raise typer.Exit(report(exc)) from exc
