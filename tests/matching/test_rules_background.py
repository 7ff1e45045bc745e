"""The relaxation in a forked child process (`matching.rules.background`): the same
bound, and a child that keeps working while the parent is busy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from volmatch.matching import solve_round
from volmatch.matching.prepared import prepare
from volmatch.models import parse_round


def test_relaxation_in_a_child_process_gives_the_same_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import volmatch.matching.rules.background as background
    import volmatch.matching.rules.bound as bound
    from benchmarks.generate import generate_round

    d = generate_round(300, 60, seed=2, rules=True)
    d["policy"] = {"gender_balance": True, "max_per_host": 5, "time_limit_s": 2}
    r = parse_round(d)
    prep = prepare(r)
    none = np.zeros(0, dtype=np.intp)
    here = bound.relaxation(prep, r.policy, none, none, 0)
    monkeypatch.setattr(background, "BACKGROUND_PAIRS", 0)
    pending = background.relaxation_later(prep, r.policy, none, none, 0)
    assert pending.forked  # it did fork
    there = pending.result()
    # the child goes on to the placement-by-placement bound, which can only lower it
    assert there.bound <= here.bound and np.array_equal(there.chosen, here.chosen)
    # a solve that goes through the child reports that bound too, and leaves no child
    solved = solve_round(r)
    assert solved.objective <= solved.bound
    late = background.relaxation_later(prep, r.policy, none, none, 0)
    late.cancel()
    assert not late.forked


def test_child_keeps_working_while_the_parent_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent reads the pipe only at the end; the child's reports must not fill it
    (a blocked child stops improving its bound). Here each report carries a million
    chosen pairs, 8 MB pickled, far over a pipe's buffer."""
    import time

    import volmatch.matching.rules.background as background
    import volmatch.matching.rules.bound as bound

    def slow_relaxation(*args: Any, report: Any = None, **kw: Any) -> bound.Relaxation:
        big = np.arange(1_000_000, dtype=np.intp)
        for k in range(3):
            report(bound.Relaxation(100 - k, big, 0.1 * k, k + 1))
            time.sleep(0.2)
        return bound.Relaxation(98, big, 0.2, 3)

    monkeypatch.setattr(background, "relaxation", slow_relaxation)
    pending = background.Pending((None, None, None, None, 0))
    pending.start()
    if not pending.forked:
        pytest.skip("no fork on this system")
    time.sleep(2.0)  # the parent is busy searching; the child should finish meanwhile
    got = pending.result(deadline=time.perf_counter() + 0.05)
    assert got is not None and got.bound == 98 and got.flows == 3
