"""`volmatch whatif`: solve a scenario's base and variants and compare them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from volmatch.api.cli.guard import EXIT_BAD_INPUT, BadInput, guarded, stderr

if TYPE_CHECKING:
    from rich.console import Console

    from volmatch.scenarios.compare import Comparison

_TABLE_KPIS = (
    "objective", "volunteers_matched", "fill_rate", "urgent_fill_rate", "mean_score",
    "mean_preference_rank", "eligible_pairs",
)
_SHORT = {
    "volunteers_matched": "placed", "fill_rate": "fill", "urgent_fill_rate": "urgent fill",
    "mean_score": "mean score", "mean_preference_rank": "pref rank", "eligible_pairs": "pairs",
}


def _cell(value: Any, delta: Any) -> str:
    if value is None:
        return "-"
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    if delta:
        d = f"{delta:.4g}" if isinstance(delta, float) else str(delta)
        colour = "green" if delta > 0 else "red"
        text += f" [{colour}]({'+' if delta > 0 else ''}{d})[/]"
    return text


def _print(console: Console, cmp: Comparison, top: int) -> None:
    from rich.table import Table

    from volmatch.scenarios.compare import MOVE_KINDS

    t = Table(title=f"What-if: {cmp.scenario} (delta against the base)", header_style="bold")
    t.add_column("round")
    t.add_column("status")
    for k in _TABLE_KPIS:
        t.add_column(_SHORT.get(k, k), justify="right")
    for row in cmp.table_rows():
        t.add_row(row["name"], row["status"], *(_cell(*row[k]) for k in _TABLE_KPIS))
    console.print(t)

    mt = Table(title="Who moved against the base", header_style="bold")
    mt.add_column("variant")
    for k in MOVE_KINDS:
        mt.add_column(k.replace("_", " "), justify="right")
    for v in cmp.variants:
        mt.add_row(v["name"], *(str(v["moves_count"].get(k, "-")) for k in MOVE_KINDS))
    console.print(mt)

    prios = ["5", "4", "3", "2", "1"]
    o = Table(title="Open slots by priority (delta against the base)", header_style="bold")
    o.add_column("round")
    for p in prios:
        o.add_column(f"priority {p}", justify="right")
    base_p = cmp.base.get("open_by_priority", {})
    o.add_row("base", *(str(base_p.get(p, 0)) for p in prios))
    for v in cmp.variants:
        if v["kpis"]:
            vp = v["open_by_priority"]
            o.add_row(v["name"], *(_cell(vp.get(p, 0), vp.get(p, 0) - base_p.get(p, 0))
                                   for p in prios))
    console.print(o)

    for v in cmp.variants:
        if v["errors"]:
            console.print(f"[bold red]{v['name']}: {v['status']}[/]", highlight=False)
            for e in v["errors"]:
                console.print(f"  - {e}", markup=False, highlight=False, soft_wrap=True)
            continue
        if not v["moves"] or not top:
            continue
        m = Table(title=f"{v['name']}: who moved (first {min(top, len(v['moves']))} of "
                  f"{len(v['moves'])})", header_style="bold", show_lines=False)
        for col in ("volunteer", "change", "base", "variant", "why"):
            m.add_column(col)
        for mv in v["moves"][:top]:
            m.add_row(mv["volunteer"], mv["kind"].replace("_", " "), mv["base"] or "-",
                      mv["variant"] or "-", "\n".join(mv["reasons"][:2]))
        console.print(m)


def _compare(
    file: Path, out: Path | None, workers: int | None, dask: str | None, top: int, quiet: bool,
) -> None:
    """Solve the scenario in `file`, write its report to `out`, print its tables."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
    base = read_round(path)
    n = workers if workers is not None else min(os.cpu_count() or 1, len(scenario.variants))
    if n < 1:
        raise BadInput("--workers must be at least 1")
    err = stderr()
    out_dir = out if out is not None else Path(f"whatif-{file.stem}")

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err, transient=True, disable=quiet or not sys.stderr.isatty(),
    ) as bar:
        task = bar.add_task("solving base", total=len(scenario.variants) + 1)

        def progress(done: int, total: int, name: str) -> None:
            bar.update(task, completed=done, description=f"solved {name}")

        if dask is None:
            cmp = run_scenario(base, scenario, workers=n, progress=progress)
        else:
            try:
                from distributed import Client, LocalCluster
            except ImportError as exc:
                raise BadInput(
                    "--dask needs the dask extra: pip install 'volmatch[dask]'"
                ) from exc
            if dask == "local":
                with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, Client(cluster) as client:
                    cmp = run_scenario(base, scenario, client.get_executor(), progress=progress)
            else:
                with Client(dask) as client:
                    cmp = run_scenario(base, scenario, client.get_executor(), progress=progress)

    write_text(cmp.to_json(), out_dir / "comparison.json")
    write_text(to_markdown(cmp), out_dir / "report.md")
    write_text(json.dumps(cmp.timings, indent=2), out_dir / "timings.json")
    try:
        charts = write_charts(cmp, out_dir)
    except ImportError:
        charts = []
        err.print("charts skipped: install matplotlib (pip install 'volmatch[whatif]')")
    if not quiet:
        _print(Console(), cmp, top)
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
        typer.Option("--dask", metavar="ADDRESS",
                     help="Run the variants on a Dask cluster at ADDRESS, or 'local'."),
    ] = None,
    top: Annotated[int, typer.Option(help="Rows of who moved to show per variant.")] = 10,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no tables.")] = False,
) -> None:
    """Solve a scenario's base round and variants and compare them side by side."""
    from volmatch.scenarios.model import ScenarioError

    def go() -> None:
        try:
            _compare(file, out, workers, dask, top, quiet)
        except ScenarioError as exc:
            err = stderr()
            err.print(f"[bold red]invalid scenario:[/] {len(exc.errors)} error(s)")
            for e in exc.errors:
                err.print(f"  - {e}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from exc

    guarded(go)
