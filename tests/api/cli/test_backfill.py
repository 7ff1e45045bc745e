"""`volmatch backfill`: the proposal as a result document with new offers, moves and the
change in total; bad ids and bad files exit 2 naming the record and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app
from volmatch.matching.validate import validate_result
from volmatch.models import Result, parse_round

runner = CliRunner()


def _chain(tmp_path: Path, **policy: Any) -> tuple[Path, Path]:
    d = doc(
        [
            vol("V1", skills={"teaching": 5}),
            vol("V2", skills={"teaching": 4}),
            vol("V3", skills={"teaching": 1}),
        ],
        [
            plc("P1", required_skills={"teaching": 4}, desired_skills={"teaching": 5}, priority=5),
            plc("P2", desired_skills={"teaching": 4}, priority=1),
        ],
        **policy,
    )
    rnd = write(tmp_path, d)
    res = tmp_path / "result.json"
    assert runner.invoke(app, ["solve", str(rnd), "--out", str(res), "--quiet"]).exit_code == 0
    return rnd, res


def test_backfill_writes_the_whole_new_assignment_with_offers_and_moves(tmp_path: Path) -> None:
    rnd, res = _chain(tmp_path)
    out = tmp_path / "proposal.json"
    run = runner.invoke(
        app,
        [
            "backfill",
            str(rnd),
            "--result",
            str(res),
            "--declined",
            "V1",
            "--accepted",
            "",
            "--out",
            str(out),
        ],
    )
    assert run.exit_code == 0, run.output
    p = json.loads(out.read_text())
    assert {(a["volunteer"], a["placement"]) for a in p["assignments"]} == {
        ("V2", "P1"),
        ("V3", "P2"),
    }
    assert [(m["volunteer"], m["from"], m["to"]) for m in p["moves"]] == [("V2", "P2", "P1")]
    assert {o["volunteer"] for o in p["new_offers"]} == {"V2", "V3"}
    assert p["total_change"] == p["total"] - p["total_before"]
    assert p["declined"] == ["V1"]
    v1 = next(u for u in p["unmatched_volunteers"] if u["volunteer"] == "V1")
    assert "declined the offer at P1" in v1["reasons"][0]
    r = parse_round(json.loads(rnd.read_text()))
    assert [x for x in validate_result(r, Result.model_validate(p)) if "V1" not in x] == []


def test_backfill_counts_everyone_not_declined_as_accepted(tmp_path: Path) -> None:
    rnd, res = _chain(tmp_path)
    out = tmp_path / "proposal.xlsx"
    run = runner.invoke(
        app, ["backfill", str(rnd), "--result", str(res), "--declined", "V1", "--out", str(out)]
    )
    assert run.exit_code == 0, run.output
    assert out.stat().st_size > 0


def test_unknown_ids_exit_2_naming_record_and_field(tmp_path: Path) -> None:
    rnd, res = _chain(tmp_path)
    run = runner.invoke(
        app,
        [
            "backfill",
            str(rnd),
            "--result",
            str(res),
            "--declined",
            "V9,V3",
            "--out",
            str(tmp_path / "p.json"),
        ],
    )
    assert run.exit_code == 2
    assert "declined V9: volunteer: unknown volunteer 'V9'" in run.output
    assert "declined V3: volunteer: V3 holds no offer to decline" in run.output
    assert not (tmp_path / "p.json").exists()


def test_a_file_that_is_no_result_exits_2(tmp_path: Path) -> None:
    rnd, _ = _chain(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"assignments": [{"volunteer": "V1"}]}')
    run = runner.invoke(
        app,
        [
            "backfill",
            str(rnd),
            "--result",
            str(bad),
            "--declined",
            "V1",
            "--out",
            str(tmp_path / "p.json"),
        ],
    )
    assert run.exit_code == 2
    assert "assignments[0]: needs string fields volunteer and placement" in run.output


def test_a_locked_volunteer_who_declined_is_backfilled(tmp_path: Path) -> None:
    """The round locked V1 at P1; V1 declined: the lock no longer holds and the slot is
    re-matched (this exited 2: 'V1 is locked by the round's policy')."""
    rnd, res = _chain(tmp_path, locked=[{"volunteer": "V1", "placement": "P1"}])
    out = tmp_path / "proposal.json"
    args = ["backfill", str(rnd), "--result", str(res), "--declined", "V1"]
    run = runner.invoke(app, [*args, "--accepted", "", "--out", str(out)])
    assert run.exit_code == 0, run.output
    p = json.loads(out.read_text())
    assert {(a["volunteer"], a["placement"]) for a in p["assignments"]} == {
        ("V2", "P1"),
        ("V3", "P2"),
    }
    assert p["declined"] == ["V1"] and p["frozen"] == []
    v1 = next(u for u in p["unmatched_volunteers"] if u["volunteer"] == "V1")
    assert "declined the offer at P1" in v1["reasons"][0]
    r = parse_round(json.loads(rnd.read_text()))
    assert [x for x in validate_result(r, Result.model_validate(p)) if "V1" not in x] == []
