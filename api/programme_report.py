"""Files of the programme report (`volmatch report`): the programme file read, the
report written as JSON, a workbook and PNG charts.

The programme file (JSON or YAML, `models.lifecycle.Programme`) names each round's
document by a path relative to itself and lists the offers' events and the outcomes;
`docs/lifecycle.md` shows one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from volmatch.models import ErrorItem, Placement
from volmatch.models.lifecycle import InvalidHistory, Programme

CHART_GROUPS = ("round", "country", "host", "sector")
"""The groups drawn as bar charts (waves and SDG targets stay in the tables)."""
CHART_COUNTS = ("offered", "accepted", "deployed", "completed")
"""The counts drawn side by side for each key of a group."""


def read_programme(path: Path) -> tuple[Programme, dict[str, tuple[Placement, ...]]]:
    """The programme file and the placements of each round it names; raises
    `InvalidHistory` (every field error, naming record and field) or `InvalidRound`."""
    from pydantic import ValidationError

    from volmatch.api.io import read_round
    from volmatch.models.load import UnreadableDocument, read_document

    try:
        raw = read_document(path)
    except FileNotFoundError:
        raise InvalidHistory([ErrorItem("file", str(path), "", "no such file")]) from None
    except OSError as exc:
        raise InvalidHistory([ErrorItem("file", str(path), "", str(exc.strerror))]) from None
    except UnreadableDocument as exc:
        raise InvalidHistory([ErrorItem("file", str(path), "", str(exc))]) from None
    try:
        prog = Programme.model_validate(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = [str(x) for x in err["loc"]]
            section = loc[0] if loc else "programme"
            record = f"{section}[{loc[1]}]" if len(loc) > 1 and section != "rounds" else section
            errors.append(ErrorItem(section, record, ".".join(loc[2:]), err["msg"]))
        raise InvalidHistory(errors) from None
    rounds = {rid: read_round(path.parent / rel).placements for rid, rel in prog.rounds.items()}
    return prog, rounds


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """`report.json`, `report.xlsx` and one PNG chart per group of `CHART_GROUPS` plus
    `reasons.png`; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / "report.json"
    js.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [js, write_workbook(report, out_dir / "report.xlsx"), *write_charts(report, out_dir)]


_COLUMNS = (
    "slots",
    "offered",
    "filled",
    "accepted",
    "deployed",
    "completed",
    "declined",
    "expired",
    "ended_early",
    "decline_rate",
    "early_return_rate",
)


def write_workbook(report: dict[str, Any], path: Path) -> Path:
    """One sheet per group (a row per key), a `totals` sheet and a `reasons` sheet."""
    from openpyxl import Workbook

    from volmatch.api.sheets.cells import _finish, put
    from volmatch.matching.lifecycle.report import GROUPS

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "totals"
    rows = [("figure", "value")]
    rows += [(k, v) for k, v in report["totals"].items() if not isinstance(v, dict) or v is None]
    rows += [
        (f"days_to_accept_{k}", v) for k, v in (report["totals"]["days_to_accept"] or {}).items()
    ]
    rows += [(f"urgent_{k}", v) for k, v in report["urgent"].items()]
    rows += [(f"outcomes_{k}", v) for k, v in report["outcomes"].items()]
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row, start=1):
            put(ws, i, j, v)
    _finish(ws, 2)
    for group in GROUPS:
        ws = wb.create_sheet(group)
        head = (group, *_COLUMNS, "days_to_accept_median")
        for j, h in enumerate(head, start=1):
            put(ws, 1, j, h)
        for i, (key, g) in enumerate(report[group].items(), start=2):
            put(ws, i, 1, key)
            for j, col in enumerate(_COLUMNS, start=2):
                put(ws, i, j, g[col])
            put(ws, i, len(head), (g["days_to_accept"] or {}).get("median"))
        _finish(ws, len(head))
    ws = wb.create_sheet("reasons")
    for j, h in enumerate(("kind", "reason", "count"), start=1):
        put(ws, 1, j, h)
    i = 2
    for kind in ("decline_reasons", "early_return_reasons"):
        for reason, n in report["totals"][kind].items():
            for j, v in enumerate((kind, reason, n), start=1):
                put(ws, i, j, v)
            i += 1
    _finish(ws, 3)
    wb.save(path)
    return path


def write_charts(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """`<group>.png` (offered / accepted / deployed / completed per key) for each group
    of `CHART_GROUPS`, and `reasons.png` (declines and early returns by reason)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    paths: list[Path] = []
    for group in CHART_GROUPS:
        keys = list(report[group])
        fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(keys) + 2), 4))
        x = np.arange(len(keys))
        width = 0.8 / len(CHART_COUNTS)
        for k, name in enumerate(CHART_COUNTS):
            ax.bar(x + k * width, [report[group][key][name] for key in keys], width, label=name)
        ax.set_xticks(x + 0.4 - width / 2, keys, rotation=45, ha="right")
        ax.set_title(f"Offers by {group}")
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"{group}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind, title in zip(
        axes,
        ("decline_reasons", "early_return_reasons"),
        ("Declines", "Early returns"),
        strict=True,
    ):
        counts = report["totals"][kind]
        ax.barh(list(counts) or ["none"], list(counts.values()) or [0])
        ax.set_title(f"{title} by reason")
    fig.tight_layout()
    path = out_dir / "reasons.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
    return paths
