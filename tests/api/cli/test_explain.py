"""`volmatch explain`: the failed rules of ineligible pairs, the outcome of eligible
ones, and exit 2 for an unknown id."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from volmatch.api.cli import app

runner = CliRunner()


def test_explain_names_failed_rules_and_choices(small: Path) -> None:
    res = runner.invoke(app, ["explain", str(small), "--volunteer", "V2", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["placement"]: r for r in json.loads(res.stdout)["pairs"]}
    assert rows["P1"]["eligible"] is False and "languages" in rows["P1"]["failed_rules"]
    assert rows["P2"]["outcome"] == "assigned here"
    table = runner.invoke(app, ["explain", str(small), "--volunteer", "V3", "--placement", "P2"])
    assert table.exit_code == 0 and "training" in table.stdout


def test_explain_unknown_volunteer_exits_2(small: Path) -> None:
    assert runner.invoke(app, ["explain", str(small), "--volunteer", "V99"]).exit_code == 2
