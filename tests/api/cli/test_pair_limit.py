"""Every command that finds a round's pairs refuses a round over the pair limit
(`VOLMATCH_MAX_ROUND_PAIRS`) with exit 2 and a message naming its pairs, the limit and
the variable; a bad value of the variable is exit 2 too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volmatch.api.cli import app
from volmatch.matching.pair_limit import PAIR_LIMIT_SETTING, pair_limit, set_pair_limit

runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_limit() -> Iterator[None]:
    """The commands set the process's limit: put it back for the tests that follow."""
    old = pair_limit()
    yield
    set_pair_limit(old)


@pytest.mark.parametrize(
    "args",
    [
        ["solve"],
        ["candidates"],
        ["explain", "--volunteer", "V1"],
        ["advise", "--placement", "P2"],
    ],
    ids=lambda a: a[0],
)
def test_a_round_over_the_limit_exits_2(args: list[str], small: Path) -> None:
    cmd = [args[0], str(small), *args[1:]]
    assert runner.invoke(app, cmd).exit_code == 0
    r = runner.invoke(app, cmd, env={PAIR_LIMIT_SETTING: "2"})
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert "candidate (volunteer, placement) pairs, over the limit of 2" in text
    assert PAIR_LIMIT_SETTING in text and "Traceback" not in text


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_a_bad_limit_exits_2(value: str, small: Path) -> None:
    r = runner.invoke(app, ["solve", str(small)], env={PAIR_LIMIT_SETTING: value})
    assert r.exit_code == 2 and PAIR_LIMIT_SETTING in r.output
