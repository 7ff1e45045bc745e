"""The what-if charts: one PNG of the KPIs and one per sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def test_charts_are_written(comparison: Any, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from volmatch.scenarios.charts import write_charts

    paths = write_charts(comparison, tmp_path)
    assert [p.name for p in paths] == ["kpis.png", "sweep-urgency.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
