"""Faults the generated shapes found, each on the smallest round that shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.contract.checks import check_hard_rules, check_optimal
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app
from volmatch.matching import solve_round
from volmatch.matching.claims import check_claims
from volmatch.models import parse_round

runner = CliRunner()


def _cli_json(*args: str) -> Any:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _write(tmp_path: Path, d: dict[str, Any]) -> Path:
    path = tmp_path / "round.json"
    path.write_text(json.dumps(d))
    return path


# V1 serves 3 months and is gone by August; P1 asks 6-12 months from October: the
# lengths do not overlap (rule 4) and the dates do not fit either (rule 5, with
# dmin = 6), so a longer commitment alone would not admit V1.
LENGTH_AND_DATES = doc(
    [
        vol(
            "V1",
            available_from="2027-03-01",
            available_until="2027-08-01",
            min_months=3,
            max_months=3,
        )
    ],
    [plc("P1", start_earliest="2027-10-01", start_latest="2027-10-01")],
)


def test_length_and_dates_both_failing_are_both_said(tmp_path: Path) -> None:
    path = _write(tmp_path, LENGTH_AND_DATES)
    pair = _cli_json("explain", str(path), "--volunteer", "V1", "--json")["pairs"][0]
    assert set(pair["failed_rules"]) == {"length", "dates"}
    advice = _cli_json("advise", str(path), "--placement", "P1", "--json")
    assert advice["rules"]["length"] == {"fail": 1, "only": 0}
    assert advice["rules"]["dates"] == {"fail": 1, "only": 0}
    r = parse_round(LENGTH_AND_DATES)
    result = solve_round(r)
    (closest,) = [
        d for d in result.unmatched_volunteers[0].details if d["code"] == "closest_placement"
    ]
    assert set(closest["params"]["rules"]) == {"length", "dates"}
    assert check_claims(r, result) == []
    res = result.model_dump(mode="json")
    check_hard_rules(LENGTH_AND_DATES, res)
    check_optimal(LENGTH_AND_DATES, res)
