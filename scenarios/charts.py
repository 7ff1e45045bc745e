"""PNG charts of a comparison (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from volmatch.scenarios.compare import Comparison

CHART_KPIS: tuple[str, ...] = (
    "objective",
    "volunteers_matched",
    "fill_rate",
    "urgent_fill_rate",
    "mean_score",
    "mean_preference_rank",
)
"""The KPIs drawn: one panel each."""


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def write_charts(cmp: Comparison, out_dir: Path) -> list[Path]:
    """`kpis.png` (every round side by side, base highlighted) and one
    `sweep-<name>.png` per sweep (KPIs against the swept value); returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rounds = [cmp.base, *cmp.variants]
    names = [r["name"] for r in rounds]
    cols = 2
    rows = (len(CHART_KPIS) + cols - 1) // cols
    width = max(10.0, 0.35 * len(rounds) * cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width, 3.2 * rows), squeeze=False)
    for ax, kpi in zip(axes.flat, CHART_KPIS, strict=False):
        values = [_number(r["kpis"].get(kpi)) for r in rounds]
        heights = [v if v is not None else 0.0 for v in values]
        colors = ["#1f4e79" if i == 0 else ("#c0504d" if v is None else "#7fa7d6")
                  for i, v in enumerate(values)]
        ax.bar(range(len(rounds)), heights, color=colors)
        base = values[0]
        if base is not None:
            ax.axhline(base, color="#1f4e79", linewidth=0.8, linestyle="--")
        ax.set_title(kpi)
        ax.set_xticks(range(len(rounds)))
        ax.set_xticklabels(names, rotation=90 if len(rounds) > 6 else 30, fontsize=7,
                           ha="center" if len(rounds) > 6 else "right")
    for ax in list(axes.flat)[len(CHART_KPIS):]:
        ax.set_visible(False)
    fig.suptitle(f"{cmp.scenario}: KPIs per round (dashed: base; red: not solved)")
    fig.tight_layout()
    p = out_dir / "kpis.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)

    by_name = {v["name"]: v for v in cmp.variants}
    for sweep in cmp.sweeps:
        members = [by_name[n] for n in sweep["variants"]]
        xs_raw = [m["value"] for m in members]
        numeric = all(_number(x) is not None for x in xs_raw)
        xs = [float(x) for x in xs_raw] if numeric else list(range(len(xs_raw)))
        fig, axes = plt.subplots(rows, cols, figsize=(10, 3.2 * rows), squeeze=False)
        for ax, kpi in zip(axes.flat, CHART_KPIS, strict=False):
            pts = [(x, _number(m["kpis"].get(kpi))) for x, m in zip(xs, members, strict=True)]
            good = [(x, y) for x, y in pts if y is not None]
            if good:
                ax.plot([x for x, _ in good], [y for _, y in good], marker="o")
            base = _number(cmp.base["kpis"].get(kpi))
            if base is not None:
                ax.axhline(base, color="#1f4e79", linewidth=0.8, linestyle="--")
            ax.set_title(kpi)
            if not numeric:
                ax.set_xticks(xs)
                ax.set_xticklabels([str(x) for x in xs_raw], fontsize=8)
            ax.set_xlabel(sweep["parameter"] or sweep["name"])
        for ax in list(axes.flat)[len(CHART_KPIS):]:
            ax.set_visible(False)
        fig.suptitle(f"sweep {sweep['name']} (dashed: base)")
        fig.tight_layout()
        p = out_dir / f"sweep-{sweep['name']}.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    return paths
