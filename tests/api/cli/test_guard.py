"""The error guard: input that cannot be read is bad input (exit 2), whichever command
reads it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from volmatch.api.cli import app

runner = CliRunner()


def test_unreadable_document_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    assert runner.invoke(app, ["validate", str(bad)]).exit_code == 2
    assert runner.invoke(app, ["solve", str(tmp_path / "missing.json")]).exit_code == 2
