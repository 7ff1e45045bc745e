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

RoundArg = Annotated[Path, typer.Argument(metavar="ROUND", help="Round document.")]
"""The round file (or CSV folder) a command works on."""


def load_round_file(path: Path) -> Round:
    """The round in `path` (raises `InvalidRound` with every error)."""
    from volmatch.api.io import read_round

    # one command, one round: it lives until the process exits
    return read_round(path, long_lived=True)
