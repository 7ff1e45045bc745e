"""Writing workbooks: a round (or the empty template) and the result of a round."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel

from volmatch.api.sheets.cells import (
    _MAX_EXACT_INT,
    HELP,
    LISTS,
    PLACEMENTS,
    POLICY,
    POLICY_COLUMNS,
    PREVIOUS,
    VOLUNTEERS,
    Kind,
    _exact_in_excel,
    _field_kinds,
    _finish,
    _jsonable,
    _safe_text,
    column_letter,
    kind_of,
    put,
    write_cell,
)
from volmatch.models import (
    Placement,
    Policy,
    PreviousAssignment,
    Result,
    Round,
    Volunteer,
)

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet


# --------------------------------------------------------------------------- round out

EXAMPLES: dict[str, dict[str, str]] = {
    VOLUNTEERS: {
        "id": "V001",
        "name": "Amina Diallo",
        "nationality": "SN",
        "gender": "female",
        "birth_date": "2001-04-17",
        "languages": "fr:native; en:B2; wo:C1",
        "skills": "teaching:4; first-aid:2",
        "training": "pre-deployment; child-safeguarding",
        "available_from": "2027-01-01",
        "available_until": "2028-06-30",
        "min_months": "6",
        "max_months": "12",
        "preferences": "P003; P001",
        "excluded_countries": "ML; BF",
        "security_clearance": "1",
        "group": "couple-7",
    },
    PLACEMENTS: {
        "id": "P001",
        "host": "H01",
        "title": "Literacy trainer",
        "country": "KE",
        "slots": "2",
        "required_skills": "teaching:3",
        "desired_skills": "curriculum-design:2",
        "required_languages": "en:B2",
        "desired_languages": "sw:A2",
        "required_training": "child-safeguarding",
        "start_earliest": "2027-02-01",
        "start_latest": "2027-04-30",
        "min_months": "6",
        "max_months": "12",
        "priority": "4",
        "sdg_targets": "4.1; 4.6",
        "security_level": "0",
        "age_min": "21",
        "age_max": "35",
        "ranking": "V017; V002",
        "needs_assessment": '{"beneficiaries": 240, "counterpart": "district office"}',
        "start": "2027-03-01 (instead of start_earliest and start_latest)",
    },
    PREVIOUS: {
        "volunteer": "V001",
        "placement": "P003",
        "score": "812",
        "start": "2027-03-01",
        "months": "9",
        "breakdown": "placed:500; skills:300",
        "stage": "visa",
    },
    POLICY: {
        "mode": "optimal",
        "required_training": "pre-deployment",
        "locked": "V001>P003; V002>P004",
        "forbidden": "V005>P001",
    },
}

_KIND_HINT = {
    "list": "a list: items separated by ';'",
    "map": "a map: key:value entries separated by ';'",
    "pairs": "pairs volunteer>placement separated by ';'",
    "date": "a date cell or ISO text YYYY-MM-DD",
    "bool": "TRUE or FALSE",
    "int": "a whole number",
    "float": "a number",
    "json": "JSON",
    "str": "text",
}


def _note(model: type[BaseModel], name: str, sheet: str) -> str:
    f = model.model_fields.get(name)
    kind = kind_of(f.annotation) if f is not None else Kind("date")
    desc = (f.description if f is not None else None) or ""
    if name == "start":
        desc = "Sets start_earliest and start_latest to the same day."
    required = f is not None and f.is_required()
    parts = [f"{name}: {desc}", f"Format: {_KIND_HINT.get(kind.name, 'text')}."]
    if f is not None and not required and f.default is not None and not callable(f.default_factory):
        parts.append(f"Default: {write_cell(kind, f.default)}.")
    if required:
        parts.append("Required.")
    ex = EXAMPLES.get(sheet, {}).get(name)
    if ex:
        parts.append(f"Example: {ex}")
    return "\n".join(parts)


def _na_columns(placements: Sequence[Placement]) -> list[str] | None:
    """Keys of needs_assessment to write as columns, or None for one JSON column."""
    keys: list[str] = []
    for p in placements:
        na = p.needs_assessment
        if na is None:
            continue
        if not na:
            return None
        for k, v in na.items():
            if not k or k != k.strip() or "." in k:
                return None
            ok = (
                isinstance(v, bool)
                or (isinstance(v, int) and abs(v) < _MAX_EXACT_INT)
                or (isinstance(v, float) and _exact_in_excel(v))
                or (
                    isinstance(v, str)
                    and v
                    and v == v.strip()
                    and _safe_text(v) == v
                    and "\r" not in v
                )
            )
            if not ok:
                return None
            if k not in keys:
                keys.append(k)
    return keys or None


def _record_sheet(
    wb: Workbook, sheet: str, model: type[BaseModel], records: Sequence[BaseModel]
) -> Worksheet:
    from openpyxl.comments import Comment

    ws: Worksheet = wb.create_sheet(sheet)
    kinds = _field_kinds(model)
    na_keys = _na_columns(records) if model is Placement else None  # type: ignore[arg-type]
    columns: list[str] = []
    for name, kind in kinds.items():
        if name == "needs_assessment" and na_keys:
            columns += [f"needs_assessment.{k}" for k in na_keys]
        elif kind.name == "model" and kind.model is not None:
            columns += [f"{name}.{s}" for s in kind.model.model_fields]
        else:
            columns.append(name)
    for j, name in enumerate(columns, start=1):
        put(ws, 1, j, name)
        note = _note(model, name.partition(".")[0], sheet)
        comment = Comment(note, "volmatch")
        comment.width, comment.height = 320, 160
        ws.cell(row=1, column=j).comment = comment
        kind = kinds[name.partition(".")[0]]
        if kind.name in ("str", "list", "map", "pairs", "json") and not name.startswith(
            "needs_assessment."
        ):
            # typed "17.10" or "1-2" must stay text, not become a number or a date
            ws.column_dimensions[column_letter(j)].number_format = "@"
        elif kind.name == "date":
            ws.column_dimensions[column_letter(j)].number_format = "yyyy-mm-dd"
    for i, rec in enumerate(records, start=2):
        for j, name in enumerate(columns, start=1):
            head, _, sub = name.partition(".")
            value = getattr(rec, head)
            if sub:
                if isinstance(value, BaseModel):
                    kind = kind_of(type(value).model_fields[sub].annotation)
                    put(ws, i, j, write_cell(kind, getattr(value, sub)))
                elif isinstance(value, Mapping) and sub in value:
                    put(ws, i, j, value[sub])
                continue
            put(ws, i, j, write_cell(kinds[head], value))
    _finish(ws, len(columns))
    _validations(ws, sheet, columns, max(len(records) + 1, 1000))
    return ws


def _validations(ws: Worksheet, sheet: str, columns: list[str], last_row: int) -> None:
    """Drop-down lists and ranges for the columns with closed values."""
    from openpyxl.worksheet.datavalidation import DataValidation

    from volmatch.models.codes import GENDERS

    n_countries = len(_countries())

    def add(col: str, dv: DataValidation) -> None:
        if col not in columns:
            return
        letter = column_letter(columns.index(col) + 1)
        dv.error = dv.error or f"Not a valid value for {col}: see the Help and Lists sheets."
        dv.errorTitle = "volmatch"
        dv.showErrorMessage = True
        dv.add(f"{letter}2:{letter}{last_row}")
        ws.add_data_validation(dv)

    def whole(lo: int, hi: int) -> DataValidation:
        return DataValidation(
            type="whole",
            operator="between",
            formula1=str(lo),
            formula2=str(hi),
            allow_blank=True,
            error=f"A whole number from {lo} to {hi}.",
        )

    countries = f"{LISTS}!$A$2:$A${n_countries + 1}"
    if sheet == VOLUNTEERS:
        add("nationality", DataValidation(type="list", formula1=countries, allow_blank=True))
        add(
            "gender",
            DataValidation(type="list", formula1=f'"{",".join(GENDERS)}"', allow_blank=True),
        )
        add("security_clearance", whole(0, 3))
        add("min_months", whole(1, 36))
        add("max_months", whole(1, 36))
        for col in ("birth_date", "available_from", "available_until"):
            add(
                col,
                DataValidation(
                    type="date",
                    operator="greaterThan",
                    formula1="1",
                    allow_blank=True,
                    error="A date, like 2027-03-01.",
                ),
            )
        add(
            "languages",
            DataValidation(
                type="custom",
                formula1="TRUE",
                allow_blank=True,
                showInputMessage=True,
                promptTitle="languages",
                prompt="code:level; ... Levels: A1 A2 B1 B2 C1 C2 native. "
                "Example: fr:native; en:B2",
            ),
        )
    if sheet == PLACEMENTS:
        add("country", DataValidation(type="list", formula1=countries, allow_blank=True))
        add("priority", whole(1, 5))
        add("security_level", whole(0, 3))
        add("slots", whole(1, 1000))
        add("min_months", whole(1, 36))
        add("max_months", whole(1, 36))
        add("age_min", whole(0, 120))
        add("age_max", whole(0, 120))
        for col in ("start_earliest", "start_latest"):
            add(
                col,
                DataValidation(
                    type="date",
                    operator="greaterThan",
                    formula1="1",
                    allow_blank=True,
                    error="A date, like 2027-03-01.",
                ),
            )
        for col in ("required_languages", "desired_languages"):
            add(
                col,
                DataValidation(
                    type="custom",
                    formula1="TRUE",
                    allow_blank=True,
                    showInputMessage=True,
                    promptTitle=col,
                    prompt="code:level; ... Levels: A1 A2 B1 B2 C1 C2 native. "
                    "Example: en:B2; sw:A2",
                ),
            )


def _countries() -> list[tuple[str, str]]:
    from volmatch.models.codes import country_codes, country_name

    return sorted((c, country_name(c)) for c in country_codes())


def _policy_sheet(wb: Workbook, policy: Policy) -> Worksheet:
    from openpyxl.worksheet.datavalidation import DataValidation

    ws: Worksheet = wb.create_sheet(POLICY)
    for j, name in enumerate(POLICY_COLUMNS, start=1):
        put(ws, 1, j, name)
    ws.column_dimensions["B"].number_format = "@"
    i = 2
    for name, f in Policy.model_fields.items():
        kind = kind_of(f.annotation)
        value = getattr(policy, name)
        if kind.name == "model" and kind.model is not None and isinstance(value, BaseModel):
            for sub, sf in kind.model.model_fields.items():
                put(ws, i, 1, f"{name}.{sub}")
                put(ws, i, 2, write_cell(kind_of(sf.annotation), getattr(value, sub)))
                put(ws, i, 3, sf.description or "")
                i += 1
            continue
        cell = write_cell(kind, value)
        if cell is None and value is not None and kind.name == "json":
            cell = "null"
        if value is None and f.default is not None and kind.name == "json":
            cell = "null"
        put(ws, i, 1, name)
        put(ws, i, 2, cell)
        note = f.description or ""
        if name in EXAMPLES[POLICY]:
            note += f" Example: {EXAMPLES[POLICY][name]}"
        if kind.name in ("list", "map", "pairs"):
            note += " (blank = none)"
        put(ws, i, 3, note.strip())
        literal = kind_of(f.annotation)
        args = _literal_values(f.annotation)
        if args or literal.name == "bool":
            options = args or ["TRUE", "FALSE"]
            dv = DataValidation(type="list", formula1=f'"{",".join(options)}"', allow_blank=True)
            dv.add(f"B{i}")
            ws.add_data_validation(dv)
        i += 1
    _finish(ws, len(POLICY_COLUMNS), wrap=(3,))
    ws.column_dimensions["C"].width = 80
    return ws


def _literal_values(annotation: Any) -> list[str]:
    ann = annotation
    while get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    if get_origin(ann) is Literal:
        return [str(a) for a in get_args(ann)]
    return []


def _help_sheet(wb: Workbook) -> None:
    ws: Worksheet = wb.create_sheet(HELP)
    cols = ("sheet", "column", "required", "format", "meaning", "example")
    for j, c in enumerate(cols, start=1):
        put(ws, 1, j, c)
    i = 2
    for sheet, model in (
        (VOLUNTEERS, Volunteer),
        (PLACEMENTS, Placement),
        (PREVIOUS, PreviousAssignment),
        (POLICY, Policy),
    ):
        names = list(model.model_fields) + (["start"] if model is Placement else [])
        for name in names:
            f = model.model_fields.get(name)
            kind = kind_of(f.annotation) if f is not None else Kind("date")
            if kind.name == "model" and kind.model is not None:
                subs: list[tuple[str, Any]] = [
                    (f"{name}.{s}", sf) for s, sf in kind.model.model_fields.items()
                ]
            else:
                subs = [(name, f)]
            for col, sf in subs:
                sk = kind_of(sf.annotation) if sf is not None else Kind("date")
                row = (
                    sheet,
                    col,
                    "yes" if sf is not None and sf.is_required() else "",
                    _KIND_HINT.get(sk.name, "text"),
                    (sf.description if sf is not None else None)
                    or "Sets start_earliest and start_latest to the same day.",
                    EXAMPLES.get(sheet, {}).get(col, ""),
                )
                for j, v in enumerate(row, start=1):
                    put(ws, i, j, v)
                i += 1
    put(ws, i + 1, 1, "Rules")
    rules = (
        "Row 1 of Volunteers, Placements and Previous names the columns; each further row "
        "is one record. A blank cell means 'not given' (the default).",
        "The Policy sheet has key | value | notes rows; a blank value keeps the default, "
        "except for lists, where it means none.",
        "Maps: en:B2; zh:native. Lists: a; b. Pairs: V001>P003. Dates: date cells or "
        "2027-03-01. A list or map cell starting with [ or { is read as JSON.",
        "needs_assessment: a JSON object, or one column per key named needs_assessment.<key>.",
        "Sheets named Help and Lists, and sheets whose name starts with _, are not read; any "
        "other sheet or column name that is not in the contract is an error.",
    )
    for k, text in enumerate(rules):
        put(ws, i + 2 + k, 1, text)
    _finish(ws, len(cols), wrap=(5,))
    ws.column_dimensions["E"].width = 70


def _lists_sheet(wb: Workbook) -> None:
    from volmatch.models.codes import CEFR_LEVELS, GENDERS, language_codes, language_name

    ws: Worksheet = wb.create_sheet(LISTS)
    heads = ("country", "country name", "language", "language name", "CEFR level", "gender")
    for j, h in enumerate(heads, start=1):
        put(ws, 1, j, h)
    for i, (code, name) in enumerate(_countries(), start=2):
        put(ws, i, 1, code)
        put(ws, i, 2, name)
    for i, code in enumerate(sorted(language_codes()), start=2):
        put(ws, i, 3, code)
        put(ws, i, 4, language_name(code))
    for i, level in enumerate(CEFR_LEVELS, start=2):
        put(ws, i, 5, level)
    for i, g in enumerate(GENDERS, start=2):
        put(ws, i, 6, g)
    _finish(ws, len(heads))


def round_workbook(r: Round | None = None, *, reference_sheets: bool = True) -> Workbook:
    """A round as a workbook that `read_workbook` reads back to an equal round.

    Without a round, the empty template: the same sheets with headers only. Either way
    the header cells carry comments and closed columns carry drop-down lists; with
    `reference_sheets`, the Help and Lists sheets explain every column and list the codes
    (the country drop-downs point into Lists).
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    _record_sheet(wb, VOLUNTEERS, Volunteer, r.volunteers if r else ())
    _record_sheet(wb, PLACEMENTS, Placement, r.placements if r else ())
    _policy_sheet(wb, r.policy if r else Policy())
    _record_sheet(wb, PREVIOUS, PreviousAssignment, r.previous if r else ())
    if reference_sheets:
        _help_sheet(wb)
        _lists_sheet(wb)
    else:
        for ws in (wb[VOLUNTEERS], wb[PLACEMENTS]):
            kept = [
                dv
                for dv in ws.data_validations.dataValidation
                if not str(dv.formula1).startswith(f"{LISTS}!")
            ]
            ws.data_validations.dataValidation = kept
    return wb


def _to_bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def round_workbook_bytes(r: Round, *, reference_sheets: bool = True) -> bytes:
    """The round as the bytes of an `.xlsx` workbook (for downloads)."""
    return _to_bytes(round_workbook(r, reference_sheets=reference_sheets))


def template_workbook_bytes() -> bytes:
    """The empty template workbook as bytes."""
    return _to_bytes(round_workbook(None))


def write_round_workbook(r: Round | None, out: str | Path) -> None:
    """Write a round (or, without one, the empty template) to an `.xlsx` file."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    round_workbook(r).save(path)


# --------------------------------------------------------------------------- result out

_BREAKDOWN_ORDER = tuple(f for f in Policy.model_fields["weights"].annotation.model_fields)  # type: ignore[union-attr]


def _breakdown_columns(result: Result) -> list[str]:
    seen = {k for a in result.assignments for k in a.breakdown}
    first = [k for k in _BREAKDOWN_ORDER if k in seen]
    return first + sorted(seen - set(first))


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list | tuple | Mapping):
        out.append((prefix, json.dumps(_jsonable(value), ensure_ascii=False)))
    elif isinstance(value, BaseModel):
        _flatten(prefix, value.model_dump(mode="json"), out)
    else:
        out.append((prefix, value))


def _table_sheet(
    wb: Workbook,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    wrap: Sequence[str] = (),
) -> Worksheet:
    ws: Worksheet = wb.create_sheet(title)
    for j, h in enumerate(header, start=1):
        put(ws, 1, j, h)
    for i, row in enumerate(rows, start=2):
        for j, v in enumerate(row, start=1):
            put(ws, i, j, v)
    _finish(ws, len(header), wrap=[header.index(w) + 1 for w in wrap])
    return ws


def result_workbook(r: Round, result: Result) -> Workbook:
    """The result of a round as a workbook: Assignments, Unmatched, Open slots, KPIs,
    and Reserves where the result has reserve lists (a row per reserve, ranked)."""
    from openpyxl import Workbook

    vols = {v.id: v for v in r.volunteers}
    pls = {p.id: p for p in r.placements}
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    comps = _breakdown_columns(result)
    _table_sheet(
        wb,
        "Assignments",
        [
            "volunteer",
            "name",
            "nationality",
            "placement",
            "title",
            "host",
            "country",
            "start",
            "months",
            "score",
            *comps,
        ],
        (
            [
                a.volunteer,
                _name(vols, a.volunteer),
                _nat(vols, a.volunteer),
                a.placement,
                *_place(pls, a.placement),
                a.start,
                a.months,
                a.score,
                *(a.breakdown.get(c) for c in comps),
            ]
            for a in result.assignments
        ),
    )
    _table_sheet(
        wb,
        "Unmatched",
        ["volunteer", "name", "nationality", "cost", "best_placement", "reasons"],
        (
            [
                u.volunteer,
                _name(vols, u.volunteer),
                _nat(vols, u.volunteer),
                u.cost,
                u.best_placement,
                "\n".join(u.reasons),
            ]
            for u in result.unmatched_volunteers
        ),
        wrap=["reasons"],
    )
    _table_sheet(
        wb,
        "Open slots",
        ["placement", "title", "host", "country", "slots", "open", "cost", "nearest", "reasons"],
        (
            [
                o.placement,
                *_place(pls, o.placement),
                pls[o.placement].slots if o.placement in pls else None,
                o.open,
                o.cost,
                o.nearest,
                "\n".join(o.reasons),
            ]
            for o in result.open_slots
        ),
        wrap=["reasons"],
    )
    figures: list[tuple[str, Any]] = [
        ("status", result.status),
        ("mode", result.mode),
        ("objective", result.objective),
        ("bound", result.bound),
    ]
    _flatten("", result.kpis, figures)
    extra = dict(result.model_extra or {})
    reserves = extra.pop("reserves", None)
    for key, value in extra.items():
        _flatten(key, value, figures)
    _table_sheet(wb, "KPIs", ["figure", "value"], figures)
    if reserves is not None:
        _table_sheet(
            wb,
            "Reserves",
            [
                "placement",
                "title",
                "host",
                "country",
                "rank",
                "volunteer",
                "name",
                "score",
                "cost",
                "exact",
            ],
            (
                [
                    lst["placement"],
                    *_place(pls, lst["placement"]),
                    k,
                    x["volunteer"],
                    _name(vols, x["volunteer"]),
                    x["score"],
                    x["cost"],
                    lst["exact"],
                ]
                for lst in reserves
                for k, x in enumerate(lst["reserves"], start=1)
            ),
        )
    return wb


def _name(vols: Mapping[str, Volunteer], vid: str) -> str | None:
    v = vols.get(vid)
    return v.name if v is not None else None


def _nat(vols: Mapping[str, Volunteer], vid: str) -> str | None:
    v = vols.get(vid)
    return v.nationality if v is not None else None


def _place(pls: Mapping[str, Placement], pid: str) -> list[Any]:
    p = pls.get(pid)
    return [p.title, p.host, p.country] if p is not None else [None, None, None]


def result_workbook_bytes(r: Round, result: Result) -> bytes:
    """The result workbook as bytes (for the service's download)."""
    return _to_bytes(result_workbook(r, result))


def write_result_workbook(r: Round, result: Result, out: str | Path) -> None:
    """Write the result workbook to an `.xlsx` file."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    result_workbook(r, result).save(path)
