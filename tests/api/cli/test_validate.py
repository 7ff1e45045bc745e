"""`volmatch validate`: valid documents in JSON and YAML, and every error listed with
exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()


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
