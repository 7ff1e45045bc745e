"""The command line as the contract's table describes it, with its exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()


def write(tmp_path: Path, d: dict[str, Any], name: str = "round.json") -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(d))
    else:
        path.write_text(yaml.safe_dump(d))
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    d = doc(
        [
            vol("V1", languages={"fr": "B2"}),
            vol("V2", languages={"en": "B2"}),
            vol("V3", training=[]),
        ],
        [plc("P1", required_languages={"fr": "B1"}), plc("P2", slots=2)],
    )
    return write(tmp_path, d)


def test_validate_ok(small: Path) -> None:
    res = runner.invoke(app, ["validate", str(small)])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output


def test_validate_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, doc([vol()], [plc()]), "round.yaml")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_validate_lists_every_error_and_exits_2(tmp_path: Path) -> None:
    d = doc([vol("V1", nationality="XX"), vol("V2", preferences=["P9"])], [plc("P1", slots=0)])
    res = runner.invoke(app, ["validate", str(write(tmp_path, d))])
    assert res.exit_code == 2
    out = res.output
    assert "volunteers V1: nationality" in out
    assert "volunteers V2: preferences[0]: unknown placement id 'P9'" in out
    assert "placements P1: slots" in out


def test_unreadable_document_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    assert runner.invoke(app, ["validate", str(bad)]).exit_code == 2
    assert runner.invoke(app, ["solve", str(tmp_path / "missing.json")]).exit_code == 2


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


def test_demo_runs_end_to_end() -> None:
    res = runner.invoke(app, ["demo", "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "optimal" in res.stdout and "Unmatched volunteers" in res.stdout


@pytest.mark.skipif(
    shutil.which("volmatch") is None and not (Path(sys.prefix) / "bin" / "volmatch").exists(),
    reason="console script not installed",
)
def test_console_script_exit_codes(tmp_path: Path) -> None:
    exe = shutil.which("volmatch") or str(Path(sys.prefix) / "bin" / "volmatch")
    bad = write(tmp_path, doc([vol(nationality="XX")], [plc()]))
    proc = subprocess.run([exe, "validate", str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "nationality" in proc.stderr
    proc = subprocess.run([exe, "demo", "--top", "1"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
