"""An empty round (no placements, no volunteers, or neither; the empty template)
validates and solves to an empty result with its key figures, in every mode, and
`candidates` and `explain` answer on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()

RULES = {
    "max_per_host": 1,
    "gender_balance": True,
    "min_fill": {5: 1},
    "budget": {"total": 1000, "default_cost": 10},
}
"""Policy rules on: the round goes to the rules solver."""

ROUNDS: dict[str, dict[str, Any]] = {
    "nothing": doc([], []),
    "no placements": doc([vol("V1"), vol("V2")], []),
    "no volunteers": doc([], [plc("P1"), plc("P2", slots=3)]),
}


@pytest.mark.parametrize("policy", [{}, {"mode": "stable"}, RULES], ids=["pure", "stable", "rules"])
@pytest.mark.parametrize("name", list(ROUNDS))
def test_an_empty_round_solves_to_an_empty_result(
    name: str, policy: dict[str, Any], tmp_path: Path
) -> None:
    d = {**ROUNDS[name], "policy": policy}
    path = write(tmp_path, d)
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
    res = runner.invoke(app, ["solve", str(path), "-q"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["assignments"] == []
    assert result["objective"] == 0
    assert result["kpis"]["volunteers"] == len(d["volunteers"])
    assert [u["volunteer"] for u in result["unmatched_volunteers"]] == [
        v["id"] for v in d["volunteers"]
    ]
    assert all(u["reasons"] for u in result["unmatched_volunteers"])
    assert sum(o["open"] for o in result["open_slots"]) == sum(
        p.get("slots", 1) for p in d["placements"]
    )
    cand = runner.invoke(app, ["candidates", str(path)])
    assert cand.exit_code == 0 and cand.stdout.strip() == ""


def test_explain_on_an_empty_round(tmp_path: Path) -> None:
    nothing = write(tmp_path, ROUNDS["nothing"], "nothing.json")
    res = runner.invoke(app, ["explain", str(nothing), "--volunteer", "V1"])
    assert res.exit_code == 2 and "no volunteer with id 'V1'" in res.output
    lonely = write(tmp_path, ROUNDS["no placements"], "lonely.json")
    res = runner.invoke(app, ["explain", str(lonely), "--volunteer", "V1", "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["explain", str(lonely), "--volunteer", "V1", "--placement", "P1"])
    assert res.exit_code == 2 and "no placement with id 'P1'" in res.output


def test_the_empty_template_solves(tmp_path: Path) -> None:
    book = tmp_path / "round.xlsx"
    assert runner.invoke(app, ["template", "--out", str(book)]).exit_code == 0
    assert runner.invoke(app, ["validate", str(book)]).exit_code == 0
    for mode in ("optimal", "stable"):
        res = runner.invoke(app, ["solve", str(book), "-q", "--mode", mode])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["assignments"] == []
    out = tmp_path / "result.xlsx"
    assert runner.invoke(app, ["solve", str(book), "-q", "--out", str(out)]).exit_code == 0
    assert out.stat().st_size > 0
