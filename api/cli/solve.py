"""`volmatch solve ROUND`: run a round and write the result document (JSON or `.xlsx`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from volmatch.api.cli.guard import BadInput, guarded, interruptible, stderr
from volmatch.api.cli.inputs import (
    OutcomesOpt,
    ReservesOpt,
    RoundArg,
    load_outcomes_file,
    load_round_file,
)
from volmatch.api.cli.output import stages, summary_table

RESERVE_SIZE = 5
"""Reserves per placement by default (`matching.lifecycle.RESERVE_SIZE`; kept here so
that `volmatch --help` need not import the engine)."""

ModeOpt = Annotated[
    str | None,
    typer.Option("--mode", help="optimal (max total score) or stable (volunteer-optimal)."),
]


def _mode(value: str | None) -> Literal["optimal", "stable"] | None:
    if value is None:
        return None
    if value not in ("optimal", "stable"):
        raise BadInput(f"--mode must be 'optimal' or 'stable', not {value!r}")
    return value  # type: ignore[return-value]


def solve(
    round_file: RoundArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the result JSON here (default stdout).")
    ] = None,
    mode: ModeOpt = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Solver wall-clock limit in seconds.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
    audit: Annotated[
        bool, typer.Option("--audit", help="Add a stability audit (blocking pairs, price).")
    ] = False,
    outcomes: OutcomesOpt = None,
    reserves: ReservesOpt = RESERVE_SIZE,
) -> None:
    """Run the round; write the result JSON (to stdout where no --out)."""
    from volmatch.api.io import write_result
    from volmatch.matching.lifecycle import solve_with_outcomes

    def go() -> None:
        m = _mode(mode)
        if time_limit is not None and time_limit <= 0:
            raise BadInput("--time-limit must be positive")
        outs = [] if outcomes is None else load_outcomes_file(outcomes)
        with stages(sys.stderr.isatty() and not quiet) as stage:
            stage("loading")
            r = load_round_file(round_file)
            result = interruptible(
                lambda stop: solve_with_outcomes(
                    r,
                    outs,
                    mode=m,
                    time_limit_s=time_limit,
                    progress=stage,
                    audit=audit,
                    reserves=reserves,
                    stop=stop,
                )
            )
            stage("writing")
            write_result(r, result, out)
        if not quiet:
            err = stderr()
            err.print(summary_table(result, f"{round_file.name}"))
            if out is not None:
                err.print(f"result written to {out}", highlight=False)

    guarded(go)
