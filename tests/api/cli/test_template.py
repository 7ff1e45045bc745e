"""`volmatch template`: an empty workbook, a round exported to one, and only `.xlsx`
names."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from tests.api.sheets.helpers import ROUND_JSON
from volmatch.api.cli import app
from volmatch.api.sheets import read_workbook
from volmatch.models import load_round

runner = CliRunner()


def test_template_writes_an_empty_workbook(tmp_path: Path) -> None:
    out = tmp_path / "round.xlsx"
    res = runner.invoke(app, ["template", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert openpyxl.load_workbook(out).sheetnames[:3] == ["Volunteers", "Placements", "Policy"]
    res = runner.invoke(app, ["validate", str(out)])
    assert res.exit_code == 0 and "0 volunteers" in res.output


def test_template_from_a_round_exports_it(tmp_path: Path) -> None:
    out = tmp_path / "round.xlsx"
    res = runner.invoke(app, ["template", "--out", str(out), "--from", str(ROUND_JSON)])
    assert res.exit_code == 0, res.output
    assert read_workbook(out) == load_round(ROUND_JSON)


def test_template_refuses_a_non_xlsx_name(tmp_path: Path) -> None:
    res = runner.invoke(app, ["template", "--out", str(tmp_path / "round.csv")])
    assert res.exit_code == 2 and ".xlsx" in res.output
