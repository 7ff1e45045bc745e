"""The what-if charts: every variant's change against the base, unsolved variants drawn
and labelled, a legend of only what is drawn; one PNG of the KPIs and one per sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.colors import to_hex

from volmatch.scenarios.charts import (
    CHART_KPIS,
    COLOURS,
    change,
    chart_svg,
    format_change,
    kpi_figure,
    kpi_panels,
    sweep_figure,
    sweep_panels,
    write_charts,
)
from volmatch.scenarios.compare import build_comparison, failed

KPIS = {k.key: k for k in CHART_KPIS}


def _run(name: str, value: Any = None, **kpis: float) -> dict[str, Any]:
    full = {
        "objective": 1000,
        "volunteers_matched": 100,
        "fill_rate": 0.9,
        "urgent_fill_rate": 0.8,
        "mean_score": 10.0,
        "mean_preference_rank": 2.0,
    }
    full.update(kpis)
    run = {
        "name": name,
        "status": "optimal",
        "errors": [],
        "kpis": full,
        "moves": [],
        "moves_count": {},
        "open_slots": {},
    }
    if value is not None:
        run["value"] = value
    return run


def _synthetic(with_failure: bool) -> Any:
    variants = [
        _run("more", objective=1010, volunteers_matched=103, fill_rate=0.95),
        _run("same"),
        _run("fewer", mean_preference_rank=2.5, urgent_fill_rate=0.7),
    ]
    sweeps = [{"name": "w", "parameter": "policy.weights.priority", "variants": []}]
    points = [_run("w=0", 0, objective=900), _run("w=1", 1), _run("w=2", 2, objective=1100)]
    if with_failure:
        variants.append(failed("locked-out", "infeasible", ["two locks on P1"]))
        bad = failed("w=3", "invalid", ["priority 6"])
        bad["value"] = 3
        points.append(bad)
    sweeps[0]["variants"] = [p["name"] for p in points]
    return build_comparison("synthetic", "", _run("base"), variants + points, sweeps)


def test_changes_are_in_the_kpis_unit() -> None:
    assert change(KPIS["objective"], 1000, 1010) == pytest.approx(1.0)  # %
    assert change(KPIS["fill_rate"], 0.9, 0.95) == pytest.approx(5.0)  # percentage points
    assert change(KPIS["volunteers_matched"], 100, 103) == 3  # people
    assert change(KPIS["objective"], 0, 5) is None  # no % of nothing
    assert change(KPIS["objective"], 1000, None) is None
    assert format_change(KPIS["objective"], 1.0) == "+1.00%"
    assert format_change(KPIS["fill_rate"], -0.04) == "-<0.1 pp"
    assert format_change(KPIS["volunteers_matched"], 0) == "no change"


def test_panels_hold_each_variants_change_against_the_base(comparison: Any) -> None:
    base = comparison.base["kpis"]
    for panel in kpi_panels(comparison):
        key = panel.kpi.key
        assert panel.base == base[key]
        assert [b.name for b in panel.bars] == [v["name"] for v in comparison.variants]
        for bar, v in zip(panel.bars, comparison.variants, strict=True):
            if not v["kpis"]:
                assert bar.verdict == "not solved" and bar.delta is None
                assert bar.label == f"not solved: {v['status']}"
                continue
            d = v["kpis"][key] - base[key]  # the comparison's own delta, recomputed here
            expected = {"percent": 100 * d / base[key], "points": 100 * d, "units": d}
            assert bar.delta == pytest.approx(expected[panel.kpi.unit])
            if d == 0:
                assert bar.verdict == "unchanged" and bar.label == "no change"
            else:
                better = (d > 0) == panel.kpi.higher_is_better
                assert bar.verdict == ("better" if better else "worse")


def test_lower_preference_rank_is_better() -> None:
    cmp = _synthetic(with_failure=False)
    rank = next(p for p in kpi_panels(cmp) if p.kpi.key == "mean_preference_rank")
    fewer = next(b for b in rank.bars if b.name == "fewer")
    assert fewer.delta == pytest.approx(0.5) and fewer.verdict == "worse"


def _legend_labels(fig: Any) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def _bar_colours(fig: Any) -> set[str]:
    out: set[str] = set()
    for ax in fig.axes:
        out |= {to_hex(p.get_facecolor()) for p in ax.patches}
        out |= {
            to_hex(line.get_color())
            for line in ax.lines
            if line.get_marker() not in (None, "None", "")
        }
    return out


@pytest.mark.parametrize("with_failure", [False, True])
def test_the_legend_lists_only_what_is_drawn(with_failure: bool) -> None:
    import matplotlib.pyplot as plt

    cmp = _synthetic(with_failure)
    fig = kpi_figure(cmp)
    labels = _legend_labels(fig)
    drawn = _bar_colours(fig)
    colour_of = {
        "better": COLOURS["better"],
        "worse": COLOURS["worse"],
        "no change": COLOURS["unchanged"],
        "not solved": COLOURS["not solved"],
    }
    for label in labels:
        assert colour_of[label] in drawn, label
    assert ("not solved" in labels) == with_failure
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    # the unsolved variant is labelled on every panel, not left blank
    assert texts.count("not solved: infeasible") == (len(CHART_KPIS) if with_failure else 0)
    assert "+1.00%" in texts and "+5.0 pp" in texts and "+3" in texts
    plt.close(fig)


def test_unsolved_sweep_points_are_drawn_as_labelled_crosses() -> None:
    import matplotlib.pyplot as plt

    cmp = _synthetic(with_failure=True)
    sweep = cmp.sweeps[0]
    panels = sweep_panels(cmp, sweep)
    obj = next(p for p in panels if p.kpi.key == "objective")
    assert [b.x for b in obj.bars] == [0, 1, 2, 3]
    assert [b.delta for b in obj.bars] == [pytest.approx(-10.0), 0.0, pytest.approx(10.0), None]
    fig = sweep_figure(cmp, sweep)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("not solved: invalid") == len(CHART_KPIS)
    crosses = [ln for ax in fig.axes for ln in ax.lines if ln.get_marker() == "X"]
    assert len(crosses) == len(CHART_KPIS)
    assert "not solved" in _legend_labels(fig)
    plt.close(fig)


def test_charts_are_written(comparison: Any, tmp_path: Path) -> None:
    paths = write_charts(comparison, tmp_path)
    assert [p.name for p in paths] == ["kpis.png", "sweep-urgency.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_svg_keeps_text_as_text() -> None:
    svg = chart_svg(_synthetic(with_failure=True))
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "not solved: infeasible" in svg and "+1.00%" in svg
    assert "not solved: invalid" in chart_svg(_synthetic(with_failure=True), sweep="w")
    with pytest.raises(KeyError):
        chart_svg(_synthetic(with_failure=False), sweep="nope")


@given(st.sampled_from(CHART_KPIS), st.floats(0.001, 1e7), st.floats(0, 1e7))
def test_a_change_is_never_shown_as_none_or_the_wrong_way(
    kpi: Any, base: float, value: float
) -> None:
    d = change(kpi, base, value)
    assert d is not None
    text = format_change(kpi, d)
    if value == base:
        assert text == "no change"
    else:
        assert text != "no change" and text[0] == ("+" if value > base else "-")
    if kpi.unit == "percent":
        assert base * (1 + d / 100) == pytest.approx(value, rel=1e-9, abs=1e-9)
