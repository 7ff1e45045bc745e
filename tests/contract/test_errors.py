"""Rounds the contract's rules refuse: exit 2 with an error naming the record and the
field (or the conflict and its records), never a crash or a silent drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.contract.checks import check_hard_rules
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()
PAIR = [vol("V1", nationality="FR"), vol("V2", nationality="FR")]
PLACES = [plc("P1", country="KE"), plc("P2", country="FR")]


def _with(**changes: Any) -> dict[str, Any]:
    d = doc(PAIR, PLACES)
    for path, value in changes.items():
        section, k, field = path.split("__")
        d[section][int(k)][field] = value
    return d


CASES = {
    "locked_ineligible": (
        doc(PAIR, PLACES, locked=[{"volunteer": "V1", "placement": "P2"}]),
        ["V1", "P2", "country"],
    ),
    "locked_over_capacity": (
        doc(
            PAIR,
            PLACES,
            locked=[{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V2", "placement": "P1"}],
        ),
        ["P1", "slot"],
    ),
    "locked_and_forbidden": (
        doc(
            PAIR,
            PLACES,
            locked=[{"volunteer": "V1", "placement": "P1"}],
            forbidden=[{"volunteer": "V1", "placement": "P1"}],
        ),
        ["locked[0]", "V1->P1"],
    ),
    "locked_twice": (
        doc(
            PAIR,
            PLACES,
            locked=[{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V1", "placement": "P2"}],
        ),
        ["locked[1].volunteer", "V1"],
    ),
    "preference_unknown": (
        _with(volunteers__0__preferences=["P9"]),
        ["V1", "preferences[0]", "P9"],
    ),
    "ranking_unknown": (_with(placements__0__ranking=["V9"]), ["P1", "ranking[0]", "V9"]),
    "unicode_id": (_with(volunteers__0__id="Vé1"), ["Vé1", "id"]),
    "leap_day_in_a_common_year": (
        _with(volunteers__0__birth_date="2027-02-29"),
        ["V1", "birth_date"],
    ),
    "age_range_inverted": (
        _with(placements__0__age_min=30, placements__0__age_max=20),
        ["P1", "age_max"],
    ),
    "months_out_of_range": (_with(volunteers__0__max_months=37), ["V1", "max_months"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_refused_round_exits_2_naming_what_is_wrong(case: str, fmt: str, tmp_path: Path) -> None:
    d, words = CASES[case]
    path = tmp_path / f"round.{fmt}"
    text = (
        json.dumps(d, ensure_ascii=False)
        if fmt == "json"
        else yaml.safe_dump(d, allow_unicode=True)
    )
    path.write_text(text, encoding="utf-8")
    res = runner.invoke(app, ["solve", str(path), "--quiet"])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for w in words:
        assert w in res.output, (w, res.output)


def test_the_same_round_in_yaml_solves_as_in_json(tmp_path: Path) -> None:
    d = doc(
        PAIR,
        [
            *PLACES,
            plc(
                "P3",
                country="NP",
                title="李小龙",
                start_earliest="2027-02-28",
                start_latest="2027-02-28",
            ),
        ],
    )
    d["volunteers"][0]["name"] = "Zoë"
    out = []
    for fmt in ("json", "yaml"):
        path = tmp_path / f"round.{fmt}"
        text = json.dumps(d) if fmt == "json" else yaml.safe_dump(d, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
        res = runner.invoke(app, ["solve", str(path), "--quiet"])
        assert res.exit_code == 0, res.output
        out.append({k: v for k, v in json.loads(res.stdout).items() if k != "stats"})
    assert out[0] == out[1]
    check_hard_rules(d, out[0])
