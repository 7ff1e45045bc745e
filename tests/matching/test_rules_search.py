"""The neighbourhood search of large rounds with rules (`matching.rules.search` and
`matching.rules.windows`), forced onto small rounds so that the independent validators
can check every result."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import volmatch.matching.rules.setup as rules_setup
from benchmarks.generate import generate_round
from tests.matching.rounds import every_rule
from tests.strategies import ruled_docs
from volmatch.matching import solve_round, validate_result
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.greedy import greedy_start
from volmatch.matching.validate import rule_violations
from volmatch.models import parse_round


@pytest.fixture
def windows_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every round takes the large-round path: greedy start, then windows."""
    monkeypatch.setattr(rules_setup, "FULL_MODEL_PAIRS", 0)


@pytest.mark.usefixtures("windows_only")
def test_windows_improve_the_greedy_start_and_break_no_rule() -> None:
    d = every_rule(generate_round(300, 60, seed=3, rules=True), limit=4)
    r = parse_round(d)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    search = result.tiers["search"]  # type: ignore[attr-defined]
    assert search["windows"] > 0 and search["improved"] > 0
    # the start the windows improved on: greedy insertion alone
    prep = prepare(r)
    setup = rules_setup.set_up(prep, 0.0)
    start = greedy_start(prep, setup, r.policy, frozenset())
    ev = Evaluator(prep, r.policy, setup.prev_pair)
    before = ev.values(np.sort(setup.model_pairs[start]))
    after = [result.tiers[n]["value"] for n in ("min_fill", "urgent_coverage", "score")]  # type: ignore[attr-defined]
    assert after >= before  # lexicographically no worse ...
    assert after != before  # ... and here strictly better
    assert result.objective <= result.bound


@pytest.mark.usefixtures("windows_only")
@settings(max_examples=30, deadline=None)
@given(ruled_docs())
def test_windows_never_break_a_rule(d: dict[str, Any]) -> None:
    r = parse_round(d)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    assert result.objective <= result.bound


@pytest.mark.usefixtures("windows_only")
@settings(max_examples=10, deadline=None)
@given(ruled_docs())
def test_windows_on_small_rounds_finish_before_the_clock_and_repeat(d: dict[str, Any]) -> None:
    a = solve_round(parse_round(d)).model_dump(mode="json", exclude={"stats", "solver"})
    b = solve_round(parse_round(d)).model_dump(mode="json", exclude={"stats", "solver"})
    assert a == b


def test_stalled_windows_switch_to_the_local_moves_and_restarts_keep_the_best() -> None:
    """Windows that never gain (a stub solver) stall at once: the search switches to
    the host chains, which place A, then restarts from perturbed incumbents, and
    ends on the best it found, every rule kept."""
    import time

    from tests.helpers import doc, plc, vol
    from tests.matching.rounds import checked_assignment, local_start
    from volmatch.matching.rules.search import RESTARTS, improve

    d = doc(
        [vol("A"), vol("B", skills={"teaching": 3, "cooking": 2}), vol("C"), vol("D")],
        [
            plc("P1", slots=2),
            plc("P1b"),
            plc("P2", host="H2", required_skills={"cooking": 1}),
            plc("P3", host="H3"),
            plc("P4", host="H4"),
        ],
        max_per_host=1,
    )
    r, prep, local, start = local_start(d, [("B", "P1b"), ("C", "P3"), ("D", "P4")])
    picked, _, stats = improve(
        prep, r.policy, start, local.locked, {}, lambda *_: None, time.perf_counter() + 30
    )
    assert stats["host_chains"] >= 1
    assert 1 <= stats["restarts"] <= RESTARTS
    where = checked_assignment(r, prep, picked)
    assert set(where) == {"A", "B", "C", "D"}  # A placed: the start had three


@pytest.mark.parametrize("better", [True, False])
def test_a_guide_that_comes_late_is_repaired_into_a_start_when_better(better: bool) -> None:
    """A search that began without the bound's guide (its first flow came after the
    start's wait) repairs the first guide that comes and keeps the repair only when it
    is better, every rule kept (windows here never gain: a stub solver)."""
    import time

    from tests.helpers import doc, plc, vol
    from tests.matching.rounds import checked_assignment, local_start
    from volmatch.matching.previous import pair_index
    from volmatch.matching.rules.search import improve

    d = doc(
        [vol("A"), vol("B"), vol("C")],
        [plc("P1", slots=2), plc("P2", host="H2"), plc("P3", host="H3")],
        max_per_host=2,
    )
    r, prep, local, start = local_start(d, [("A", "P1")])
    c = prep.compiled
    full = np.sort(
        pair_index(
            c,
            prep.pairs,
            np.array([c.vindex[x] for x in "ABC"], dtype=np.int64),
            np.array([c.pindex[x] for x in ("P1", "P2", "P3")], dtype=np.int64),
        )
    ).astype(np.intp)
    offered: list[Any] = []

    def repair(guide: Any) -> Any:
        offered.append(guide)
        return guide if better else start[:0]

    picked, _, stats = improve(
        prep,
        r.policy,
        start,
        local.locked,
        {},
        lambda *_: None,
        time.perf_counter() + 2,
        fresh_guide=lambda: full,
        fresh_start=repair,
    )
    assert len(offered) == 1  # once, the first guide only
    where = checked_assignment(r, prep, picked)
    if better:
        assert stats["fresh_starts"] == 1
        assert where == {"A": "P1", "B": "P2", "C": "P3"}
    else:
        assert "fresh_starts" not in stats
        assert len(where) >= 1
