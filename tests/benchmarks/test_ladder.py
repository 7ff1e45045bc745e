"""Smoke test of the benchmark harness, so that it cannot rot between full runs.

Runs the ladder's smallest size end to end (generator CLI, child process, CLI
subprocess, JSON output) without the slow baselines, and checks the one fact the
harness exists to show: on the pure policy volmatch reaches the exact optimum that a
bare min-cost flow finds on the same pairs.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from benchmarks import ladder

pytestmark = pytest.mark.slow


def test_smallest_size_of_the_quick_ladder(tmp_path: Path) -> None:
    # The rules variant is left out: with couples volmatch runs a time-limited solve
    # (~20 s at this size), and its harness path differs from the pure one only in the
    # generator flag, which tests/benchmarks/test_generate.py covers.
    argv = [
        "--sizes",
        "1000x200",
        "--variants",
        "pure",
        "--skip",
        "cpsat,hr,stable",
        "--out",
        str(tmp_path),
    ]
    if importlib.util.find_spec("matplotlib") is None:  # the `bench` extra is optional
        argv.append("--no-plot")
    assert ladder.main(argv) == 0

    doc = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert doc["schema"] == ladder.SCHEMA
    assert {"machine", "runs", "targets", "markdown", "started"} <= set(doc)
    assert [(r["volunteers"], r["placements"], r["variant"]) for r in doc["runs"]] == [
        (1000, 200, "pure")
    ]
    assert len(list(tmp_path.glob("ladder-*.json"))) == 1
    if "--no-plot" not in argv:
        assert (tmp_path / "ladder.png").stat().st_size > 0

    pure = doc["runs"][0]
    assert pure["pairs"] > 10 * pure["volunteers"]
    methods = {m["method"]: m for m in pure["methods"]}
    assert {
        "volmatch",
        "volmatch CLI",
        "min-cost flow",
        "greedy by score",
        "CP-SAT bare",
        "matching HR",
        "volmatch stable",
    } <= set(methods)
    vm, flow = methods["volmatch"], methods["min-cost flow"]
    assert vm["status"] == "optimal" and flow["status"] == "optimal"
    assert vm["objective"] == flow["objective"] == vm["bound"]
    assert {"load", "eligibility", "scoring", "solve", "output", "total"} <= set(vm["seconds"])
    assert vm["peak_rss_mb"] > 0
    assert methods["CP-SAT bare"]["status"] == "skipped"
    greedy = methods["greedy by score"]
    assert 0.8 < greedy["pct_of_flow"] <= 1.0
    cli = methods["volmatch CLI"]
    assert cli["status"] in ("optimal", "unavailable")
    if cli["status"] == "optimal":
        assert cli["objective"] == flow["objective"]
