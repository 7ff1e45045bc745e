"""The loader benchmark runs end to end on a small round and writes its JSON; its
baseline validator takes every limit out (it accepts what the limits refuse)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.loader_bench import _validators, main


def test_loader_bench_writes_its_figures(tmp_path: Path) -> None:
    args = ["--volunteers", "300", "--placements", "60", "--repeat", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    (out,) = tmp_path.glob("loader-*.json")
    figures = json.loads(out.read_text())
    assert figures["ratio"] > 0 and len(figures["loadavg"]) == 3


def test_the_baseline_has_no_limits() -> None:
    with_limits, baseline = _validators()
    title = json.dumps(
        {
            "volunteers": [],
            "placements": [
                {
                    "id": "P1",
                    "host": "H1",
                    "country": "KE",
                    "start_earliest": "2027-01-01",
                    "start_latest": "2027-01-01",
                    "title": "x" * 1000,
                }
            ],
        }
    )
    assert baseline.validate_json(title)["placements"][0].title == "x" * 1000
    try:
        with_limits.validate_json(title)
    except ValueError:
        return
    raise AssertionError("the limited validator accepted a 1000-character title")
