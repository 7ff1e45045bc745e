"""The terminal tables of `volmatch whatif`, readable in 80 columns.

No number or name is ever cut: numbers keep their full width (each value over its
change against the base, on two lines, under short headers explained in a legend),
round names fold onto a second line, reasons wrap, and a variant's status shows only
when it is not `optimal`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from volmatch.models.codes import URGENT_PRIORITY

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from volmatch.scenarios.compare import Comparison


@dataclass(frozen=True)
class Column:
    """One KPI column: key, short header, scale of the shown value and its decimals."""

    key: str
    header: str
    scale: float
    decimals: int


COLUMNS: tuple[Column, ...] = (
    Column("objective", "total", 1, 0),
    Column("volunteers_matched", "placed", 1, 0),
    Column("fill_rate", "fill%", 100, 1),
    Column("urgent_fill_rate", "urg%", 100, 1),
    Column("mean_score", "score", 1, 1),
    Column("mean_preference_rank", "rank", 1, 2),
    Column("eligible_pairs", "pairs", 1, 0),
)
"""The KPI table's columns; `LEGEND` explains the headers."""

LEGEND = (
    "Each variant: its value, and below it the change against the base. "
    "total: the round's objective (total score); placed: volunteers placed; "
    "fill%: slots filled, in % (change in percentage points); "
    f"urg%: the same for urgent slots (priority {URGENT_PRIORITY}-5); "
    "score: mean score of a placement; rank: mean preference rank achieved (lower is "
    "better); pairs: eligible volunteer-placement pairs."
)
PRIORITIES = ("5", "4", "3", "2", "1")
NAME_MIN_WIDTH = 10
"""Round names fold below this width rather than squeeze the numbers."""


def _number(c: Column, x: Any) -> str:
    if x is None or isinstance(x, bool) or not isinstance(x, int | float):
        return "-"
    return f"{x * c.scale:.{c.decimals}f}"


def _change(c: Column, d: Any) -> str:
    """A change with its sign; a change too small for the column's decimals still shows
    as non-zero ("+0.04" rather than "+0.0")."""
    if d is None or isinstance(d, bool) or not isinstance(d, int | float) or d == 0:
        return ""
    v = d * c.scale
    decimals = c.decimals
    while decimals < 4 and round(v, decimals) == 0:
        decimals += 1
    return f"{v:+.{decimals}f}"


def _coloured(text: str, delta: Any, c: Column) -> str:
    if not text:
        return ""
    better = (delta > 0) != (c.key == "mean_preference_rank")
    return f"[{'green' if better else 'red'}]{text}[/]"


def _name(run: dict[str, Any]) -> str:
    status = run["status"]
    return run["name"] if status == "optimal" else f"{run['name']}\n[dim]({status})[/]"


def _table(title: str) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left"
    )


def kpi_table(cmp: Comparison) -> Table:
    t = _table(f"What-if: {cmp.scenario}")
    t.add_column("round", overflow="fold", min_width=NAME_MIN_WIDTH)
    rows: list[tuple[str, list[str], list[str]]] = []
    for row, run in zip(cmp.table_rows(), [cmp.base, *cmp.variants], strict=True):
        values = [_number(c, row[c.key][0]) if run["kpis"] else "-" for c in COLUMNS]
        changes = [_change(c, row[c.key][1]) for c in COLUMNS]
        rows.append((_name({"name": row["name"], "status": row["status"]}), values, changes))
    for i, c in enumerate(COLUMNS):
        width = max(len(c.header), *(max(len(v[i]), len(d[i])) for _, v, d in rows))
        t.add_column(c.header, justify="right", no_wrap=True, min_width=width)
    for (name, values, changes), row in zip(rows, cmp.table_rows(), strict=True):
        cells = [
            v + ("\n" + _coloured(d, row[c.key][1], c) if d else "")
            for c, v, d in zip(COLUMNS, values, changes, strict=True)
        ]
        t.add_row(name, *cells)
    return t


def moves_table(cmp: Comparison) -> Table:
    from volmatch.scenarios.compare import MOVE_KINDS

    t = _table("Who moved against the base")
    t.add_column("variant", overflow="fold", min_width=NAME_MIN_WIDTH)
    for k in MOVE_KINDS:  # "newly matched" on two lines: the names keep the room
        t.add_column(k.replace("_", "\n"), justify="right", no_wrap=True)
    for v in cmp.variants:
        t.add_row(_name(v), *(str(v["moves_count"].get(k, "-")) for k in MOVE_KINDS))
    return t


def open_slots_table(cmp: Comparison) -> Table:
    t = _table("Open slots by priority (5 = most urgent), change against the base")
    t.add_column("round", overflow="fold", min_width=NAME_MIN_WIDTH)
    for p in PRIORITIES:
        t.add_column(f"prio {p}", justify="right", no_wrap=True)
    base_p = cmp.base.get("open_by_priority", {})
    t.add_row("base", *(str(base_p.get(p, 0)) for p in PRIORITIES))
    for v in cmp.variants:
        if not v["kpis"]:
            t.add_row(_name(v), *("-" for _ in PRIORITIES))
            continue
        vp = v["open_by_priority"]
        cells = []
        for p in PRIORITIES:
            d = vp.get(p, 0) - base_p.get(p, 0)
            colour = "red" if d > 0 else "green"
            cells.append(f"{vp.get(p, 0)} [{colour}]({d:+d})[/]" if d else str(vp.get(p, 0)))
        t.add_row(_name(v), *cells)
    return t


def variant_moves_table(v: dict[str, Any], top: int) -> Table:
    t = _table(f"{v['name']}: who moved (first {min(top, len(v['moves']))} of {len(v['moves'])})")
    t.add_column("volunteer", no_wrap=True)
    t.add_column("change")
    t.add_column("base", no_wrap=True)
    t.add_column("variant", no_wrap=True)
    t.add_column("why", ratio=1)
    for mv in v["moves"][:top]:
        t.add_row(
            mv["volunteer"],
            mv["kind"].replace("_", " "),
            mv["base"] or "-",
            mv["variant"] or "-",
            "\n".join(mv["reasons"][:2]),
        )
    return t


def print_comparison(console: Console, cmp: Comparison, top: int) -> None:
    """Every table of the comparison, then the errors of the variants not solved."""
    from rich.padding import Padding
    from rich.text import Text

    console.print(kpi_table(cmp))
    console.print(Text(LEGEND, style="dim"))
    console.print()
    console.print(moves_table(cmp))
    console.print(open_slots_table(cmp))
    for v in cmp.variants:
        if v["errors"]:
            console.print(Text(f"{v['name']}: {v['status']}", style="bold red"))
            for e in v["errors"]:
                console.print(Padding(Text(f"- {e}", overflow="fold"), (0, 0, 0, 2)))
            continue
        if v["moves"] and top:
            console.print(variant_moves_table(v, top))
