"""Reading a round from a workbook or a folder of CSV files: every error at once,
named by sheet, Excel row and column."""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from volmatch.api.sheets.cells import (
    _MISSING_MSG,
    PLACEMENTS,
    POLICY,
    POLICY_COLUMNS,
    PREVIOUS,
    RECORD_SHEETS,
    REFERENCE_SHEETS,
    REQUIRED_SHEETS,
    VOLUNTEERS,
    CellError,
    Kind,
    _as_text,
    _blank,
    _describe,
    _Fault,
    _field_kinds,
    _loose_scalar,
    column_letter,
    kind_of,
    read_cell,
)
from volmatch.models import (
    ErrorItem,
    InvalidRound,
    Placement,
    Policy,
    Round,
    parse_round,
)
from volmatch.models.decode import UndecodableText
from volmatch.models.load import read_text_file

# --------------------------------------------------------------------------- tables


@dataclass
class Table:
    """One sheet (or CSV file) as rows of cell values; `rows[0]` is Excel row 1."""

    name: str
    rows: list[list[Any]]


def _source_label(source: Any) -> str:
    return str(source) if isinstance(source, str | Path) else "uploaded workbook"


_FORMULA = object()


def _ignored_sheet(name: str) -> bool:
    return name.strip().lower() in (s.lower() for s in REFERENCE_SHEETS) or name.startswith("_")


MAX_UNPACKED_BYTES = 2_000_000_000
"""What the parts of a workbook may unpack to: ~10x the largest round's workbook, far
below what a "zip bomb" (a few kB that unpack to gigabytes) claims."""


def _check_unpacked_size(source: str | Path | bytes, label: str) -> None:
    """Refuse a workbook whose parts claim to unpack beyond MAX_UNPACKED_BYTES (the
    zip reader itself stops at the claimed size, so the claim is what counts)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as z:
            unpacked = sum(info.file_size for info in z.infolist())
    except Exception:  # not a zip at all: openpyxl says so in its own words
        return
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidRound(
            [
                ErrorItem(
                    "workbook",
                    label,
                    "",
                    f"its parts unpack to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}: "
                    "not a round workbook",
                )
            ]
        )


def _unreadable(source: str | Path | bytes, exc: BaseException) -> InvalidRound:
    hint = ""
    if isinstance(source, str | Path) and Path(source).suffix.lower() == ".xls":
        hint = " (an old .xls file: save it as .xlsx first)"
    text = str(exc) or type(exc).__name__
    return InvalidRound(
        [
            ErrorItem(
                "workbook",
                _source_label(source),
                "",
                f"cannot read it as an .xlsx workbook{hint}: {text[:200]}",
            )
        ]
    )


def load_xlsx_tables(source: str | Path | bytes) -> dict[str, Table]:
    """Every worksheet of a workbook as a `Table` of values.

    A formula cell gives the value the spreadsheet program last computed and saved; a
    formula never computed (a file written by a program) is reported, not read as blank.
    Any file that is not a readable workbook (truncated, another format, a corrupt part)
    is an `InvalidRound` naming the file.
    """
    _check_unpacked_size(source, _source_label(source))
    try:
        return _load_xlsx_tables(source)
    except InvalidRound:
        raise
    except (MemoryError, RecursionError):
        raise
    except Exception as exc:
        # openpyxl reads a damaged file with whatever its zip, XML and cell readers raise
        # (BadZipFile, zlib.error, EOFError, ParseError, KeyError, ValueError ...): each
        # means the same to the person who sent it.
        raise _unreadable(source, exc) from None


def _load_xlsx_tables(source: str | Path | bytes) -> dict[str, Table]:
    import openpyxl

    def open_book(data_only: bool) -> Any:
        src = io.BytesIO(source) if isinstance(source, bytes) else source
        return openpyxl.load_workbook(src, read_only=True, data_only=data_only)

    wb = open_book(False)
    tables: dict[str, Table] = {}
    cached: Any = None
    try:
        for ws in wb.worksheets:
            if _ignored_sheet(ws.title):
                tables[ws.title] = Table(ws.title, [])
                continue
            rows: list[list[Any]] = []
            has_formula = False
            for row in ws.iter_rows():
                values: list[Any] = []
                for cell in row:
                    if cell.data_type == "f":
                        has_formula = True
                        values.append(_FORMULA)
                    elif cell.data_type == "e":
                        values.append(_Fault(f"the cell shows the error {cell.value}"))
                    else:
                        values.append(cell.value)
                rows.append(values)
            if has_formula:
                if cached is None:
                    cached = open_book(True)
                saved = [list(r) for r in cached[ws.title].iter_rows(values_only=True)]
                for i, values in enumerate(rows):
                    for j, v in enumerate(values):
                        if v is _FORMULA:
                            got = saved[i][j] if i < len(saved) and j < len(saved[i]) else None
                            values[j] = (
                                got
                                if got is not None
                                else _Fault(
                                    "a formula without a saved result: open and save the file in "
                                    "Excel or LibreOffice, or type the value"
                                )
                            )
            tables[ws.title] = Table(ws.title, rows)
    finally:
        wb.close()
        if cached is not None:
            cached.close()
    return tables


CSV_DELIMITERS = ",;\t"
"""Separators spreadsheet programs save CSV with: `;` where the decimal mark is a comma
(most of Europe), a tab in "Unicode text"."""


def _csv_delimiter(text: str) -> str:
    """The file's separator: the one of CSV_DELIMITERS its header row holds most of
    (a comma on a tie: field names hold none of them)."""
    header = text.split("\n", 1)[0]
    return max(CSV_DELIMITERS, key=lambda d: (header.count(d), d == ","))


def _read_csv(path: Path) -> list[list[Any]]:
    """The rows of one CSV file, in any encoding `decode_text` reads."""
    text = read_text_file(path)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=_csv_delimiter(text))
    return [list(r) for r in rows]


def load_csv_tables(folder: str | Path) -> dict[str, Table]:
    """Every `*.csv` file of a folder as a `Table` named after the file (`Volunteers.csv`):
    UTF-8 (with or without a byte-order mark), UTF-16 or Windows-1252, separated by
    commas, semicolons or tabs."""
    tables: dict[str, Table] = {}
    errors: list[ErrorItem] = []
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() == ".csv")
    if not paths:
        raise InvalidRound(
            [
                ErrorItem(
                    "folder",
                    str(folder),
                    "",
                    "no .csv files in it: a round folder holds Volunteers.csv and Placements.csv "
                    "(and Policy.csv, Previous.csv)",
                )
            ]
        )
    for path in paths:
        if path.is_dir():
            errors.append(ErrorItem(path.stem, path.name, "", "a folder, not a CSV file"))
            continue
        try:
            rows = _read_csv(path)
        except (OSError, UndecodableText, csv.Error) as exc:
            errors.append(ErrorItem(path.stem, path.name, "", f"cannot read the file: {exc}"))
            continue
        tables[path.stem] = Table(path.stem, rows)
    if errors:
        raise InvalidRound(errors)
    return tables


# --------------------------------------------------------------------------- reading


@dataclass
class _Located:
    """Where the records of one section sit, to point errors at their cells."""

    sheet: str
    columns: dict[str, int] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)
    ids: dict[str, list[int]] = field(default_factory=dict)
    faulty: set[tuple[int, str]] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)


@dataclass
class _Reader:
    errors: list[ErrorItem] = field(default_factory=list)
    located: dict[str, _Located] = field(default_factory=dict)

    def cell_error(
        self, sheet: str, row: int, col: int | None, header: str, msg: str, rid: str = ""
    ) -> None:
        record = f"row {row}" + (f" ({rid})" if rid else "")
        where = f"column {column_letter(col)} ({header})" if col else (header and f"'{header}'")
        self.errors.append(ErrorItem(sheet, record, where, msg))


def _header(cells: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for v in cells:
        out.append("" if _blank(v) or isinstance(v, _Fault) else str(v).strip())
    return out


def _known_column(name: str, kinds: Mapping[str, Kind], extra: Iterable[str]) -> bool:
    if name in kinds or name in extra:
        return True
    head, _, sub = name.partition(".")
    k = kinds.get(head)
    if not sub or k is None:
        return False
    if k.name == "model" and k.model is not None:
        return sub in k.model.model_fields
    return k.object_only


def _typo_hint(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_records(
    reader: _Reader, table: Table, section: str, model: type[BaseModel]
) -> list[dict[str, Any]]:
    """The records of a sheet as contract dicts; cell errors go to `reader`."""
    kinds = _field_kinds(model)
    extra = ("start",) if model is Placement else ()
    loc = _Located(table.name)
    reader.located[section] = loc
    if not table.rows:
        header: list[str] = []
    else:
        header = _header(table.rows[0])
    usable: dict[int, str] = {}
    for j, name in enumerate(header, start=1):
        if not name:
            continue
        if not _known_column(name, kinds, extra):
            reader.cell_error(
                table.name,
                1,
                j,
                name,
                f"unknown column{_typo_hint(name, [*kinds, *extra])}: use the field names of "
                "the contract (see the Help sheet of `volmatch template`)",
            )
        elif name in loc.columns:
            reader.cell_error(
                table.name,
                1,
                j,
                name,
                f"column {name!r} appears twice (also column {column_letter(loc.columns[name])})",
            )
        else:
            loc.columns[name] = j
            usable[j] = name
    given = set(loc.columns)
    for name, f in model.model_fields.items():
        by_start = name in ("start_earliest", "start_latest") and "start" in given
        if f.is_required() and name not in given and not (model is Placement and by_start):
            loc.absent.add(name)
            reader.errors.append(
                ErrorItem(
                    table.name,
                    table.name,
                    "",
                    f"required column {name!r} is missing (row 1 names the columns)",
                )
            )
    records: list[dict[str, Any]] = []
    for i, cells in enumerate(table.rows[1:], start=2):
        if all(_blank(v) for v in cells):
            continue  # a row with no value carries nothing (trailing and spacer rows)
        id_col = loc.columns.get("id", 0)
        rid_cell = cells[id_col - 1] if 0 < id_col <= len(cells) else None
        try:
            rid = "" if _blank(rid_cell) else _as_text(rid_cell)
        except CellError:
            rid = ""
        rec: dict[str, Any] = {}
        for j, v in enumerate(cells, start=1):
            if _blank(v):
                continue
            got = usable.get(j)
            if got is None:
                if j > len(header) or not header[j - 1]:
                    reader.cell_error(
                        table.name,
                        i,
                        j,
                        "no header",
                        f"a value ({_describe(v)}) in a column without a name in row 1",
                        rid,
                    )
                continue  # its header error was reported above
            name = got
            try:
                if name in kinds or name in extra:
                    value = read_cell(kinds.get(name, Kind("date")), v)
                    if value is not None:
                        rec[name] = value
                else:
                    head, _, sub = name.partition(".")
                    sub_kind = kinds[head]
                    if sub_kind.name == "model" and sub_kind.model is not None:
                        value = read_cell(kind_of(sub_kind.model.model_fields[sub].annotation), v)
                    else:
                        value = _loose_scalar(v)
                    obj = rec.setdefault(head, {})
                    if not isinstance(obj, dict):
                        raise CellError(f"{head!r} is given both as a whole and by key")
                    if sub in obj:
                        raise CellError(f"{sub!r} is given both here and in column {head!r}")
                    obj[sub] = value
            except CellError as exc:
                reader.cell_error(table.name, i, j, name, str(exc), rid)
                loc.faulty.add((i, name.partition(".")[0]))
        loc.rows.append(i)
        if rid:
            loc.ids.setdefault(rid, []).append(i)
        records.append(rec)
    return records


def _read_policy(reader: _Reader, table: Table) -> dict[str, Any]:
    kinds = _field_kinds(Policy)
    loc = _Located(table.name)
    reader.located["policy"] = loc
    header = _header(table.rows[0]) if table.rows else []
    cols: dict[str, int] = {}
    for j, name in enumerate(header, start=1):
        if not name:
            continue
        if name not in POLICY_COLUMNS:
            reader.cell_error(
                table.name,
                1,
                j,
                name,
                f"unknown column{_typo_hint(name, POLICY_COLUMNS)}: the Policy sheet has the "
                "columns key, value and (optionally) notes",
            )
        elif name in cols:
            reader.cell_error(table.name, 1, j, name, f"column {name!r} appears twice")
        else:
            cols[name] = j
    for need in ("key", "value"):
        if need not in cols:
            reader.errors.append(
                ErrorItem(table.name, table.name, "", f"required column {need!r} is missing")
            )
    if "key" not in cols or "value" not in cols:
        return {}
    kc, vc = cols["key"], cols["value"]
    loc.columns = {"value": vc}
    known = [
        *kinds,
        *(
            f"{n}.{s}"
            for n, k in kinds.items()
            if k.name == "model" and k.model is not None
            for s in k.model.model_fields
        ),
    ]
    policy: dict[str, Any] = {}
    for i, cells in enumerate(table.rows[1:], start=2):

        def at(col: int, cells: list[Any] = cells) -> Any:
            return cells[col - 1] if col <= len(cells) else None

        key_cell, value = at(kc), at(vc)
        if _blank(key_cell):
            if not _blank(value):
                reader.cell_error(table.name, i, kc, "key", "a value without a key")
            for j, v in enumerate(cells, start=1):
                if j not in cols.values() and not _blank(v):
                    reader.cell_error(
                        table.name,
                        i,
                        j,
                        "no header",
                        f"a value ({_describe(v)}) in a column without a name in row 1",
                    )
            continue  # blank rows and rows of notes only
        key = str(key_cell).strip()
        for j, v in enumerate(cells, start=1):
            if j not in cols.values() and not _blank(v):
                reader.cell_error(
                    table.name,
                    i,
                    j,
                    "no header",
                    f"a value ({_describe(v)}) in a column without a name in row 1",
                )
        if key not in known:
            reader.cell_error(
                table.name,
                i,
                kc,
                "key",
                f"unknown policy key {key!r}{_typo_hint(key, known)}",
            )
            continue
        if key in loc.ids:
            reader.cell_error(
                table.name,
                i,
                kc,
                "key",
                f"{key!r} is given twice (also row {loc.ids[key][0]})",
            )
            continue
        loc.ids[key] = [i]
        head, _, sub = key.partition(".")
        kind = (
            kinds[head]
            if not sub
            else kind_of(
                kinds[head].model.model_fields[sub].annotation  # type: ignore[union-attr]
            )
        )
        try:
            v = read_cell(kind, value, blank_as_empty=True)
        except CellError as exc:
            reader.cell_error(table.name, i, vc, key, str(exc))
            loc.faulty.add((i, key))
            continue
        if v is None:
            continue  # a blank value keeps the default
        if sub:
            obj = policy.setdefault(head, {})
            if not isinstance(obj, dict):
                reader.cell_error(table.name, i, kc, "key", f"{head!r} is also given as a whole")
                continue
            obj[sub] = v
        elif head in policy:
            reader.cell_error(table.name, i, kc, "key", f"{head!r} is also given by its parts")
        else:
            policy[head] = v
    return policy


_SECTION_SHEETS = {
    "volunteers": VOLUNTEERS,
    "placements": PLACEMENTS,
    "previous": PREVIOUS,
    "policy": POLICY,
}


def _humanise(rest: str) -> str:
    out = re.sub(r"\[(\d+)\]", lambda m: f" item {int(m.group(1)) + 1}", rest)
    return out.replace(".", " ").strip()


def _translate(reader: _Reader, e: ErrorItem) -> ErrorItem | None:
    """A model error (section, record id, field path) as sheet, row and column."""
    loc = reader.located.get(e.section)
    if loc is None:
        sheet = _SECTION_SHEETS.get(e.section, e.section)
        return ErrorItem(sheet, sheet, e.field, e.message)
    base = re.sub(r"\[\d+\]", "", e.field).replace(" (the key)", "")
    segs = base.split(".") if base else []
    header = ""
    for n in range(len(segs), 0, -1):
        cand = ".".join(segs[:n])
        if cand in loc.columns or (e.section == "policy" and cand in loc.ids):
            header = cand
            break
    top = header or (segs[0] if segs else "")
    rest = (
        e.field[len(header) :]
        if header and e.field.startswith(header)
        else ("" if header else e.field)
    )
    rest = _humanise(rest)
    msg = f"{rest}: {e.message}" if rest else e.message
    if e.section == "policy":
        rows = loc.ids.get(header, [])
        if not rows:
            return ErrorItem(loc.sheet, loc.sheet, f"'{e.field}'", e.message)
        if (rows[0], header) in loc.faulty:
            return None
        return ErrorItem(
            loc.sheet,
            f"row {rows[0]}",
            f"column {column_letter(loc.columns['value'])} ({header})",
            msg,
        )
    m = re.fullmatch(rf"{e.section}\[(\d+)\]", e.record)
    if m:
        idx = int(m.group(1))
        rows = [loc.rows[idx]] if idx < len(loc.rows) else []
        rid = ""
    else:
        rows = loc.ids.get(e.record, [])
        rid = e.record
    if top in loc.absent and e.message == _MISSING_MSG:
        return None  # reported once for the sheet
    if any((r, top) in loc.faulty for r in rows):
        return None  # the cell's own error says it better
    if not rows:
        return ErrorItem(loc.sheet, e.record, e.field, e.message)
    record = ("row " if len(rows) == 1 else "rows ") + ", ".join(map(str, rows))
    record += f" ({rid})" if rid else ""
    if header:
        where = f"column {column_letter(loc.columns[header])} ({header})"
        if e.message == _MISSING_MSG and not rest:
            msg = "required value is missing (the cell is blank)"
    elif top:
        where = f"'{top}'"
        if e.message == _MISSING_MSG:
            msg = f"required field is missing: add a column {top!r}"
    else:
        where = ""
    return ErrorItem(loc.sheet, record, where, msg)


def round_from_tables(tables: Mapping[str, Table], label: str = "workbook") -> Round:
    """Build a `Round` from sheets (by name); raises `InvalidRound` with every error."""
    reader = _Reader()
    by_name: dict[str, Table] = {}
    known = [*RECORD_SHEETS, POLICY]
    for name, table in tables.items():
        canon = next((k for k in known if k.lower() == name.strip().lower()), None)
        if canon is not None:
            if canon in by_name:
                reader.errors.append(ErrorItem(canon, canon, "", f"two sheets are named {canon!r}"))
            by_name[canon] = table
        elif _ignored_sheet(name):
            continue  # reference sheets of the template, and the user's own notes
        else:
            reader.errors.append(
                ErrorItem(
                    name,
                    name,
                    "",
                    f"unknown sheet{_typo_hint(name, known)}: a round has the sheets "
                    f"{', '.join(known)}; name sheets of your own with a leading '_'",
                )
            )
    for need in REQUIRED_SHEETS:
        if need not in by_name:
            reader.errors.append(ErrorItem(label, label, "", f"required sheet {need!r} is missing"))
    doc: dict[str, Any] = {}
    for sheet, (section, model) in RECORD_SHEETS.items():
        if sheet in by_name:
            doc[section] = _read_records(reader, by_name[sheet], section, model)
        elif sheet in REQUIRED_SHEETS:
            doc[section] = []
    if POLICY in by_name:
        doc["policy"] = _read_policy(reader, by_name[POLICY])
    errors = list(reader.errors)
    try:
        r = parse_round(doc)
    except InvalidRound as exc:
        errors += [t for e in exc.errors if (t := _translate(reader, e)) is not None]
        if not errors:  # cannot happen unless a model error has no cell to point at
            errors = list(exc.errors)
        raise InvalidRound(sorted(errors, key=_reading_order)) from None
    if errors:
        raise InvalidRound(sorted(errors, key=_reading_order))
    return r


_SHEET_ORDER = {name: k for k, name in enumerate((VOLUNTEERS, PLACEMENTS, POLICY, PREVIOUS), 1)}


def _reading_order(e: ErrorItem) -> tuple[int, int, int]:
    """Sheet by sheet, top to bottom, left to right, the way a person fixes them."""
    row = re.match(r"rows? (\d+)", e.record)
    col = re.match(r"column ([A-Z]+) ", e.field)
    col_index = 0
    for ch in col.group(1) if col else "":
        col_index = col_index * 26 + ord(ch) - 64
    return (_SHEET_ORDER.get(e.section, 0), int(row.group(1)) if row else 0, col_index)


def read_workbook(path: str | Path) -> Round:
    """Read a round from an `.xlsx` workbook (raises `models.InvalidRound`)."""
    return round_from_tables(load_xlsx_tables(path), str(path))


def read_workbook_bytes(data: bytes) -> Round:
    """Read a round from the bytes of an uploaded `.xlsx` workbook."""
    return round_from_tables(load_xlsx_tables(data), "uploaded workbook")


def read_csv_folder(folder: str | Path) -> Round:
    """Read a round from a folder of `Volunteers.csv`, `Placements.csv`, `Policy.csv` ..."""
    return round_from_tables(load_csv_tables(folder), str(folder))


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def is_sheet_source(path: str | Path) -> bool:
    """Whether `read_round` should read this path as spreadsheets: a workbook or a folder."""
    p = Path(path)
    return p.suffix.lower() in (*WORKBOOK_SUFFIXES, ".xls") or p.is_dir()


def read_sheets(path: str | Path) -> Round:
    """Read a round from a workbook or a folder of CSV files."""
    p = Path(path)
    if p.is_dir():
        return read_csv_folder(p)
    if not p.exists():
        raise InvalidRound([ErrorItem("workbook", str(p), "", "no such file")])
    return read_workbook(p)
