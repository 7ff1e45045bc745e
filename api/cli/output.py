"""What the commands show people: a progress line naming the stage, and a result's
summary as rich tables (programs read the JSON instead).

rich is imported inside the functions, so that a command that prints no table starts
without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from volmatch.api.cli.guard import stderr

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from volmatch.models import Result, Round


@contextmanager
def stages(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress display on stderr that names the stage being worked on."""
    if not enabled:
        yield lambda _stage: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=stderr(),
        transient=True,
    ) as bar:
        task = bar.add_task("loading", total=None)

        def update(stage: str) -> None:
            bar.update(task, description=stage)

        yield update


def summary_table(result: Result, title: str) -> Table:
    """The result's headline figures: status, objective, bound, placed, filled ..."""
    from rich.table import Table

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


def print_summary(console: Console, r: Round, result: Result, title: str, top: int) -> None:
    """The summary table, then the first `top` assignments, unmatched volunteers and
    open slots, each with its reasons."""
    from rich.table import Table

    console.print(summary_table(result, title))
    pls = {p.id: p for p in r.placements}
    names = {v.id: v.name or "" for v in r.volunteers}
    if result.assignments and top:
        title = f"First {min(top, len(result.assignments))} assignments"
        t = Table(title=title, header_style="bold")
        for col in ("volunteer", "name", "placement", "country", "start", "months", "score"):
            t.add_column(col)
        for a in result.assignments[:top]:
            p = pls[a.placement]
            t.add_row(
                a.volunteer,
                names[a.volunteer],
                f"{a.placement} {p.title}",
                p.country,
                str(a.start),
                str(a.months),
                str(a.score),
            )
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
