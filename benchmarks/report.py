"""Where a benchmark's figures go: one JSON file per run under `results/`.

Every benchmark ends the same way (make the folder, write its figures as indented JSON,
say where), so that tail lives here once and each file is written alike.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
"""The repository: paths under it are printed relative to it."""

RESULTS: Final = ROOT / "benchmarks" / "results"
"""The folder of every benchmark's JSON, unless its `--out` says otherwise."""


def stamp() -> str:
    """The time now in UTC as a part of a file name (`20261204T201500Z`): runs sort by it."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def write_results(doc: Any, path: Path) -> Path:
    """Write `doc` to `path` as indented JSON (making its folder; values that JSON has no
    type for, such as dates, as their text), print where, return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"written to {shown}")
    return path
