"""`volmatch whatif`'s tables in an 80-column terminal: nothing cut, every number whole."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from volmatch.api.cli.whatif_tables import LEGEND, print_comparison
from volmatch.scenarios.compare import MOVE_KINDS, build_comparison, failed

LONG = "teachers-stay-longer-and-learn-french"


def _run(name: str, **kpis: float) -> dict[str, Any]:
    full: dict[str, Any] = {
        "objective": 12_345_678,
        "volunteers_matched": 9_870,
        "fill_rate": 0.9661,
        "urgent_fill_rate": 0.9388,
        "mean_score": 1006.53,
        "mean_preference_rank": 1.783,
        "eligible_pairs": 1_234_567,
    }
    full.update(kpis)
    return {
        "name": name,
        "status": "optimal",
        "errors": [],
        "kpis": full,
        "moves_count": dict.fromkeys(MOVE_KINDS, 12345),
        "moves": [
            {
                "volunteer": "V00001",
                "kind": "moved",
                "base": "P0001",
                "variant": "P0002",
                "reasons": [
                    "now at P0002 (score 900), was at P0001 (score 950)",
                    "P0001 is full: " * 8,
                ],
            }
        ],
        "open_slots": {"NP": {"5": 3, "1": 20}},
    }


def _comparison() -> Any:
    variants = [
        _run(LONG, objective=11_111_111, fill_rate=0.9665, mean_preference_rank=1.5),
        _run("priority-weight=1000", objective=19_345_678, eligible_pairs=1_000_000),
        failed(
            "overlocked-by-two-locks",
            "infeasible",
            [
                "locked: locked pair V001->P002 breaks the hard rule(s) security: P002 needs "
                "security clearance 1, has 0; and a long tail so that the line must wrap"
            ],
        ),
    ]
    return build_comparison("A scenario with a rather long name", "", _run("base"), variants, [])


def _render(width: int = 80) -> str:
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    print_comparison(console, _comparison(), top=5)
    return console.export_text()


def test_tables_fit_80_columns_and_cut_nothing() -> None:
    text = _render()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    # every number whole: values, changes (a tiny one still non-zero), counts
    for s in (
        "12345678",
        "11111111",
        "-1234567",
        "+7000000",
        "1234567",
        "-234567",
        "96.6",
        "+0.04",
        "1006.5",
        "1.78",
        "-0.28",
        "12345",
    ):
        assert s in text, s
    # names fold rather than vanish; the status of what was not solved is shown
    squashed = "".join(text.split())
    assert LONG in squashed and "priority-weight=1000" in squashed
    assert "(infeasible)" in text and "securityclearance1,has0" in squashed


def test_the_legend_explains_every_short_header() -> None:
    text = _render()
    for header in ("total", "placed", "fill%", "urg%", "score", "rank", "pairs"):
        assert f"{header}:" in LEGEND
        assert header in text


def test_narrower_terminals_still_cut_no_number() -> None:
    text = _render(width=72)
    assert "…" not in text and "12345678" in text and "+7000000" in text
