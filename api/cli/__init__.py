"""The `volmatch` command line: one module per command or command group, put together
here, in the order `volmatch --help` lists them.

Humans get rich tables on stderr/stdout; programs get JSON. Exit codes: 0 success,
2 bad input (every error listed on stderr), 1 anything else (see `guard.py`).
Every command imports its heavy dependencies (numpy, OR-Tools, openpyxl, fastapi,
sqlalchemy, matplotlib ...) inside its function, so that `volmatch --help` and
`volmatch validate` start fast.
"""

from __future__ import annotations

import sys

import typer

from volmatch.api.cli import (
    advise,
    backfill,
    candidates,
    demo,
    explain,
    programme,
    service,
    solve,
    template,
    validate,
    whatif,
)
from volmatch.api.cli.guard import report
from volmatch.api.cli.pair_limit import apply_pair_limit


def build_app() -> typer.Typer:
    """A new `volmatch` Typer app with every command registered."""
    app = typer.Typer(
        name="volmatch",
        help="Match trained volunteers to host-community placements.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    # every command runs with the pair limit of its environment
    app.callback()(apply_pair_limit)
    app.command("demo")(demo.demo)
    app.command("validate")(validate.validate)
    app.command("solve")(solve.solve)
    app.command("candidates")(candidates.candidates)
    app.command("explain")(explain.explain)
    app.command("advise")(advise.advise)
    app.command("template")(template.template)
    app.command("serve")(service.serve)
    app.command("worker")(service.worker)
    app.add_typer(service.keys_app(), name="keys")
    app.command("whatif")(whatif.whatif)
    app.command("backfill")(backfill.backfill)
    app.command("report")(programme.report)
    return app


app = build_app()
"""The app the console script runs (and tests invoke with typer's `CliRunner`)."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # pragma: no cover - last resort
        sys.exit(report(exc))
