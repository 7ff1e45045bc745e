"""`volmatch candidates`: every eligible pair as a JSON line whose score is the sum of
its breakdown."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from volmatch.api.cli import app

runner = CliRunner()


def test_candidates_are_json_lines(small: Path) -> None:
    res = runner.invoke(app, ["candidates", str(small)])
    assert res.exit_code == 0
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert {(r["volunteer"], r["placement"]) for r in rows} == {
        ("V1", "P1"),
        ("V1", "P2"),
        ("V2", "P2"),
    }
    assert all(r["score"] == sum(r["breakdown"].values()) for r in rows)
