"""The `volmatch` command line: demo, validate, solve, candidates, explain.

Humans get rich tables on stderr/stdout; programs get JSON. Exit codes: 0 success,
2 bad input (every error listed on stderr), 1 anything else.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from volmatch.api.io import read_round, result_to_json, write_json_lines, write_result, write_text
from volmatch.models import InfeasibleRound, InvalidRound, Result, Round

app = typer.Typer(
    name="volmatch",
    help="Match trained volunteers to host-community placements.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2

T = TypeVar("T")


def _err() -> Console:
    return Console(stderr=True)


class BadInput(Exception):
    """A bad argument that is not a round-document error (unknown id ...)."""


def _report(exc: BaseException) -> int:
    err = _err()
    if isinstance(exc, InvalidRound):
        err.print(f"[bold red]invalid round:[/] {len(exc.errors)} error(s)")
        for e in exc.errors:
            err.print(f"  - {e}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    if isinstance(exc, InfeasibleRound):
        err.print(f"[bold red]round cannot be solved:[/] {len(exc.conflicts)} conflict(s)")
        for c in exc.conflicts:
            err.print(f"  - {c}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    if isinstance(exc, BadInput):
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        return EXIT_BAD_INPUT
    err.print(f"[bold red]volmatch failed:[/] {type(exc).__name__}: {exc}", highlight=False)
    return EXIT_ERROR


@contextmanager
def _stages(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress display on stderr that names the stage being worked on."""
    if not enabled:
        yield lambda _stage: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    ) as bar:
        task = bar.add_task("loading", total=None)

        def update(stage: str) -> None:
            bar.update(task, description=stage)

        yield update


def _load(path: Path) -> Round:
    # one command, one round: it lives until the process exits
    return read_round(path, long_lived=True)


def _summary_table(result: Result, title: str) -> Table:
    k = result.kpis
    t = Table(title=title, show_header=True, header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("status", result.status),
        ("objective (total score)", result.objective),
        ("proven bound", result.bound),
        ("volunteers placed", f"{k['volunteers_matched']} of {k['volunteers']}"),
        ("slots filled", f"{k['slots_filled']} of {k['slots']} ({k['fill_rate']:.1%})"),
        (
            "urgent slots filled (priority 4-5)",
            f"{k['urgent_slots_filled']} of {k['urgent_slots']} ({k['urgent_fill_rate']:.1%})",
        ),
        ("mean score", k["mean_score"]),
        ("mean preference rank achieved", k.get("mean_preference_rank")),
        ("eligible pairs", k.get("eligible_pairs")),
    ]
    for name, value in rows:
        t.add_row(name, "-" if value is None else str(value))
    return t


def _print_summary(console: Console, r: Round, result: Result, title: str, top: int) -> None:
    console.print(_summary_table(result, title))
    pls = {p.id: p for p in r.placements}
    names = {v.id: v.name or "" for v in r.volunteers}
    if result.assignments and top:
        title = f"First {min(top, len(result.assignments))} assignments"
        t = Table(title=title, header_style="bold")
        for col in ("volunteer", "name", "placement", "country", "start", "months", "score"):
            t.add_column(col)
        for a in result.assignments[:top]:
            p = pls[a.placement]
            t.add_row(a.volunteer, names[a.volunteer], f"{a.placement} {p.title}", p.country,
                      str(a.start), str(a.months), str(a.score))
        console.print(t)
    for label, items in (
        ("Unmatched volunteers", [(u.volunteer, u.reasons) for u in result.unmatched_volunteers]),
        ("Open slots", [(f"{o.placement} ({o.open} open)", o.reasons) for o in result.open_slots]),
    ):
        if not items:
            continue
        title = f"{label}: {len(items)} (first {min(top, len(items))})"
        t = Table(title=title, header_style="bold")
        t.add_column("who")
        t.add_column("why")
        for who, reasons in items[:top]:
            t.add_row(who, "\n".join(reasons))
        console.print(t)


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except typer.Exit:
        raise
    except Exception as exc:  # every error ends in a message and an exit code
        raise typer.Exit(_report(exc)) from exc


@app.command()
def demo(
    top: Annotated[int, typer.Option(help="How many rows of each table to show.")] = 12,
    out: Annotated[
        Path | None, typer.Option(help="Also write the result JSON to this file.")
    ] = None,
) -> None:
    """Run the bundled realistic round end to end and print its summary."""
    from volmatch.matching import solve_round
    from volmatch.scenarios.demo import demo_round_path

    def go() -> None:
        console = Console()
        path = demo_round_path()
        with _stages(sys.stderr.isatty()) as stage:
            stage("loading")
            r = _load(path)
            result = solve_round(r, progress=stage)
        console.print(
            f"[bold]volmatch demo[/]: {len(r.volunteers)} volunteers from the pre-deployment "
            f"training camp, {len(r.placements)} placements of "
            f"{len({p.host for p in r.placements})} host partners in "
            f"{len({p.country for p in r.placements})} countries ({path.name})"
        )
        _print_summary(console, r, result, "Demo round", top)
        if out is not None:
            write_text(result_to_json(result), out)
            console.print(f"result written to {out}")

    _run(go)


@app.command()
def validate(
    round_file: Annotated[Path, typer.Argument(metavar="ROUND", help="Round document.")],
) -> None:
    """Check a round document: exit 0 when valid, 2 with every error listed when not."""

    def go() -> None:
        r = _load(round_file)
        slots = sum(p.slots for p in r.placements)
        Console().print(
            f"[green]valid[/]: {len(r.volunteers)} volunteers, {len(r.placements)} placements "
            f"({slots} slots), {len(r.previous)} previous assignments",
            highlight=False,
        )

    _run(go)


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


@app.command()
def solve(
    round_file: Annotated[Path, typer.Argument(metavar="ROUND", help="Round document.")],
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
) -> None:
    """Run the round; write the result JSON (to stdout where no --out)."""
    from volmatch.matching import solve_round

    def go() -> None:
        m = _mode(mode)
        if time_limit is not None and time_limit <= 0:
            raise BadInput("--time-limit must be positive")
        with _stages(sys.stderr.isatty() and not quiet) as stage:
            stage("loading")
            r = _load(round_file)
            result = solve_round(
                r, mode=m, time_limit_s=time_limit, progress=stage, audit=audit
            )
            stage("writing")
            write_result(r, result, out)
        if not quiet:
            err = _err()
            err.print(_summary_table(result, f"{round_file.name}"))
            if out is not None:
                err.print(f"result written to {out}", highlight=False)

    _run(go)


@app.command()
def candidates(
    round_file: Annotated[Path, typer.Argument(metavar="ROUND", help="Round document.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write JSON lines here (default stdout).")
    ] = None,
) -> None:
    """Every eligible pair with its score and breakdown, as JSON lines."""
    from volmatch.matching import prepare
    from volmatch.matching.dates import from_days

    def go() -> None:
        prep = prepare(_load(round_file))
        c, pairs, scores = prep.compiled, prep.pairs, prep.scores
        # index order is id order (compile sorts by id): volunteer-major listing
        order = np.lexsort((pairs.p, pairs.v)).tolist()

        def rows() -> Iterator[dict[str, Any]]:
            for i in order:
                yield {
                    "volunteer": c.volunteer_ids[int(pairs.v[i])],
                    "placement": c.placement_ids[int(pairs.p[i])],
                    "score": int(scores.total[i]),
                    "start": from_days(int(pairs.start[i])).isoformat(),
                    "months": int(pairs.months[i]),
                    "breakdown": scores.breakdown(i),
                }

        if out is None:
            write_json_lines(rows(), sys.stdout)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8") as f:
                n = write_json_lines(rows(), f)
            _err().print(f"{n} eligible pairs written to {out}", highlight=False)

    _run(go)


@app.command()
def explain(
    round_file: Annotated[Path, typer.Argument(metavar="ROUND", help="Round document.")],
    volunteer: Annotated[str, typer.Option("--volunteer", help="Volunteer id.")],
    placement: Annotated[
        str | None, typer.Option("--placement", help="Only this placement.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Which hard rules each pair fails, or why an eligible pair was not chosen."""
    from volmatch.matching import prepare
    from volmatch.matching.explain import explain_volunteer
    from volmatch.matching.solve import solve_prepared

    def go() -> None:
        r = _load(round_file)
        prep = prepare(r)
        c = prep.compiled
        if volunteer not in c.vindex:
            raise BadInput(f"no volunteer with id {volunteer!r} in the round")
        if placement is not None and placement not in c.pindex:
            raise BadInput(f"no placement with id {placement!r} in the round")
        sol = solve_prepared(prep)
        vi = c.vindex[volunteer]
        only = None if placement is None else [c.pindex[placement]]
        rows = explain_volunteer(c, prep.pairs, prep.scores, sol.chosen, vi, only)
        doc = {"volunteer": volunteer, "pairs": rows}
        if as_json:
            write_text(json.dumps(doc, indent=2, default=str), None)
            return
        t = Table(title=f"Volunteer {volunteer}", header_style="bold", show_lines=True)
        t.add_column("placement")
        t.add_column("eligible")
        t.add_column("detail")
        for row in sorted(rows, key=lambda x: (not x["eligible"], -int(x.get("score", 0)))):  # type: ignore[call-overload]
            if row["eligible"]:
                detail = f"score {row['score']} {row['breakdown']}\n{row['outcome']}"
            else:
                fails: dict[str, str] = row["failed_rules"]  # type: ignore[assignment]
                detail = "\n".join(f"{k}: {v}" for k, v in fails.items())
            t.add_row(str(row["placement"]), "yes" if row["eligible"] else "no", detail)
        Console().print(t)

    _run(go)


# Command groups that live in modules of their own (service, spreadsheets, what-if ...).
# Each module has `register(app: typer.Typer) -> None` and imports its heavy
# dependencies inside the commands, so that `volmatch solve` starts fast.
EXTENSIONS: tuple[str, ...] = (
    "volmatch.api.cli_sheets",
    "volmatch.api.cli_service",
    "volmatch.api.cli_whatif",
)


def _register_extensions() -> None:
    import importlib

    for name in EXTENSIONS:
        importlib.import_module(name).register(app)


_register_extensions()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # pragma: no cover - last resort
        sys.exit(_report(exc))
