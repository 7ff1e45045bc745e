"""Cells: the kind of each field (from the pydantic models), reading a cell as its
field's value, and writing a value as a cell that reads back the same and never runs as a
formula."""

from __future__ import annotations

import datetime as dt
import json
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from volmatch.models import (
    Placement,
    PreviousAssignment,
    Volunteer,
)

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


VOLUNTEERS, PLACEMENTS, POLICY, PREVIOUS = "Volunteers", "Placements", "Policy", "Previous"
HELP, LISTS = "Help", "Lists"
RECORD_SHEETS: dict[str, tuple[str, type[BaseModel]]] = {
    VOLUNTEERS: ("volunteers", Volunteer),
    PLACEMENTS: ("placements", Placement),
    PREVIOUS: ("previous", PreviousAssignment),
}
REQUIRED_SHEETS = (VOLUNTEERS, PLACEMENTS)
REFERENCE_SHEETS = (HELP, LISTS)
"""Sheets the template adds for people; the reader passes over them."""
POLICY_COLUMNS = ("key", "value", "notes")

# Strings a spreadsheet program would run as a formula (or a DDE command) when the cell
# is edited or the sheet is exported to CSV and opened again.
_INJECTION_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 cannot carry these control characters; openpyxl refuses them.
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MISSING_MSG = "required field is missing"
_MAX_EXACT_INT = 2**53


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Kind:
    """How one field is written in a cell."""

    name: Literal["str", "int", "float", "bool", "date", "list", "map", "pairs", "json", "model"]
    item: Kind | None = None
    """Kind of the items of a list or the values of a map."""
    model: type[BaseModel] | None = None
    """The nested model of a `model` field (its fields get dotted names)."""
    object_only: bool = False
    """A `json` field whose value is an object: may also be given as `<field>.<key>` columns."""


_SIMPLE = {bool: "bool", int: "int", float: "float", str: "str", dt.date: "date"}


def kind_of(annotation: Any) -> Kind:
    """The cell kind of a field annotation."""
    ann = annotation
    while get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    origin = get_origin(ann)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        return kind_of(args[0]) if len(args) == 1 else Kind("json")
    if origin is Literal:
        return Kind("str")
    if origin in (tuple, list):
        item = kind_of(get_args(ann)[0]) if get_args(ann) else Kind("json")
        if (
            item.name == "model"
            and item.model is not None
            and set(item.model.model_fields) == {"volunteer", "placement"}
        ):
            return Kind("pairs")
        if item.name in ("str", "int", "float", "date"):
            return Kind("list", item=item)
        return Kind("json")
    if origin is dict:
        key, value = get_args(ann)
        vk = kind_of(value)
        if kind_of(key).name in ("str", "int") and vk.name in ("str", "int", "float"):
            return Kind("map", item=vk)
        return Kind("json", object_only=kind_of(key).name == "str")
    if isinstance(ann, type):
        if issubclass(ann, BaseModel):
            return Kind("model", model=ann)
        for typ, name in _SIMPLE.items():
            if ann is typ:
                return Kind(name)  # type: ignore[arg-type]
    return Kind("json")


def _field_kinds(model: type[BaseModel]) -> dict[str, Kind]:
    return {name: kind_of(f.annotation) for name, f in model.model_fields.items()}


# --------------------------------------------------------------------------- cells in


class CellError(ValueError):
    """A cell whose content cannot be read as its column's kind."""


@dataclass(frozen=True)
class _Fault:
    """A cell that holds no usable value (an error value, a formula never computed)."""

    message: str


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _describe(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime | dt.date):
        return f"the date {v:%Y-%m-%d}"
    if isinstance(v, int | float):
        return f"the number {v:g}"
    return _shown(v) if isinstance(v, str) else repr(v)


SHOWN_CHARS = 60
"""Characters of a cell's text quoted in an error: enough to find it, not a page."""


def _shown(text: str) -> str:
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def _number_text(v: int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _as_text(v: Any) -> str:
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool | dt.date | dt.datetime | dt.time):
        raise CellError(f"expected text, got {_describe(v)}")
    if isinstance(v, int | float):
        return _number_text(v)
    raise CellError(f"expected text, got {_describe(v)}")


def _as_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        if v.time() != dt.time(0):
            raise CellError(f"expected a date without a time of day, got {v:%Y-%m-%d %H:%M}")
        return v.date()
    if isinstance(v, dt.date):
        return v
    hint = "a date cell or ISO text like 2027-03-01"
    if isinstance(v, str):
        s = v.strip()
        if _ISO_DATE.match(s):
            try:
                return dt.date.fromisoformat(s)
            except ValueError:
                raise CellError(f"{s!r} is not a real day of the calendar") from None
        raise CellError(f"expected a date ({hint}), got {s!r}")
    if isinstance(v, int | float) and not isinstance(v, bool):
        raise CellError(f"expected a date ({hint}), got {_describe(v)}: format the cell as a date")
    raise CellError(f"expected a date ({hint}), got {_describe(v)}")


def _scalar(kind: Kind, v: Any) -> Any:
    """A single cell (or list item) as the value the model validates."""
    if kind.name == "str":
        return _as_text(v)
    if kind.name == "date":
        return _as_date(v)
    if kind.name in ("int", "float"):
        if isinstance(v, bool | dt.date | dt.datetime | dt.time):
            raise CellError(f"expected a number, got {_describe(v)}")
        if isinstance(v, float) and kind.name == "int" and v.is_integer():
            return int(v)
        if isinstance(v, str):
            # the model's own messages say what is wrong with "3.5" or "ten"
            return v.strip()
        return v
    if kind.name == "bool":
        if isinstance(v, bool):
            return v
        if isinstance(v, int | float) and v in (0, 1):
            return bool(v)
        if isinstance(v, str):
            s = v.strip().lower()
            if s in ("true", "yes", "1"):
                return True
            if s in ("false", "no", "0"):
                return False
        raise CellError(f"expected TRUE or FALSE, got {_describe(v)}")
    raise AssertionError(kind)


def _json_cell(v: Any, what: str) -> Any:
    text = _as_text(v)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellError(f"{what} in JSON is not valid JSON: {exc.msg} (char {exc.pos})") from None
    except (ValueError, RecursionError):  # a number of over 4300 digits; deep nesting
        raise CellError(
            f"{what} in JSON cannot be read: a number of more than 4300 digits or "
            "nesting deeper than a cell's value can be"
        ) from None


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def read_cell(kind: Kind, v: Any, *, blank_as_empty: bool = False) -> Any:
    """The value of one cell for a field of `kind` (raises `CellError`).

    Returns `None` for a blank cell, except that list and map fields read an empty value
    where `blank_as_empty` (the Policy sheet, where a row says a value on purpose).
    """
    if isinstance(v, _Fault):
        raise CellError(v.message)
    if _blank(v):
        if blank_as_empty and kind.name in ("list", "pairs"):
            return []
        if blank_as_empty and kind.name == "map":
            return {}
        return None
    if kind.name in ("str", "int", "float", "bool", "date"):
        return _scalar(kind, v)
    if kind.name == "list":
        assert kind.item is not None
        text = _as_text(v)
        if text.startswith("["):
            items = _json_cell(text, "a list")
            if not isinstance(items, list):
                raise CellError('a list in JSON must be an array like ["a", "b"]')
            return items
        return [_scalar(kind.item, part) for part in _split(text)]
    if kind.name == "map":
        assert kind.item is not None
        text = _as_text(v)
        if text.startswith("{"):
            obj = _json_cell(text, "a map")
            if not isinstance(obj, dict):
                raise CellError("a map in JSON must be an object")
            return obj
        out: dict[str, Any] = {}
        for part in _split(text):
            key, sep, value = part.partition(":")
            key, value = key.strip(), value.strip()
            if not sep or not value:
                raise CellError(
                    f"{_shown(part)} has no value: write each entry as key:value, like "
                    "en:B2; zh:native"
                )
            if not key:
                raise CellError(f"{part!r} has no key: write each entry as key:value")
            if key in out:
                raise CellError(f"{key!r} is given twice")
            out[key] = value if kind.item.name == "str" else _scalar(kind.item, value)
        return out
    if kind.name == "pairs":
        text = _as_text(v)
        if text.startswith("["):
            pairs = _json_cell(text, "a list of pairs")
            if not isinstance(pairs, list):
                raise CellError("pairs in JSON must be an array of {volunteer, placement}")
            return pairs
        result: list[dict[str, str]] = []
        for part in _split(text):
            vol, sep, pla = part.partition(">")
            if not sep or not vol.strip() or not pla.strip():
                raise CellError(
                    f"{part!r} is not a pair: write volunteer>placement, like V001>P003; V002>P004"
                )
            result.append({"volunteer": vol.strip(), "placement": pla.strip()})
        return result
    if kind.name in ("json", "model"):
        if isinstance(v, str) and v.strip().startswith(("{", "[")):
            value = _json_cell(v, "a value")
            if kind.object_only and not isinstance(value, dict):
                raise CellError('expected a JSON object like {"beneficiaries": 240}')
            return value
        if kind.object_only or kind.name == "model":
            raise CellError(f'expected a JSON object like {{"key": "value"}}, got {_describe(v)}')
        if isinstance(v, dt.datetime):
            return _as_date(v)
        return v.strip() if isinstance(v, str) else v
    raise AssertionError(kind)


def _loose_scalar(v: Any) -> Any:
    """A cell of a `<field>.<key>` column of a free-form object, kept as typed."""
    if isinstance(v, _Fault):
        raise CellError(v.message)
    if isinstance(v, dt.datetime):
        return _as_date(v).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return v.strip()
    return v


def column_letter(index: int) -> str:
    """Excel's letter of a 1-based column index (1 -> A, 27 -> AA)."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


# --------------------------------------------------------------------------- cells out


def _safe_text(s: str) -> str:
    return _ILLEGAL_XML.sub("", s)


def put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    """Write one cell; text that a spreadsheet could run as a formula stays text."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        risky = value.startswith(_INJECTION_PREFIXES)
        # XML turns a bare CR into LF on reading anyway: make it so on writing, visibly
        value = _safe_text(value).replace("\r\n", "\n").replace("\r", "\n")
        cell.value = value
        if risky or value.startswith(_INJECTION_PREFIXES):
            cell.data_type = "s"  # never "f": openpyxl would write a formula
            cell.quotePrefix = True  # and a user editing the cell keeps it text
        return
    cell.value = value
    if isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"


def _simple_ok(items: Iterable[str], forbidden: str) -> bool:
    return all(s and s == s.strip() and not any(c in s for c in forbidden) for s in items)


def write_cell(kind: Kind, value: Any) -> Any:
    """A field value as the cell `read_cell` reads back to the same value."""
    if value is None:
        return None
    if kind.name == "float" and not _exact_in_excel(value):
        return repr(value)  # as text, since a number cell keeps only 15 digits
    if kind.name in ("str", "int", "float", "bool", "date"):
        return value
    if kind.name == "list":
        items = [v.isoformat() if isinstance(v, dt.date) else str(v) for v in value]
        if not items:
            return None
        if _simple_ok(items, ";") and not items[0].startswith("["):
            return "; ".join(items)
        return json.dumps(list(_jsonable(value)), ensure_ascii=False)
    if kind.name == "map":
        if not value:
            return None
        keys, vals = [str(k) for k in value], [str(v) for v in value.values()]
        if _simple_ok(keys, ";:") and _simple_ok(vals, ";") and not keys[0].startswith("{"):
            return "; ".join(f"{k}:{v}" for k, v in zip(keys, vals, strict=True))
        return json.dumps(_jsonable(value), ensure_ascii=False)
    if kind.name == "pairs":
        return "; ".join(f"{p.volunteer}>{p.placement}" for p in value) or None
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _exact_in_excel(x: float) -> bool:
    return abs(x) < _MAX_EXACT_INT and float(f"{x:.15g}") == x


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _finish(ws: Worksheet, ncols: int, *, wrap: Sequence[int] = ()) -> None:
    """Frozen header, filters, widths that fit the content (within reason)."""
    from openpyxl.styles import Alignment, Font, PatternFill

    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for j in range(1, ncols + 1):
        c = ws.cell(row=1, column=j)
        c.font, c.fill = bold, fill
    if ncols:
        ws.auto_filter.ref = f"A1:{column_letter(ncols)}{max(ws.max_row, 2)}"
    widths = [0] * (ncols + 1)
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, 500), max_col=ncols):
        for c in row:
            v = c.value
            if v is None:
                continue
            text = f"{v:%Y-%m-%d}" if isinstance(v, dt.date) else str(v)
            longest = max((len(line) for line in text.split("\n")), default=0)
            col = int(c.column or 0)
            widths[col] = max(widths[col], longest)
    for j in range(1, ncols + 1):
        ws.column_dimensions[column_letter(j)].width = min(max(widths[j] + 3, 9), 60)
    top = Alignment(vertical="top", wrap_text=True)
    for j in wrap:
        for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
            for c in row:
                c.alignment = top
