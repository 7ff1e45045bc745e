"""`volmatch whatif`: solve a scenario's base and variants and compare them.

Ctrl-C stops the run at once, as it stops `volmatch solve`: the solves run in a thread
of their own (`guard.interruptible`) and are told to stop (`matching.stop`); the base's
solve stops mid-search, the local pool's variants stop too, nothing is written, exit
130.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from volmatch.api.cli.guard import EXIT_BAD_INPUT, BadInput, guarded, interruptible, stderr
from volmatch.api.cli.inputs import OutcomesOpt, load_outcomes_file


def _compare(
    file: Path,
    out: Path | None,
    workers: int | None,
    dask: str | None,
    top: int,
    quiet: bool,
    outcomes: Path | None = None,
) -> None:
    """Solve the scenario in `file`, write its report to `out`, print its tables."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from volmatch.api.cli.whatif_tables import print_comparison
    from volmatch.api.io import read_round, write_text
    from volmatch.scenarios.charts import write_charts
    from volmatch.scenarios.compare import to_markdown
    from volmatch.scenarios.model import load_scenario
    from volmatch.scenarios.runner import run_scenario

    scenario = load_scenario(file)
    path = scenario.base_path()
    if path is None:
        raise BadInput(
            f"{file}: base names the stored round {scenario.base.round_id!r}; the command line "
            "needs a round file (post the scenario to the service for stored rounds)"
        )
    outs = [] if outcomes is None else load_outcomes_file(outcomes)
    base = read_round(path)
    n = workers if workers is not None else min(os.cpu_count() or 1, len(scenario.variants))
    if n < 1:
        raise BadInput("--workers must be at least 1")
    err = stderr()
    out_dir = out if out is not None else Path(f"whatif-{file.stem}")

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("solving base", total=len(scenario.variants) + 1)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, description=f"solved {name}")

        if dask is None:
            cmp = interruptible(
                lambda stop: run_scenario(
                    base, scenario, workers=n, progress=progress, outcomes=outs, stop=stop
                )
            )
        else:
            try:
                from distributed import Client, LocalCluster
            except ImportError as exc:
                raise BadInput("--dask needs the dask extra: pip install 'volmatch[dask]'") from exc
            if dask == "local":
                with (
                    LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                    ) as cluster,
                    Client(cluster) as client,
                ):
                    cmp = interruptible(
                        lambda stop: run_scenario(
                            base,
                            scenario,
                            client.get_executor(),
                            progress=progress,
                            outcomes=outs,
                            stop=stop,
                        )
                    )
            else:
                with Client(dask) as client:
                    cmp = interruptible(
                        lambda stop: run_scenario(
                            base,
                            scenario,
                            client.get_executor(),
                            progress=progress,
                            outcomes=outs,
                            stop=stop,
                        )
                    )

    write_text(cmp.to_json(), out_dir / "comparison.json")
    write_text(to_markdown(cmp), out_dir / "report.md")
    write_text(json.dumps(cmp.timings, indent=2), out_dir / "timings.json")
    try:
        charts = write_charts(cmp, out_dir)
    except ImportError:
        charts = []
        err.print("charts skipped: install matplotlib (pip install 'volmatch[whatif]')")
    if not quiet:
        print_comparison(Console(), cmp, top)
    err.print(
        f"{len(scenario.variants)} variant(s) in {cmp.timings['wall_seconds']} s; "
        f"comparison.json, report.md{', ' + str(len(charts)) + ' chart(s)' if charts else ''} "
        f"written to {out_dir}",
        highlight=False,
    )


def whatif(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario file (YAML).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the report (default ./whatif-<file>)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Parallel solves (default: the CPU count)."),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Run the variants on a Dask cluster at ADDRESS, or 'local'.",
        ),
    ] = None,
    top: Annotated[int, typer.Option(help="Rows of who moved to show per variant.")] = 10,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables.")] = False,
    outcomes: OutcomesOpt = None,
) -> None:
    """Solve a scenario's base round and variants and compare them side by side."""
    from volmatch.scenarios.model import ScenarioError

    def go() -> None:
        try:
            _compare(file, out, workers, dask, top, quiet, outcomes)
        except ScenarioError as exc:
            err = stderr()
            err.print(f"[bold red]invalid scenario:[/] {len(exc.errors)} error(s)")
            for e in exc.errors:
                err.print(f"  - {e}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from exc

    guarded(go)
