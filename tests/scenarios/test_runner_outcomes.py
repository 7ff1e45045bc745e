"""What-if with earlier outcomes: the base is fed once through the policy's outcome
fields, and the hosts' completion rates are planner KPIs of the base and of every
variant (`placed_host_reliability` in the side-by-side table, with its delta)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from tests.helpers import doc, plc, vol
from volmatch.api.cli import app
from volmatch.matching.lifecycle import solve_with_outcomes
from volmatch.models import parse_round
from volmatch.models.lifecycle import Outcome
from volmatch.scenarios.changes import apply_variant
from volmatch.scenarios.compare import to_markdown
from volmatch.scenarios.model import parse_scenario
from volmatch.scenarios.runner import run_scenario

OUTCOMES = [
    Outcome(volunteer="V9", placement="OLD1", host="H1", country="NP", completed=True),
    Outcome(volunteer="V8", placement="OLD2", host="H2", country="KE", completed=True),
    Outcome(
        volunteer="V7",
        placement="OLD3",
        host="H2",
        country="KE",
        completed=False,
        ended_early_reason="host_issue",
    ),
]


def _base() -> dict[str, Any]:
    return doc(
        [vol("V1"), vol("V2"), vol("V3")],
        [plc("P1", host="H1"), plc("P2", host="H2", country="KE", slots=2)],
        host_reliability_kpi=True,
    )


SCENARIO: dict[str, Any] = {
    "name": "reliability",
    "base": "round.json",
    "variants": [{"name": "no-h1", "changes": [{"remove": "placements", "where": {"host": "H1"}}]}],
}


def test_outcome_kpis_of_base_and_variants_equal_separate_solves() -> None:
    base, scenario = parse_round(_base()), parse_scenario(SCENARIO)
    cmp = run_scenario(base, scenario, outcomes=OUTCOMES)
    want_base = solve_with_outcomes(base, OUTCOMES)
    assert cmp.base["all_kpis"]["host_reliability"] == {"H1": 1.0, "H2": 0.5}
    assert cmp.base["kpis"]["placed_host_reliability"] == round((1.0 + 0.5 + 0.5) / 3, 4)
    assert (
        cmp.base["kpis"]["placed_host_reliability"] == (want_base.kpis["placed_host_reliability"])
    )
    [v] = cmp.variants
    want = solve_with_outcomes(apply_variant(base, scenario.variants[0], scenario.seed), OUTCOMES)
    assert v["kpis"]["placed_host_reliability"] == want.kpis["placed_host_reliability"] == 0.5
    assert v["deltas"]["placed_host_reliability"] == round(0.5 - 2 / 3, 4)
    assert "placed_host_reliability" in cmp.to_dict()["kpis"]
    assert "placed_host_reliability" in to_markdown(cmp)
    plain = run_scenario(base, scenario)
    assert "placed_host_reliability" not in plain.to_dict()["kpis"]


def test_whatif_command_takes_outcomes(tmp_path: Path) -> None:
    (tmp_path / "round.json").write_text(json.dumps(_base()))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(SCENARIO))
    (tmp_path / "o.json").write_text(json.dumps([o.model_dump(mode="json") for o in OUTCOMES]))
    out = tmp_path / "report"
    args = ["whatif", str(tmp_path / "s.yaml"), "--out", str(out), "--workers", "1", "-q"]
    res = CliRunner().invoke(app, [*args, "--outcomes", str(tmp_path / "o.json")])
    assert res.exit_code == 0, res.output
    got = json.loads((out / "comparison.json").read_text())
    assert got["base"]["kpis"]["placed_host_reliability"] == round(2 / 3, 4)
    (tmp_path / "bad.json").write_text(json.dumps([{"volunteer": "V1"}]))
    res = CliRunner().invoke(app, [*args, "--outcomes", str(tmp_path / "bad.json")])
    assert res.exit_code == 2 and "outcomes[0]: placement" in " ".join(res.output.split())
