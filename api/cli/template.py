"""`volmatch template`: the spreadsheet a coordinator fills in (or a round exported to one).

Reading workbooks and CSV folders, and writing result workbooks, need no command of
their own: `validate`, `solve`, `candidates` and `explain` take `round.xlsx` or a folder,
and `solve --out result.xlsx` writes a workbook (see `api/io.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from volmatch.api.cli.guard import BadInput, guarded, stderr


def template(
    out: Annotated[Path, typer.Option("--out", help="Workbook to write (.xlsx).")],
    from_round: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Fill it with this round (JSON, YAML, workbook or CSV folder) instead of "
            "leaving it empty.",
        ),
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help="Fill it with the bundled demo round.")
    ] = False,
) -> None:
    """Write the round workbook template: Volunteers, Placements, Policy (and Previous),
    with a note on every column, drop-down lists, and Help and Lists sheets."""
    from volmatch.api.io import read_round
    from volmatch.api.sheets import write_round_workbook

    def go() -> None:
        if out.suffix.lower() != ".xlsx":
            raise BadInput(f"--out must name an .xlsx file, not {out.name!r}")
        if example and from_round is not None:
            raise BadInput("give --from or --example, not both")
        source = from_round
        if example:
            from volmatch.scenarios.demo import demo_round_path

            source = demo_round_path()
        r = read_round(source) if source is not None else None
        write_round_workbook(r, out)
        what = (
            f"{len(r.volunteers)} volunteers, {len(r.placements)} placements"
            if r is not None
            else "empty template"
        )
        stderr().print(f"workbook written to {out} ({what})", highlight=False)

    guarded(go)
