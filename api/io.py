"""Reading round documents from files and writing results: the file formats of the CLI."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from volmatch.models import Result, Round, load_round


def read_round(path: str | Path, *, long_lived: bool = False) -> Round:
    """Load a round from a JSON or YAML file, an `.xlsx` workbook or a folder of CSV files
    (raises `models.InvalidRound`). `long_lived`: kept until the process exits (the
    command line), see `models.load_round`."""
    from volmatch.api.sheets import is_sheet_source, read_sheets

    if is_sheet_source(path):
        return read_sheets(path)
    return load_round(path, long_lived=long_lived)


def result_to_json(result: Result) -> str:
    """The result document as the contract shapes it (stats included, at the end)."""
    return result.model_dump_json(indent=2)


def write_result(r: Round, result: Result, out: Path | None) -> None:
    """Write a result where the user asked: JSON to a file or stdout, or a workbook to
    an `.xlsx` file."""
    if out is not None and out.suffix.lower() == ".xlsx":
        from volmatch.api.sheets import write_result_workbook

        write_result_workbook(r, result, out)
        return
    write_text(result_to_json(result), out)


def write_text(text: str, out: Path | None) -> None:
    """Write to a file, or to stdout where no file is given."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def write_json_lines(rows: Iterable[dict[str, Any]], stream: TextIO) -> int:
    """Write one compact JSON document per line; return the number of lines."""
    n = 0
    for row in rows:
        stream.write(json.dumps(row, separators=(",", ":")))
        stream.write("\n")
        n += 1
    return n
