"""A scenario run told to stop (a planner's cancel) stops within a second, mid-variant,
whether its variants run in this process or on the local process pool, and gives no
comparison; a stopped variant is not reported as a broken one."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest

import volmatch.matching.rules  # noqa: F401  (CP-SAT's first import takes seconds)
from benchmarks.cancel_bench import SLOW_RULES
from volmatch.matching import Stopped
from volmatch.models import Round
from volmatch.scenarios.model import parse_scenario
from volmatch.scenarios.runner import run_scenario

STOPPED_WITHIN_S = 5.0
"""Seconds after the stop by which the run must have ended: generous for a loaded
machine, far below the variants' 120 s time limit."""


def _slow_variants(n: int) -> dict[str, Any]:
    """`n` variants of the demo round under rules that keep each solving for its whole
    120 s time limit."""
    return {
        "name": "slow",
        "base": "x.json",
        "variants": [
            {
                "name": f"rules{k}",
                "changes": [
                    {
                        "policy": {
                            **SLOW_RULES,
                            "max_per_host": 6 + k,
                            "time_limit_s": 120,
                        }
                    }
                ],
            }
            for k in range(n)
        ],
    }


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "process-pool"])
def test_a_run_stopped_mid_variant_stops_promptly_with_no_comparison(
    base: Round, workers: int
) -> None:
    said: list[float] = []
    done: list[str] = []
    started = time.monotonic()

    def stop() -> bool:
        # a second in, once the base is solved (in a fraction of one): variants solving
        if not said and done and time.monotonic() > started + 1.0:
            said.append(time.monotonic())
        return bool(said)

    with pytest.raises(Stopped):
        run_scenario(
            base,
            parse_scenario(_slow_variants(2)),
            workers=workers,
            progress=lambda d, t, name: done.append(name),
            stop=stop,
        )
    late = time.monotonic() - said[0]  # (the run looks at least every STOP_POLL_S)
    assert late < STOPPED_WITHIN_S, late
    assert done == ["base"]  # no variant finished: each was stopped mid-solve
    assert multiprocessing.active_children() == []
