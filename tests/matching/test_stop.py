"""Stopping a solve on request (`matching.stop`): a rules round whose solve would last
its whole time limit stops within a second of being told (whole-model CP-SAT, the
windows' search, a wait for the bound's child process), raises `Stopped` with no
result, and leaves no thread or child process behind; pure and stable rounds stop
between their steps; a solve nobody stops is unchanged."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import volmatch.matching.rules  # noqa: F401  (CP-SAT's first import takes seconds)
from benchmarks.cancel_bench import slow_rules_document
from tests.helpers import doc, plc, vol
from volmatch.matching import Stopped, solve_round
from volmatch.matching.stop import STOP_POLL_S, StopWatch
from volmatch.models import parse_round

STOP_AFTER_S = 1.0
"""Seconds into the solve at which the tests say stop."""
STOPPED_WITHIN_S = 5.0
"""Seconds after the stop by which the solve must have ended: generous, for a machine
loaded several times over (it takes 0.06-0.17 s at load 4 on 2 cores), and far below
the rounds' 120 s time limit, which is what the solve would take unstopped."""


def _stop_after(seconds: float) -> tuple[Callable[[], bool], float]:
    """A stop signal that says stop from `seconds` from now on, and that moment (the
    solve's lateness counts from it, not from its first look after it)."""
    at = time.monotonic() + seconds
    return (lambda: time.monotonic() >= at), at


def _stopped_promptly(d: dict[str, Any]) -> float:
    """Solve `d` told to stop after `STOP_AFTER_S`; the seconds it ran past the stop.
    Asserts `Stopped`, and no thread or child process left behind."""
    r = parse_round(d)
    threads = threading.active_count()
    stop, at = _stop_after(STOP_AFTER_S)
    with pytest.raises(Stopped):
        solve_round(r, stop=stop)
    late = time.monotonic() - at
    assert late < STOPPED_WITHIN_S, late
    assert threading.active_count() == threads
    assert multiprocessing.active_children() == []
    return late


def test_a_whole_model_rules_round_stops_mid_search() -> None:
    """250 volunteers: 5,204 pairs, one CP-SAT model whose tiers search for 57 s of a
    60 s limit unstopped; stopped after a second, it ends within a poll or two."""
    _stopped_promptly(slow_rules_document(volunteers=250))


def test_a_windows_search_stops_between_windows() -> None:
    """300 volunteers: 6,364 pairs, the neighbourhood search of CP-SAT windows."""
    _stopped_promptly(slow_rules_document(volunteers=300))


def test_a_wait_for_the_bounds_child_process_stops_and_ends_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the bound runs in a forked child, the solve waits for its first flow (a
    quarter of the time limit at most): a stop ends the wait and the child."""
    import volmatch.matching.rules.background as background

    def never_reports(*args: Any, **kw: Any) -> Any:
        time.sleep(600)

    monkeypatch.setattr(background, "BACKGROUND_PAIRS", 0)
    monkeypatch.setattr(background, "relaxation", never_reports)
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this system")
    _stopped_promptly(slow_rules_document(volunteers=300))


def _small(**policy: Any) -> dict[str, Any]:
    vols = [vol(f"V{k}", gender="female" if k % 2 else "male") for k in range(6)]
    return doc(vols, [plc(f"P{k}", slots=2) for k in range(3)], **policy)


@pytest.mark.parametrize(
    "policy", [{}, {"mode": "stable"}, {"max_per_host": 1}], ids=["pure", "stable", "rules"]
)
def test_a_stop_before_the_solve_gives_no_result_and_none_solves_as_before(
    policy: dict[str, Any],
) -> None:
    r = parse_round(_small(**policy))
    with pytest.raises(Stopped):
        solve_round(r, stop=lambda: True)
    watched, alone = solve_round(r, stop=lambda: False), solve_round(r)
    assert watched.assignments == alone.assignments
    assert (watched.status, watched.objective) == (alone.status, alone.objective)


def test_a_stop_between_stages_stops_at_the_next_stage() -> None:
    """The flow of a pure round is one step: a stop said while it runs is seen as the
    next stage (explanations) starts, and that stage never runs."""
    r = parse_round(_small())
    stages: list[str] = []
    told = threading.Event()

    def progress(stage: str) -> None:
        stages.append(stage)
        if stage == "solve":
            told.set()

    with pytest.raises(Stopped):
        solve_round(r, progress=progress, stop=told.is_set)
    assert stages[-1] == "solve"


def test_the_watch_interrupts_until_the_step_ends_then_raises() -> None:
    """`during` calls the interrupt at every poll once stopped (a first call may come
    before the step has begun), stops calling when the step ends, and raises; with no
    signal it starts no thread; once stopped it stays stopped."""
    calls: list[float] = []
    told = threading.Event()
    watch = StopWatch(told.is_set)
    with pytest.raises(Stopped), watch.during(lambda: calls.append(time.monotonic())):
        told.set()
        time.sleep(4 * STOP_POLL_S)
    assert len(calls) >= 2
    n = len(calls)
    time.sleep(3 * STOP_POLL_S)
    assert len(calls) == n
    told.clear()
    assert watch.stopped()
    threads = threading.active_count()
    with StopWatch().during(lambda: calls.append(0.0)):
        assert threading.active_count() == threads
