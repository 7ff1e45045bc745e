"""`volmatch whatif`: the report is written, and a bad scenario exits 2 naming the
variant and change."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from volmatch.scenarios.demo import demo_round_path

EXAMPLES = Path(demo_round_path()).parents[1] / "examples"


def test_cli_whatif_writes_the_report(tmp_path: Path) -> None:
    from volmatch.api.cli import app

    out = tmp_path / "report"
    res = CliRunner().invoke(
        app, ["whatif", str(EXAMPLES / "infeasible.yaml"), "--out", str(out), "--workers", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "overlocked" in res.output
    assert {p.name for p in out.iterdir()} >= {"comparison.json", "report.md", "timings.json"}


def test_cli_whatif_bad_scenario_exits_2(tmp_path: Path) -> None:
    from volmatch.api.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"base: {demo_round_path()}\nvariants:\n  - name: x\n    changes:\n"
        "      - update: volunteers\n        where: {colour: red}\n"
        "        set: {min_months: 7}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["whatif", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "variant 'x' change 1" in res.output
