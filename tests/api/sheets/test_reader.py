"""Reading rounds from workbooks and CSV folders: the empty template, blank rows, CSV
files and their errors, and a workbook saved by LibreOffice."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.api.sheets.helpers import LIBREOFFICE_FIXTURE, book
from volmatch.api.sheets import (
    PLACEMENTS,
    POLICY,
    PREVIOUS,
    VOLUNTEERS,
    read_csv_folder,
    read_workbook,
    read_workbook_bytes,
    round_workbook,
    round_workbook_bytes,
    template_workbook_bytes,
    write_round_workbook,
)
from volmatch.models import InvalidRound, Policy


def test_the_empty_template_reads_as_an_empty_round_with_the_default_policy() -> None:
    r = read_workbook_bytes(template_workbook_bytes())
    assert r.volunteers == () and r.placements == () and r.policy == Policy()


def test_blank_trailing_and_spacer_rows_are_ignored(fixture_round, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wb = round_workbook(fixture_round)
    ws = wb[VOLUNTEERS]
    ws.insert_rows(3)  # a spacer row between two volunteers
    for i in range(ws.max_row + 1, ws.max_row + 40):
        ws.cell(i, 1).value = "   "  # blank to the eye, and formatted rows below
        ws.cell(i, 2).number_format = "yyyy-mm-dd"
    path = tmp_path / "r.xlsx"
    wb.save(path)
    assert read_workbook(path) == fixture_round


def _write_csv_folder(r_bytes: bytes, folder: Path) -> None:
    import csv

    wb = book(r_bytes)
    for name in (VOLUNTEERS, PLACEMENTS, POLICY, PREVIOUS):
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for row in wb[name].iter_rows(values_only=True):
                w.writerow(
                    [
                        "" if v is None else f"{v:%Y-%m-%d}" if isinstance(v, dt.datetime) else v
                        for v in row
                    ]
                )


def test_a_folder_of_csv_files_reads_like_the_workbook(fixture_round, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write_csv_folder(round_workbook_bytes(fixture_round), tmp_path)
    (tmp_path / "notes.txt").write_text("not a sheet")
    assert read_csv_folder(tmp_path) == fixture_round


def test_csv_errors_name_file_row_and_column(fixture_round, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _write_csv_folder(round_workbook_bytes(fixture_round), tmp_path)
    path = tmp_path / "Placements.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("2027-03-01", "01/03/2027", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidRound) as info:
        read_csv_folder(tmp_path)
    texts = [str(e) for e in info.value.errors]
    assert any(
        t.startswith("Placements row 3 (P002): column ") and "'01/03/2027'" in t for t in texts
    ), texts


def _libreoffice() -> str | None:
    return shutil.which("libreoffice") or shutil.which("soffice")


def test_a_workbook_saved_by_libreoffice_reads_the_same(fixture_round, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The committed fixture was made by `libreoffice --headless --convert-to xlsx` from
    # round_workbook(sheets_round.json); CI machines without LibreOffice read it.
    assert read_workbook(LIBREOFFICE_FIXTURE) == fixture_round
    office = _libreoffice()
    if office is None:
        return
    ours = tmp_path / "ours.xlsx"
    write_round_workbook(fixture_round, ours)
    out = tmp_path / "lo"
    proc = subprocess.run(
        [
            office,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(ours),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    converted = out / "ours.xlsx"
    if proc.returncode != 0 or not converted.exists():
        pytest.fail(f"libreoffice failed: {proc.stderr.decode(errors='replace')}")
    assert read_workbook(converted) == fixture_round


def test_the_libreoffice_fixture_really_comes_from_libreoffice() -> None:
    with zipfile.ZipFile(LIBREOFFICE_FIXTURE) as z:
        app = z.read("docProps/app.xml").decode()
    assert "LibreOffice" in app
