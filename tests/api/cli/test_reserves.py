"""Reserve lists in the documents of `volmatch solve` and `volmatch backfill`: every
placement's ranked reserves with their cost (`--reserves K`, 5 by default, 0 for none),
the method named, and a Reserves sheet in the workbook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()


def _round(tmp_path: Path) -> Path:
    """Two slots, five volunteers: three are left for the reserve lists."""
    return write(
        tmp_path,
        doc(
            [vol(f"V{k}", skills={"teaching": k}) for k in range(1, 6)],
            [
                plc("P1", desired_skills={"teaching": 5}, priority=5),
                plc("P2", host="H2", country="KE", desired_skills={"teaching": 2}),
            ],
        ),
    )


def _solve(tmp_path: Path, *extra: str, out: str = "result.json") -> Path:
    path = tmp_path / out
    run = runner.invoke(app, ["solve", str(_round(tmp_path)), "--out", str(path), "-q", *extra])
    assert run.exit_code == 0, run.output
    return path


def test_solve_lists_reserves_with_their_costs(tmp_path: Path) -> None:
    got: dict[str, Any] = json.loads(_solve(tmp_path).read_text())
    assert got["reserves_method"] == "residual_network"
    placed = {a["volunteer"] for a in got["assignments"]}
    lists = {x["placement"]: x for x in got["reserves"]}
    assert set(lists) == {"P1", "P2"}
    for lst in lists.values():
        assert lst["exact"] is True
        ids = [x["volunteer"] for x in lst["reserves"]]
        assert set(ids) == {"V1", "V2", "V3", "V4", "V5"} - placed  # five or fewer: all
        costs = [x["cost"] for x in lst["reserves"]]
        assert costs == sorted(costs) and all(c >= 0 for c in costs)
    # the cost to the round of the best reserve at P1 is a re-solve's drop
    best = lists["P1"]["reserves"][0]
    assert best["cost"] == got["objective"] - _forced(tmp_path, best["volunteer"], "P1")
    one = json.loads(_solve(tmp_path, "--reserves", "1", out="one.json").read_text())
    assert all(len(x["reserves"]) == 1 for x in one["reserves"])
    none = json.loads(_solve(tmp_path, "--reserves", "0", out="none.json").read_text())
    assert "reserves" not in none and "reserves_method" not in none


def _forced(tmp_path: Path, volunteer: str, placement: str) -> int:
    """The round's optimum with the pair locked."""
    d = json.loads(_round(tmp_path).read_text())
    d.setdefault("policy", {})["locked"] = [{"volunteer": volunteer, "placement": placement}]
    path = write(tmp_path, d, "locked.json")
    run = runner.invoke(app, ["solve", str(path), "-q", "--reserves", "0"])
    assert run.exit_code == 0, run.output
    return int(json.loads(run.stdout)["objective"])


def test_the_workbook_has_a_reserves_sheet(tmp_path: Path) -> None:
    wb = load_workbook(_solve(tmp_path, out="result.xlsx"))
    rows = list(wb["Reserves"].iter_rows(values_only=True))
    assert rows[0][:6] == ("placement", "title", "host", "country", "rank", "volunteer")
    assert {r[0] for r in rows[1:]} == {"P1", "P2"} and {r[4] for r in rows[1:]} == {1, 2, 3}
    figures = [r[0] for r in wb["KPIs"].iter_rows(values_only=True)]
    assert "reserves" not in figures and "reserves_method" in figures


def test_backfill_lists_reserves_of_the_proposal(tmp_path: Path) -> None:
    rnd, res = _round(tmp_path), _solve(tmp_path)
    placed = sorted(a["volunteer"] for a in json.loads(res.read_text())["assignments"])
    out = tmp_path / "proposal.json"
    args = ["backfill", str(rnd), "--result", str(res), "--declined", placed[0]]
    run = runner.invoke(app, [*args, "--out", str(out), "-q"])
    assert run.exit_code == 0, run.output
    p = json.loads(out.read_text())
    now = {a["volunteer"] for a in p["assignments"]}
    listed = {x["volunteer"] for lst in p["reserves"] for x in lst["reserves"]}
    assert listed and placed[0] not in listed and not listed & now
    assert set(p["frozen"]) <= now
