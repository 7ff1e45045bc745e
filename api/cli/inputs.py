"""What the round commands read: the ROUND argument and the round it names.

`validate`, `solve`, `candidates` and `explain` take the same argument and read it the
same way (JSON, YAML, an `.xlsx` workbook or a folder of CSV files, see `api/io.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from volmatch.models import Round
    from volmatch.models.lifecycle import Outcome

RoundArg = Annotated[Path, typer.Argument(metavar="ROUND", help="Round document.")]
"""The round file (or CSV folder) a command works on."""


def load_round_file(path: Path) -> Round:
    """The round in `path` (raises `InvalidRound` with every error)."""
    from volmatch.api.io import read_round

    # one command, one round: it lives until the process exits
    return read_round(path, long_lived=True)


OutcomesOpt = Annotated[
    Path | None,
    typer.Option(
        "--outcomes",
        help="Outcomes of earlier deployments (JSON, YAML or CSV), fed in through the "
        "policy's continuity_bonus, exclude_skills_mismatch and host_reliability_kpi.",
    ),
]
"""Earlier outcomes a command feeds into the round (`docs/lifecycle.md`)."""


def load_outcomes_file(path: Path) -> list[Outcome]:
    """The outcomes in `path`, or `BadInput` listing every error (record and field)."""
    from volmatch.api.cli.guard import BadInput
    from volmatch.api.outcomes_file import describe, read_outcomes
    from volmatch.models.lifecycle import InvalidHistory

    try:
        return read_outcomes(path)
    except InvalidHistory as exc:
        raise BadInput(
            f"--outcomes {path}: {len(exc.errors)} error(s):\n"
            + "\n".join(f"  - {describe(e)}" for e in exc.errors)
        ) from None


ReservesOpt = Annotated[
    int,
    typer.Option(
        "--reserves",
        min=0,
        help="Reserve list length per placement, each reserve with its exact cost to the "
        "round (0: none).",
    ),
]
"""How many reserves a result lists per placement (`docs/lifecycle.md#reserve-lists`)."""
