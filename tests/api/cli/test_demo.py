"""`volmatch demo`: the bundled round runs end to end."""

from __future__ import annotations

from typer.testing import CliRunner

from volmatch.api.cli import app

runner = CliRunner()


def test_demo_runs_end_to_end() -> None:
    res = runner.invoke(app, ["demo", "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "optimal" in res.stdout and "Unmatched volunteers" in res.stdout
