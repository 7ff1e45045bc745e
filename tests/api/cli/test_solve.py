"""`volmatch solve`: the contract's result document, to a file or stdout; bad modes and
locks that cannot be kept exit 2 naming the fault; locks are kept."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()


def test_solve_writes_the_contract_result(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    res = runner.invoke(app, ["solve", str(small), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    r = json.loads(out.read_text())
    assert set(r) >= {
        "status",
        "mode",
        "objective",
        "bound",
        "assignments",
        "unmatched_volunteers",
        "open_slots",
        "kpis",
    }
    assert r["status"] == "optimal" and r["objective"] == r["bound"]
    assert {a["volunteer"] for a in r["assignments"]} == {"V1", "V2"}
    assert r["unmatched_volunteers"][0]["volunteer"] == "V3"
    assert r["unmatched_volunteers"][0]["reasons"]


def test_solve_to_stdout_is_json(small: Path) -> None:
    res = runner.invoke(app, ["solve", str(small), "--quiet"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["status"] == "optimal"


def test_solve_rejects_unknown_mode(small: Path) -> None:
    assert runner.invoke(app, ["solve", str(small), "--mode", "fast"]).exit_code == 2


def test_lock_that_breaks_a_rule_exits_2_naming_it(tmp_path: Path) -> None:
    d = doc(
        [vol("V1", languages={"en": "A1"})],
        [plc("P1", required_languages={"en": "B1"})],
        locked=[{"volunteer": "V1", "placement": "P1"}],
    )
    res = runner.invoke(app, ["solve", str(write(tmp_path, d))])
    assert res.exit_code == 2
    assert "locked pair V1->P1 breaks the hard rule(s) languages" in res.output


def test_too_many_locks_for_the_slots_exits_2(tmp_path: Path) -> None:
    d = doc(
        [vol("V1"), vol("V2")],
        [plc("P1")],
        locked=[{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V2", "placement": "P1"}],
    )
    res = runner.invoke(app, ["solve", str(write(tmp_path, d))])
    assert res.exit_code == 2
    assert "2 volunteers are locked to P1, which has 1 slot(s)" in res.output


def test_locks_are_kept_even_when_they_cost_score(tmp_path: Path) -> None:
    d = doc(
        [vol("V1", skills={"teaching": 5}), vol("V2", skills={"teaching": 1})],
        [plc("P1", desired_skills={"teaching": 5})],
        locked=[{"volunteer": "V2", "placement": "P1"}],
    )
    res = runner.invoke(app, ["solve", str(write(tmp_path, d)), "--quiet"])
    assert [a["volunteer"] for a in json.loads(res.stdout)["assignments"]] == ["V2"]
