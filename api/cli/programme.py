"""`volmatch report PROGRAMME --out DIR`: the programme report from a file of events and
outcomes (JSON + workbook + PNG charts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from volmatch.api.cli.guard import BadInput, guarded, stderr


def report(
    programme: Annotated[
        Path,
        typer.Argument(
            metavar="PROGRAMME", help="Programme file: rounds, events, outcomes (JSON/YAML)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json/.xlsx and PNGs.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Write the programme report: counts per round, wave, country, host, sector, SDG."""
    from volmatch.api.programme_report import read_programme, write_report
    from volmatch.matching.lifecycle.report import programme_report
    from volmatch.models.lifecycle import InvalidHistory

    def go() -> None:
        try:
            prog, rounds = read_programme(programme)
            rep = programme_report(rounds, prog.events, prog.outcomes)
        except InvalidHistory as exc:
            raise BadInput(
                f"{len(exc.errors)} error(s) in {programme}:\n"
                + "\n".join(f"  - {e}" for e in exc.errors)
            ) from None
        paths = write_report(rep, out)
        if not quiet:
            t = rep["totals"]
            stderr().print(
                f"report: {t['offered']} offers, {t['accepted']} accepted, {t['deployed']} "
                f"deployed, {t['completed']} completed; {len(paths)} files in {out}",
                highlight=False,
            )

    guarded(go)
