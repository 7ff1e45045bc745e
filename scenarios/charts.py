"""Charts of a comparison: each variant's change against the base, not absolute values.

A +1% change is invisible on a bar drawn from zero next to the base's bar, so every
panel draws the *delta* against the base (in %, in percentage points or in units, as
suits the figure) with the base's own value in the panel's title. Variants that could
not be solved are drawn as a labelled grey band on their row ("not solved:
infeasible"), never left blank, and the legend lists only what the chart draws.

`kpi_panels` / `sweep_panels` compute the numbers (tested without drawing);
`kpi_figure` / `sweep_figure` draw them with matplotlib (Agg backend, no display);
`write_charts` writes the PNGs of `volmatch whatif`; `chart_svg` gives the same figure
as SVG text for the web pages. The figures' words are marked for the pages' catalogue
(`N_`): a page passes its `gettext` and the charts speak its language.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from volmatch.models.reasons import N_
from volmatch.scenarios.compare import Comparison

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Unit = Literal["percent", "points", "units"]
"""How a KPI's change is shown: relative change in % of the base's value, difference of
two rates in percentage points, or plain difference in the KPI's own units."""
Verdict = Literal["better", "worse", "unchanged", "not solved"]


@dataclass(frozen=True)
class KpiSpec:
    """One drawn KPI: its key in the comparison, a human label and how to show change."""

    key: str
    label: str
    unit: Unit
    higher_is_better: bool
    decimals: int
    """Decimals of the change's label."""


CHART_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec("objective", N_("objective (total score)"), "percent", True, 2),
    KpiSpec("volunteers_matched", N_("volunteers placed"), "units", True, 0),
    KpiSpec("fill_rate", N_("slots filled"), "points", True, 1),
    KpiSpec("urgent_fill_rate", N_("urgent slots filled"), "points", True, 1),
    KpiSpec("mean_score", N_("mean score of a placement"), "percent", True, 2),
    KpiSpec(
        "mean_preference_rank", N_("preference rank achieved (lower is better)"), "units", False, 2
    ),
)
"""The KPIs drawn, one panel each."""

UNIT_AXIS: dict[Unit, str] = {
    "percent": N_("change against the base, %"),
    "points": N_("change against the base, percentage points"),
    "units": N_("change against the base"),
}

COLOURS: dict[Verdict, str] = {
    "better": "#1f5fa8",  # blue / vermilion: told apart with red-green colour blindness
    "worse": "#c2410c",
    "unchanged": "#6b7280",
    "not solved": "#d1d5db",
}
UNCHANGED_MARKER = "D"
"""A variant equal to the base on a KPI is a diamond on the zero line (a bar of length 0
would not show)."""
NOT_SOLVED_HATCH = "///"
"""Hatching of the not-solved band, so it reads as 'no value' and not as a grey bar."""


@dataclass(frozen=True)
class Bar:
    """One variant's change on one KPI (or one point of a sweep)."""

    name: str
    status: str
    value: float | None
    """The variant's own value (None when not solved or not reported)."""
    delta: float | None
    """The change against the base in the panel's unit (None when not solved)."""
    label: str
    """The text drawn beside the bar: "+1.56%", "-2", "no change", "not solved: infeasible"."""
    verdict: Verdict
    x: Any = None
    """The swept value, for sweep panels."""


@dataclass(frozen=True)
class Panel:
    """One KPI: the base's value and one bar per variant, in the comparison's order."""

    kpi: KpiSpec
    base: float | None
    base_label: str
    bars: tuple[Bar, ...]

    @property
    def axis_label(self) -> str:
        return UNIT_AXIS[self.kpi.unit]


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def format_value(kpi: KpiSpec, value: float | None) -> str:
    """The base's (or a variant's) own value as people read it: rates in %, counts whole."""
    if value is None:
        return "-"
    if kpi.unit == "points":
        return f"{100 * value:.1f}%"
    if value == int(value) and abs(value) >= 100:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def change(kpi: KpiSpec, base: float | None, value: float | None) -> float | None:
    """The change of `value` against `base` in the KPI's unit; None when not comparable
    (a relative change of a zero base is not defined)."""
    if base is None or value is None:
        return None
    if kpi.unit == "points":
        return 100 * (value - base)
    if kpi.unit == "percent":
        return None if base == 0 else 100 * (value - base) / abs(base)
    return value - base


def format_change(kpi: KpiSpec, delta: float) -> str:
    suffix = {"percent": "%", "points": " pp", "units": ""}[kpi.unit]
    rounded = round(delta, kpi.decimals)
    if rounded == 0:
        return (
            N_("no change")
            if delta == 0
            else f"{'+' if delta > 0 else '-'}<{10**-kpi.decimals:g}" + suffix
        )
    text = f"{rounded:+,.{kpi.decimals}f}"
    return text + suffix


def _verdict(kpi: KpiSpec, delta: float) -> Verdict:
    if delta == 0:
        return "unchanged"
    return "better" if (delta > 0) == kpi.higher_is_better else "worse"


def _bar(kpi: KpiSpec, base: float | None, run: dict[str, Any], x: Any = None) -> Bar:
    name, status = str(run["name"]), str(run["status"])
    if not run.get("kpis"):
        return Bar(name, status, None, None, f"not solved: {status}", "not solved", x)
    value = _number(run["kpis"].get(kpi.key))
    delta = change(kpi, base, value)
    if delta is None:
        return Bar(name, status, value, None, N_("not comparable"), "unchanged", x)
    return Bar(name, status, value, delta, format_change(kpi, delta), _verdict(kpi, delta), x)


def _panel(
    kpi: KpiSpec, cmp: Comparison, runs: list[dict[str, Any]], xs: list[Any] | None = None
) -> Panel:
    base = _number(cmp.base["kpis"].get(kpi.key)) if cmp.base.get("kpis") else None
    xs = xs if xs is not None else [None] * len(runs)
    bars = tuple(_bar(kpi, base, r, x) for r, x in zip(runs, xs, strict=True))
    return Panel(kpi, base, format_value(kpi, base), bars)


def kpi_panels(cmp: Comparison) -> list[Panel]:
    """One panel per drawn KPI, one bar per variant (in the scenario's order)."""
    return [_panel(k, cmp, list(cmp.variants)) for k in CHART_KPIS]


def sweep_panels(cmp: Comparison, sweep: dict[str, Any]) -> list[Panel]:
    """One panel per drawn KPI, one point per value of the sweep."""
    by_name = {v["name"]: v for v in cmp.variants}
    members = [by_name[n] for n in sweep["variants"]]
    return [_panel(k, cmp, members, [m.get("value") for m in members]) for k in CHART_KPIS]


LEGEND: dict[Verdict, str] = {
    "better": N_("better"),
    "worse": N_("worse"),
    "unchanged": N_("no change"),
    "not solved": N_("not solved"),
}
"""The legend's word for each verdict."""


def _same(text: str) -> str:
    return text


def _said(bar: Bar, gettext: Callable[[str], str]) -> str:
    """The bar's label in the language of `gettext` (a change's figures as they are)."""
    if bar.verdict == "not solved":
        return gettext(N_("not solved: {status}")).format(status=gettext(bar.status))
    return gettext(bar.label)


def _legend(
    fig: Figure, verdicts: set[Verdict], points: bool = False, gettext: Callable[[str], str] = _same
) -> None:
    """A legend of exactly the marks drawn: bars (or points, on sweeps) better / worse,
    the diamond of no change, the hatched band (or cross) of not solved."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = []
    for v in ("better", "worse"):
        if v in verdicts:
            handles.append(
                Line2D([], [], marker="o", color=COLOURS[v], linestyle="", label=gettext(LEGEND[v]))
                if points
                else Patch(facecolor=COLOURS[v], label=gettext(LEGEND[v]))
            )
    if "unchanged" in verdicts:
        handles.append(
            Line2D(
                [],
                [],
                marker="o" if points else UNCHANGED_MARKER,
                color=COLOURS["unchanged"],
                linestyle="",
                label=gettext(LEGEND["unchanged"]),
            )
        )
    if "not solved" in verdicts:
        handles.append(
            Line2D(
                [],
                [],
                marker="X",
                color="#6b7280",
                linestyle="",
                label=gettext(LEGEND["not solved"]),
            )
            if points
            else Patch(
                facecolor=COLOURS["not solved"],
                edgecolor="#9ca3af",
                hatch=NOT_SOLVED_HATCH,
                label=gettext(LEGEND["not solved"]),
            )
        )
    if handles:
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=len(handles),
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )


def _grid(n_rows_per_panel: int, cols: int = 2) -> tuple[Figure, list[Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(CHART_KPIS) + cols - 1) // cols
    height = rows * (1.3 + 0.32 * max(n_rows_per_panel, 2)) + 1.2
    fig, axes = plt.subplots(rows, cols, figsize=(12.0, height), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[len(CHART_KPIS) :]:
        ax.set_visible(False)
    return fig, flat[: len(CHART_KPIS)]


def _layout(fig: Figure) -> None:
    """Tight panels between the title (top 0.6 inch) and the legend (bottom 0.5 inch)."""
    h = fig.get_figheight()
    fig.tight_layout(rect=(0, 0.5 / h, 1, 1 - 0.6 / h))


def _title(panel: Panel, gettext: Callable[[str], str]) -> str:
    base = gettext(N_("base: {value}")).format(value=panel.base_label)
    return f"{gettext(panel.kpi.label)}\n{base}"


def kpi_figure(cmp: Comparison, gettext: Callable[[str], str] = _same) -> Figure:
    """Horizontal bars of every variant's change against the base, one panel per KPI
    (its words through `gettext`: the pages')."""
    panels = kpi_panels(cmp)
    n = len(cmp.variants)
    fig, axes = _grid(n)
    drawn: set[Verdict] = set()
    for ax, panel in zip(axes, panels, strict=True):
        ys = list(range(n))[::-1]  # the scenario's first variant on top
        deltas = [b.delta or 0.0 for b in panel.bars]
        span = max((abs(d) for d in deltas), default=0.0) or 1.0
        for y, bar in zip(ys, panel.bars, strict=True):
            drawn.add(bar.verdict)
            if bar.verdict == "not solved":  # the whole row, whatever the scale
                ax.axhspan(
                    y - 0.35,
                    y + 0.35,
                    facecolor=COLOURS["not solved"],
                    hatch=NOT_SOLVED_HATCH,
                    edgecolor="#9ca3af",
                    linewidth=0,
                )
                ax.text(
                    0.5,
                    y,
                    _said(bar, gettext),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="#111827",
                    transform=ax.get_yaxis_transform(),
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
                )
                continue
            d = bar.delta or 0.0
            if d == 0:  # a visible mark: "no change" is a result, not a missing bar
                ax.plot(
                    [0],
                    [y],
                    marker=UNCHANGED_MARKER,
                    markersize=7,
                    color=COLOURS["unchanged"],
                    linestyle="",
                    zorder=3,
                )
            else:
                ax.barh(y, d, height=0.7, color=COLOURS[bar.verdict])
            pad = 0.04 * span
            ax.text(
                d + (pad if d >= 0 else -pad),
                y,
                _said(bar, gettext),
                ha="left" if d >= 0 else "right",
                va="center",
                fontsize=8,
            )
        ax.axvline(0, color="#111827", linewidth=0.9)
        ax.set_xlim(-1.45 * span, 1.45 * span)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_yticks(ys)
        ax.set_yticklabels([b.name for b in panel.bars], fontsize=8)
        ax.set_title(_title(panel, gettext), fontsize=10)
        ax.set_xlabel(gettext(panel.axis_label), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
    title = gettext(N_("{scenario}: each variant against the base (0 = base)"))
    fig.suptitle(title.format(scenario=cmp.scenario), fontsize=12)
    _legend(fig, drawn, gettext=gettext)
    _layout(fig)
    return fig


def sweep_figure(
    cmp: Comparison, sweep: dict[str, Any], gettext: Callable[[str], str] = _same
) -> Figure:
    """The change against the base along a sweep's values, one panel per KPI; points
    that could not be solved are drawn as crosses on the base line and labelled (its
    words through `gettext`: the pages')."""
    panels = sweep_panels(cmp, sweep)
    xs_raw = [b.x for b in panels[0].bars]
    numeric = all(_number(x) is not None for x in xs_raw)
    xs = [float(x) for x in xs_raw] if numeric else list(range(len(xs_raw)))
    fig, axes = _grid(4)
    drawn: set[Verdict] = set()
    for ax, panel in zip(axes, panels, strict=True):
        solved = [(x, b) for x, b in zip(xs, panel.bars, strict=True) if b.delta is not None]
        if solved:
            ax.plot(
                [x for x, _ in solved], [b.delta for _, b in solved], color="#374151", linewidth=1
            )
        for x, bar in zip(xs, panel.bars, strict=True):
            drawn.add(bar.verdict)
            if bar.verdict == "not solved":
                ax.plot([x], [0], marker="X", markersize=10, color="#6b7280", linestyle="")
                ax.annotate(
                    _said(bar, gettext),
                    (x, 0),
                    textcoords="offset points",
                    xytext=(0, 9),
                    ha="center",
                    fontsize=7,
                )
                continue
            ax.plot(
                [x],
                [bar.delta or 0.0],
                marker="o",
                markersize=7,
                color=COLOURS[bar.verdict],
                linestyle="",
            )
        ax.axhline(0, color="#111827", linewidth=0.9)
        ax.set_title(_title(panel, gettext), fontsize=10)
        ax.set_ylabel(gettext(panel.axis_label), fontsize=7)
        ax.set_xlabel(sweep.get("parameter") or sweep["name"], fontsize=8)
        if not numeric:
            ax.set_xticks(xs)
            ax.set_xticklabels([str(x) for x in xs_raw], fontsize=8)
        ax.grid(color="#e5e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
    title = gettext(N_("sweep {name}: change against the base (0 = base)"))
    fig.suptitle(title.format(name=sweep["name"]), fontsize=12)
    _legend(fig, drawn, points=True, gettext=gettext)
    _layout(fig)
    return fig


def figure_bytes(fig: Figure, fmt: Literal["png", "svg"]) -> bytes:
    """The figure as PNG or SVG (text kept as text in SVG: searchable, screen-readable),
    and closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "volmatch"}):
        fig.savefig(buf, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buf.getvalue()


def chart_svg(cmp: Comparison, sweep: str | None = None) -> str:
    """The KPI chart (or the named sweep's) as SVG text, for the web pages."""
    if sweep is None:
        return figure_bytes(kpi_figure(cmp), "svg").decode()
    match = [s for s in cmp.sweeps if s["name"] == sweep]
    if not match:
        raise KeyError(sweep)
    return figure_bytes(sweep_figure(cmp, match[0]), "svg").decode()


def write_charts(cmp: Comparison, out_dir: Path) -> list[Path]:
    """`kpis.png` (every variant against the base) and one `sweep-<name>.png` per sweep
    (the change along the swept values); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if cmp.variants:
        p = out_dir / "kpis.png"
        p.write_bytes(figure_bytes(kpi_figure(cmp), "png"))
        paths.append(p)
    for sweep in cmp.sweeps:
        p = out_dir / f"sweep-{sweep['name']}.png"
        p.write_bytes(figure_bytes(sweep_figure(cmp, sweep), "png"))
        paths.append(p)
    return paths
