"""`volmatch advise`: the JSON contract for a need, a draft and a volunteer; the human
output fits 80 columns; bad input exits 2 naming the record and field."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from volmatch.api.cli import app

runner = CliRunner()


def test_advise_placement_json_contract(small: Path) -> None:
    res = runner.invoke(app, ["advise", str(small), "--placement", "P1", "--top", "1", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["placement"] == "P1" and doc["eligible"] == 1
    assert doc["rules"]["languages"]["fail"] == 2
    assert [ch["field"] for ch in doc["changes"]] == ["required_languages.fr"]
    assert doc["changes"][0]["proposed"] is None  # V2 speaks no French: drop it to admit
    (rec,) = doc["recommendations"]
    assert rec["volunteer"] == "V1" and rec["regret"] == 0
    assert set(rec) == {"volunteer", "score", "breakdown", "regret"}


def test_advise_volunteer_and_human_output(small: Path) -> None:
    res = runner.invoke(app, ["advise", str(small), "--volunteer", "V2", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["placement"] for r in doc["recommendations"]] == ["P2"]
    text = runner.invoke(app, ["advise", str(small), "--placement", "P1"])
    assert text.exit_code == 0 and "French" in text.stdout
    assert max(map(len, text.stdout.splitlines())) <= 80


def test_advise_a_draft_file(small: Path, tmp_path: Path) -> None:
    draft = tmp_path / "need.json"
    draft.write_text(
        json.dumps(
            {
                "id": "NEW",
                "host": "H9",
                "country": "KE",
                "start_earliest": "2027-04-01",
                "start_latest": "2027-05-01",
                "required_languages": {"fr": "C1"},
            }
        )
    )
    res = runner.invoke(app, ["advise", str(small), "--placement-file", str(draft), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["eligible"] == 0 and doc["in_round"] is False
    assert doc["changes"][0]["text"] == "French at B2 instead of C1: +1"


def test_advise_bad_input_exits_2(small: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["advise", str(small), "--placement", "P9"]).exit_code == 2
    assert runner.invoke(app, ["advise", str(small)]).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "id": "D1",
                "host": "H1",
                "country": "XX",
                "start_earliest": "2027-01-01",
                "start_latest": "2027-02-01",
            }
        )
    )
    res = runner.invoke(app, ["advise", str(small), "--placement-file", str(bad)])
    assert res.exit_code == 2
    assert "placement D1: country" in res.output
