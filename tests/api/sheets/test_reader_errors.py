"""Every kind of bad cell is reported with its sheet, Excel row and column letter, all at
once; nothing is silently skipped."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.api.sheets.helpers import ROUND_JSON
from volmatch.api.sheets import (
    PLACEMENTS,
    POLICY,
    PREVIOUS,
    VOLUNTEERS,
    read_sheets,
    read_workbook_bytes,
    round_workbook,
)
from volmatch.models import InvalidRound, load_round

Edit = Callable[[openpyxl.Workbook], None]


def _col(ws: Any, name: str) -> int:
    return [c.value for c in ws[1]].index(name) + 1


def _letter(ws: Any, name: str) -> str:
    return openpyxl.utils.get_column_letter(_col(ws, name))


def _set(sheet: str, row: int, column: str, value: Any, fmt: str | None = None) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[sheet]
        cell = ws.cell(row, _col(ws, column))
        cell.value = value
        if fmt is not None:
            cell.number_format = fmt

    return edit


def _policy(key: str, value: Any) -> Edit:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[POLICY]
        for row in ws.iter_rows(min_row=2):
            if row[0].value == key:
                row[1].value = value
                return
        ws.append([key, value])

    return edit


def _errors(*edits: Edit) -> list[str]:
    wb = round_workbook(load_round(ROUND_JSON), reference_sheets=False)
    for edit in edits:
        edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(InvalidRound) as info:
        read_workbook_bytes(buf.getvalue())
    return [str(e) for e in info.value.errors]


def _where(sheet: str, row: int, column: str) -> str:
    """The start of an error message for the cell of `column` in `row` of `sheet`."""
    wb = round_workbook(load_round(ROUND_JSON), reference_sheets=False)
    return f"{sheet} row {row}", f"column {_letter(wb[sheet], column)} ({column})"  # type: ignore[return-value]


CASES: list[tuple[str, Edit, str, int, str, str]] = [
    # id, edit, sheet, row, column, a piece of the message
    (
        "map entry without level",
        _set(VOLUNTEERS, 2, "languages", "en:B2; zh"),
        VOLUNTEERS,
        2,
        "languages",
        "'zh' has no value",
    ),
    (
        "map entry without key",
        _set(VOLUNTEERS, 3, "skills", ":3"),
        VOLUNTEERS,
        3,
        "skills",
        "has no key",
    ),
    (
        "map key twice",
        _set(PLACEMENTS, 2, "required_skills", "teaching:3; teaching:4"),
        PLACEMENTS,
        2,
        "required_skills",
        "'teaching' is given twice",
    ),
    (
        "bad JSON map",
        _set(VOLUNTEERS, 2, "skills", "{teaching: 3"),
        VOLUNTEERS,
        2,
        "skills",
        "not valid JSON",
    ),
    (
        "bad JSON object",
        _set(PLACEMENTS, 2, "needs_assessment", "beneficiaries 240"),
        PLACEMENTS,
        2,
        "needs_assessment",
        "expected a JSON object",
    ),
    (
        "date as free text",
        _set(VOLUNTEERS, 3, "available_from", "next week"),
        VOLUNTEERS,
        3,
        "available_from",
        "expected a date",
    ),
    (
        "date as a plain number",
        _set(VOLUNTEERS, 2, "birth_date", 37000, "General"),
        VOLUNTEERS,
        2,
        "birth_date",
        "format the cell as a date",
    ),
    (
        "date not in the calendar",
        _set(PLACEMENTS, 3, "start_earliest", "2027-02-30"),
        PLACEMENTS,
        3,
        "start_earliest",
        "not a real day",
    ),
    (
        "date with a time",
        _set(PLACEMENTS, 4, "start_latest", dt.datetime(2027, 5, 1, 13, 30)),
        PLACEMENTS,
        4,
        "start_latest",
        "without a time of day",
    ),
    (
        "text in a number column",
        _set(PLACEMENTS, 2, "slots", "two"),
        PLACEMENTS,
        2,
        "slots",
        "valid integer",
    ),
    (
        "fraction in a whole-number column",
        _set(PLACEMENTS, 2, "priority", 2.5),
        PLACEMENTS,
        2,
        "priority",
        "fractional",
    ),
    (
        "out of range",
        _set(PLACEMENTS, 3, "priority", 9),
        PLACEMENTS,
        3,
        "priority",
        "less than or equal to 5",
    ),
    (
        "date in a text column",
        _set(VOLUNTEERS, 4, "group", dt.date(2027, 1, 1)),
        VOLUNTEERS,
        4,
        "group",
        "expected text, got the date",
    ),
    (
        "bad country code",
        _set(VOLUNTEERS, 3, "nationality", "ke"),
        VOLUNTEERS,
        3,
        "nationality",
        "(codes are upper case)",
    ),
    (
        "bad language key",
        _set(VOLUNTEERS, 4, "languages", "xx:B2"),
        VOLUNTEERS,
        4,
        "languages",
        "'xx' is not an ISO 639-1",
    ),
    (
        "bad CEFR level",
        _set(VOLUNTEERS, 4, "languages", "en:B7"),
        VOLUNTEERS,
        4,
        "languages",
        "en:",
    ),
    (
        "blank required cell",
        _set(VOLUNTEERS, 2, "nationality", None),
        VOLUNTEERS,
        2,
        "nationality",
        "required value is missing",
    ),
    (
        "unknown reference",
        _set(VOLUNTEERS, 2, "preferences", "P002; P404"),
        VOLUNTEERS,
        2,
        "preferences",
        "item 2: unknown placement id 'P404'",
    ),
    (
        "inverted window",
        _set(VOLUNTEERS, 2, "available_until", dt.date(2026, 1, 1)),
        VOLUNTEERS,
        2,
        "available_until",
        "is before available_from",
    ),
    (
        "error value in a cell",
        _set(VOLUNTEERS, 3, "name", "#N/A"),
        VOLUNTEERS,
        3,
        "name",
        "shows the error #N/A",
    ),
    (
        "formula never computed",
        _set(VOLUNTEERS, 3, "name", "=A1&A2"),
        VOLUNTEERS,
        3,
        "name",
        "formula without a saved result",
    ),
    (
        "previous: unknown volunteer",
        _set(PREVIOUS, 2, "volunteer", "V999"),
        PREVIOUS,
        2,
        "volunteer",
        "unknown volunteer id 'V999'",
    ),
    (
        "previous: bad breakdown",
        _set(PREVIOUS, 2, "breakdown", "skills:lots"),
        PREVIOUS,
        2,
        "breakdown",
        "skills:",
    ),
    ("policy: bad choice", _policy("mode", "best"), POLICY, 2, "mode", "'optimal' or 'stable'"),
    (
        "policy: bad boolean",
        _policy("international_only", "maybe"),
        POLICY,
        5,
        "international_only",
        "expected TRUE or FALSE",
    ),
    (
        "policy: bad pair",
        _policy("locked", "V001>P001; V002"),
        POLICY,
        6,
        "locked",
        "is not a pair",
    ),
    (
        "policy: unknown pair id",
        _policy("forbidden", "V001>P009"),
        POLICY,
        7,
        "forbidden",
        "item 1 placement: unknown placement id 'P009'",
    ),
    (
        "policy: nested weight",
        _policy("weights.skills", -4),
        POLICY,
        9,
        "weights.skills",
        "greater than or equal to 0",
    ),
]


@pytest.mark.parametrize(
    ("edit", "sheet", "row", "column", "text"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_a_bad_cell_is_reported_with_sheet_row_and_column(
    edit: Edit, sheet: str, row: int, column: str, text: str
) -> None:
    errors = _errors(edit)
    if sheet == POLICY:
        wb = round_workbook(load_round(ROUND_JSON), reference_sheets=False)
        keys = [r[0] for r in wb[POLICY].iter_rows(min_row=2, values_only=True)]
        row = keys.index(column) + 2 if column in keys else row
        head = (f"{POLICY} row {row}", f"column B ({column})")
    else:
        head = _where(sheet, row, column)
    matching = [e for e in errors if e.startswith(f"{head[0]}") and head[1] in e and text in e]
    assert matching, errors
    assert len(errors) == 1, errors


def test_all_errors_come_at_once_in_reading_order() -> None:
    chosen = [c for c in CASES if c[2] in (VOLUNTEERS, PLACEMENTS) and c[3] > 2]
    errors = _errors(*(c[1] for c in chosen))
    cells = {(c[2], c[3], c[4]) for c in chosen}  # later edits of one cell replace earlier
    assert len(errors) == len(cells), errors
    for sheet, row, column in cells:
        head, col = _where(sheet, row, column)
        assert any(e.startswith(head) and col in e for e in errors), (sheet, row, column)
    sheets = [e.split(" ")[0] for e in errors]
    assert sheets == sorted(sheets, key=[VOLUNTEERS, PLACEMENTS].index)


def test_unknown_and_duplicate_columns_are_errors_with_a_hint() -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[VOLUNTEERS]
        ws.cell(1, ws.max_column + 1).value = "nationalty"
        ws.cell(1, ws.max_column + 1).value = "gender"
        ws.cell(2, ws.max_column + 3).value = "stray note"

    errors = _errors(edit)
    assert any(
        "row 1: column " in e and "(nationalty): unknown column (did you mean 'nationality'?)" in e
        for e in errors
    ), errors
    assert any("(gender): column 'gender' appears twice" in e for e in errors), errors
    assert any(
        "(no header): a value ('stray note') in a column without a name" in e for e in errors
    ), errors


def test_a_missing_required_column_is_one_error_not_one_per_row() -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb[VOLUNTEERS]
        ws.delete_cols(_col(ws, "nationality"))

    errors = _errors(edit)
    assert errors == [
        "Volunteers: required column 'nationality' is missing (row 1 names the columns)"
    ]


def test_unknown_sheets_and_missing_sheets_are_errors() -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        wb[PLACEMENTS].title = "Placement"
        wb.create_sheet("_my notes").append(["anything", "=1+1"])

    errors = _errors(edit)
    assert any(
        e.startswith("Placement: unknown sheet (did you mean 'Placements'?)") for e in errors
    ), errors
    assert any("required sheet 'Placements' is missing" in e for e in errors), errors
    assert not any("_my notes" in e for e in errors)


def test_duplicate_ids_name_every_row() -> None:
    errors = _errors(_set(VOLUNTEERS, 3, "id", "V001"))
    assert any(
        e.startswith("Volunteers rows 2, 3 (V001): column A (id): duplicate id") for e in errors
    ), errors


def test_unknown_policy_key_is_an_error_with_a_hint() -> None:
    errors = _errors(_policy("weights.skils", 3))
    assert any(
        "unknown policy key 'weights.skils' (did you mean 'weights.skills'?)" in e for e in errors
    ), errors


def test_a_file_that_is_not_a_workbook_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "round.xlsx"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(InvalidRound) as info:
        read_sheets(bad)
    assert "cannot read it as an .xlsx workbook" in str(info.value.errors[0])
    with pytest.raises(InvalidRound) as info:
        read_workbook_bytes(b"PK\x03\x04 broken")
    assert "uploaded workbook" in str(info.value.errors[0])
    old = tmp_path / "round.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InvalidRound) as info:
        read_sheets(old)
    assert "save it as .xlsx first" in str(info.value.errors[0])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('{"teaching": ' + "9" * 5000 + "}", "more than 4300 digits"),
        ('{"a": ' * 3000 + "1" + "}" * 3000, "cannot be read"),
    ],
    ids=["huge-number", "deep"],
)
def test_a_json_cell_too_large_to_read_is_a_cell_error(value: str, text: str) -> None:
    """json.loads raised ValueError (a number of 5,000 digits) or RecursionError, which
    escaped the reader: `volmatch validate` exited 1, an uploaded workbook was a 500."""
    [error] = _errors(_set("Volunteers", 2, "skills", value))
    assert error.startswith("Volunteers row 2") and "(skills)" in error and text in error


def test_a_long_bad_cell_is_quoted_shortened() -> None:
    """The whole cell text (up to Excel's 32,767 characters) was quoted in the error."""
    [error] = _errors(_set("Volunteers", 2, "skills", "teaching" * 4000))
    assert "'teachingteaching" in error and "...'" in error and len(error) < 300
