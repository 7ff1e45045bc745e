"""The commands' file formats (`api/io.py`): `validate`, `solve`, `candidates` and
`explain` read a workbook or a folder of CSV files like JSON, errors named by cell, and
`solve --out result.xlsx` writes a result workbook."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from tests.api.sheets.helpers import ROUND_JSON
from volmatch.api.cli import app

runner = CliRunner()


def test_commands_take_a_workbook_and_solve_writes_a_result_workbook(tmp_path: Path) -> None:
    book = tmp_path / "round.xlsx"
    runner.invoke(app, ["template", "--out", str(book), "--from", str(ROUND_JSON)])
    result = tmp_path / "result.xlsx"
    res = runner.invoke(app, ["solve", str(book), "--out", str(result), "-q"])
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(result)
    assert wb.sheetnames == ["Assignments", "Unmatched", "Open slots", "KPIs", "Reserves"]
    assigned = [r[0] for r in wb["Assignments"].iter_rows(min_row=2, values_only=True)]
    assert "V001" in assigned  # locked in the Policy sheet
    res = runner.invoke(app, ["solve", str(book), "-q"])
    as_json = json.loads(res.stdout)
    assert sorted(a["volunteer"] for a in as_json["assignments"]) == sorted(assigned)
    res = runner.invoke(app, ["candidates", str(book)])
    assert res.exit_code == 0 and '"volunteer":"V001"' in res.stdout
    res = runner.invoke(app, ["explain", str(book), "--volunteer", "V003", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["volunteer"] == "V003"


def test_validate_a_bad_workbook_lists_errors_by_cell_and_exits_2(tmp_path: Path) -> None:
    book = tmp_path / "round.xlsx"
    runner.invoke(app, ["template", "--out", str(book), "--from", str(ROUND_JSON)])
    wb = openpyxl.load_workbook(book)
    ws = wb["Volunteers"]
    ws["C3"] = "XX"
    ws["F2"] = "en:B2; zh"
    wb.save(book)
    res = runner.invoke(app, ["validate", str(book)])
    assert res.exit_code == 2
    assert "Volunteers row 2 (V001): column F (languages): 'zh' has no value" in res.output
    assert "Volunteers row 3 (V002): column C (nationality): 'XX' is not an ISO" in res.output


def test_validate_a_csv_folder(tmp_path: Path) -> None:
    (tmp_path / "Volunteers.csv").write_text(
        "id,nationality,languages,training,available_from,available_until\n"
        "V1,CN,en:B2; zh:native,pre-deployment,2027-03-01,2028-06-30\n"
        ",,,,,\n",
        encoding="utf-8",
    )
    (tmp_path / "Placements.csv").write_text(
        "id,host,country,start,required_languages\nP1,H1,NP,2027-04-01,en:B1\n",
        encoding="utf-8-sig",
    )
    (tmp_path / "Policy.csv").write_text("key,value\nweights.placed,900\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "1 volunteers, 1 placements" in res.output
    res = runner.invoke(app, ["solve", str(tmp_path), "-q"])
    assert json.loads(res.stdout)["assignments"][0]["breakdown"]["placed"] == 900
