"""`volmatch solve --outcomes FILE`: earlier outcomes (JSON, YAML or CSV) feed the round
through the policy's outcome fields, as `matching.lifecycle.apply_outcomes` does: the
continuity bonus in the breakdown, skills-mismatch pairs not repeated, the hosts'
completion rates in the KPIs; bad outcomes exit 2 naming the record and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app
from volmatch.matching import solve_round
from volmatch.matching.lifecycle import apply_outcomes
from volmatch.models import parse_round
from volmatch.models.lifecycle import Outcome

runner = CliRunner()

OUTCOMES: list[dict[str, Any]] = [
    {
        "volunteer": "V1",
        "placement": "OLD1",
        "host": "H2",
        "country": "KE",
        "completed": True,
        "host_rating": 5,
    },
    {
        "volunteer": "V2",
        "placement": "OLD2",
        "host": "H2",
        "country": "KE",
        "completed": False,
        "ended_early_reason": "skills_mismatch",
    },
    {"volunteer": "V9", "placement": "OLD3", "host": "H1", "country": "NP", "completed": True},
]
CSV = (
    "volunteer,placement,host,country,completed,ended_early_reason,host_rating\n"
    "V1,OLD1,H2,KE,true,,5\n"
    "V2,OLD2,H2,KE,false,skills_mismatch,\n"
    "V9,OLD3,H1,NP,yes,,\n"
)


def _round_doc() -> dict[str, Any]:
    return doc(
        [vol("V1"), vol("V2")],
        [plc("P1", host="H1"), plc("P2", host="H2", country="KE")],
        continuity_bonus={"host": 150, "country": 50},
        exclude_skills_mismatch=True,
        host_reliability_kpi=True,
    )


def _solve(tmp_path: Path, outcomes: Path) -> dict[str, Any]:
    rnd = write(tmp_path, _round_doc())
    out = tmp_path / "result.json"
    res = runner.invoke(
        app, ["solve", str(rnd), "--outcomes", str(outcomes), "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    return dict(json.loads(out.read_text()))


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv", "programme"])
def test_outcomes_feed_the_round_in_every_format(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"outcomes.{'yaml' if fmt == 'programme' else fmt}"
    if fmt == "json":
        path.write_text(json.dumps(OUTCOMES))
    elif fmt == "yaml":
        path.write_text(yaml.safe_dump(OUTCOMES))
    elif fmt == "csv":
        path.write_text(CSV)
    else:  # a programme file of `volmatch report`: its outcomes are read
        path.write_text(yaml.safe_dump({"rounds": {}, "events": [], "outcomes": OUTCOMES}))
    got = _solve(tmp_path, path)
    at = {a["volunteer"]: a for a in got["assignments"]}
    assert at["V1"]["placement"] == "P2" and at["V1"]["breakdown"]["continuity"] == 150
    assert at["V2"]["placement"] == "P1"  # ended early at H2 for a skills mismatch
    k = got["kpis"]
    assert k["host_reliability"] == {"H1": 1.0, "H2": 0.5}
    assert k["host_deployments_ended"] == {"H1": 1, "H2": 2}
    assert k["placed_at_rated_hosts"] == len(got["assignments"])
    rates = {"P1": 1.0, "P2": 0.5}
    mean = sum(rates[a["placement"]] for a in got["assignments"]) / len(got["assignments"])
    assert k["placed_host_reliability"] == round(mean, 4)
    # the same as the engine's functions called directly
    r = apply_outcomes(parse_round(_round_doc()), [Outcome.model_validate(o) for o in OUTCOMES])
    assert got["objective"] == solve_round(r).objective


def test_without_the_policy_fields_outcomes_change_nothing(tmp_path: Path) -> None:
    plain = doc([vol("V1"), vol("V2")], [plc("P1", host="H1"), plc("P2", host="H2")])
    rnd = write(tmp_path, plain)
    path = tmp_path / "o.json"
    path.write_text(json.dumps(OUTCOMES))
    with_o = runner.invoke(app, ["solve", str(rnd), "--outcomes", str(path), "--quiet"])
    without = runner.invoke(app, ["solve", str(rnd), "--quiet"])
    assert with_o.exit_code == without.exit_code == 0
    a, b = json.loads(with_o.stdout), json.loads(without.stdout)
    a.pop("stats", None)
    b.pop("stats", None)
    assert a == b


@pytest.mark.parametrize(
    ("name", "text", "wanted"),
    [
        (
            "o.json",
            json.dumps(
                [
                    {"volunteer": "V1", "placement": "P1", "completed": True, "host_rating": 9},
                    {"volunteer": "V2", "placement": "P1", "completed": False},
                    {"volunteer": "V3", "placement": "P1", "completed": True, "rating": 4},
                ]
            ),
            [
                "outcomes[0]: host_rating:",
                "outcomes[1]: ended_early_reason:",
                "outcomes[2]: rating:",
            ],
        ),
        (
            "o.csv",
            "volunteer,placement,completed,ended_early_reason\nV1,P1,maybe,\nV2,P1,false,bored\n",
            ["row 2: completed:", "row 3: ended_early_reason:"],
        ),
        ("o.yaml", "outcomes: {volunteer: V1}\n", ["expected a list of outcomes"]),
        ("missing.json", None, ["no such file"]),
    ],
)
def test_bad_outcomes_exit_2_naming_record_and_field(
    tmp_path: Path, name: str, text: str | None, wanted: list[str]
) -> None:
    rnd = write(tmp_path, _round_doc())
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    out = tmp_path / "result.json"
    res = runner.invoke(app, ["solve", str(rnd), "--outcomes", str(path), "--out", str(out)])
    assert res.exit_code == 2
    msg = " ".join(res.output.split())
    for w in wanted:
        assert w in msg, msg
    assert not out.exists()
