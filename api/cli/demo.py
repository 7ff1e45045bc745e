"""`volmatch demo`: the bundled realistic round, solved end to end, as a first look."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from volmatch.api.cli.guard import guarded
from volmatch.api.cli.inputs import load_round_file
from volmatch.api.cli.output import print_summary, stages


def demo(
    top: Annotated[int, typer.Option(help="How many rows of each table to show.")] = 12,
    out: Annotated[
        Path | None, typer.Option(help="Also write the result JSON to this file.")
    ] = None,
) -> None:
    """Run the bundled realistic round end to end and print its summary."""
    from rich.console import Console

    from volmatch.api.io import result_to_json, write_text
    from volmatch.matching import solve_round
    from volmatch.scenarios.demo import demo_round_path

    def go() -> None:
        console = Console()
        path = demo_round_path()
        with stages(sys.stderr.isatty()) as stage:
            stage("loading")
            r = load_round_file(path)
            result = solve_round(r, progress=stage)
        console.print(
            f"[bold]volmatch demo[/]: {len(r.volunteers)} volunteers from the pre-deployment "
            f"training camp, {len(r.placements)} placements of "
            f"{len({p.host for p in r.placements})} host partners in "
            f"{len({p.country for p in r.placements})} countries ({path.name})"
        )
        print_summary(console, r, result, "Demo round", top)
        if out is not None:
            write_text(result_to_json(result), out)
            console.print(f"result written to {out}")

    guarded(go)
