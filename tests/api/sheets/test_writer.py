"""Writing workbooks: the cell conventions, the template (headers, notes, drop-downs),
formula injection, the result workbook, characters XML cannot carry."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl

from tests.api.sheets.helpers import ROUND_JSON, book
from volmatch.api.sheets import (
    HELP,
    LISTS,
    PLACEMENTS,
    POLICY,
    PREVIOUS,
    VOLUNTEERS,
    read_workbook_bytes,
    result_workbook_bytes,
    round_workbook,
    round_workbook_bytes,
    template_workbook_bytes,
)
from volmatch.matching import solve_round
from volmatch.models import Placement, Volunteer, load_round, parse_round
from volmatch.scenarios.demo import demo_round_path

INJECTIONS = [
    "=1+2",
    "+33 1 23",
    "-5",
    "@SUM(A1)",
    '=HYPERLINK("http://x","y")',
    "\t=cmd",
    "\r=cmd",
]


def test_needs_assessment_with_scalar_values_gets_a_column_per_key() -> None:
    r = load_round(demo_round_path())
    ws = round_workbook(r, reference_sheets=False)[PLACEMENTS]
    header = [c.value for c in ws[1]]
    assert "needs_assessment.beneficiaries" in header
    assert "needs_assessment" not in header


def test_nested_needs_assessment_is_one_json_column(fixture_round) -> None:  # type: ignore[no-untyped-def]
    ws = round_workbook(fixture_round)[PLACEMENTS]
    header = [c.value for c in ws[1]]
    col = header.index("needs_assessment") + 1
    assert ws.cell(2, col).value.startswith("{")


def test_lists_maps_and_dates_use_the_cell_conventions(fixture_round) -> None:  # type: ignore[no-untyped-def]
    ws = round_workbook(fixture_round)[VOLUNTEERS]
    header = [c.value for c in ws[1]]
    row = {h: ws.cell(2, j + 1).value for j, h in enumerate(header)}
    assert row["languages"] == "fr:native; en:B2; wo:C1"
    assert row["training"] == "pre-deployment; child-safeguarding"
    assert row["preferences"] == "P002; P001"
    assert row["birth_date"] == dt.date(2001, 4, 17)
    # an item with ';' in it cannot be written plainly: the cell falls back to JSON
    row3 = {h: ws.cell(4, j + 1).value for j, h in enumerate(header)}
    assert row3["training"] == '["pre-deployment", "health; safety"]'
    policy = round_workbook(fixture_round)[POLICY]
    values = {r[0]: r[1] for r in policy.iter_rows(min_row=2, values_only=True)}
    assert values["locked"] == "V001>P001"
    assert values["weights.skills"] == 250
    assert values["international_only"] is False


def test_template_has_sheets_headers_notes_and_drop_downs() -> None:
    wb = book(template_workbook_bytes())
    assert wb.sheetnames == [VOLUNTEERS, PLACEMENTS, POLICY, PREVIOUS, HELP, LISTS]
    vols = wb[VOLUNTEERS]
    header = [c.value for c in vols[1]]
    assert header == list(Volunteer.model_fields)
    assert all(
        c.comment is not None and "Example" in c.comment.text
        for c in vols[1]
        if c.value in ("languages", "nationality", "available_from")
    )
    pls_header = [c.value for c in wb[PLACEMENTS][1]]
    assert pls_header == list(Placement.model_fields)
    assert vols.freeze_panes == "A2"

    def validations(ws: openpyxl.worksheet.worksheet.Worksheet) -> dict[str, str]:
        out = {}
        for dv in ws.data_validations.dataValidation:
            first = str(dv.sqref).split(":")[0].rstrip("0123456789")
            out[ws.cell(1, openpyxl.utils.column_index_from_string(first)).value] = (
                f"{dv.type} {dv.formula1}"
            )
        return out

    v = validations(vols)
    assert v["gender"] == 'list "female,male,other,undisclosed"'
    assert v["nationality"].startswith("list Lists!$A$2")
    assert "A1 A2 B1 B2 C1 C2 native" in next(
        dv.prompt for dv in vols.data_validations.dataValidation if dv.promptTitle == "languages"
    )
    p = validations(wb[PLACEMENTS])
    assert p["priority"] == "whole 1" and p["country"].startswith("list Lists!")
    policy_keys = [r[0] for r in wb[POLICY].iter_rows(min_row=2, values_only=True)]
    assert "weights.skills" in policy_keys and "mode" in policy_keys
    lists = wb[LISTS]
    assert [c.value for c in lists[1]][:1] == ["country"]
    codes = [r[0] for r in lists.iter_rows(min_row=2, values_only=True) if r[0]]
    assert "KE" in codes and len(codes) == 249


def test_injection_strings_are_written_as_text_and_come_back_as_text(tmp_path) -> None:
    d = load_round(ROUND_JSON).model_dump(mode="json")
    for k, v in enumerate(d["volunteers"]):
        v["name"] = INJECTIONS[k] + " x"
    d["placements"][0]["title"] = "=cmd|' /C calc'!A0"
    d["placements"][0]["needs_assessment"] = {"note": "=1+1", "who": "@me", "n": -3}
    d["policy"]["locked"] = []  # the plain solve is enough to get a result to write
    r = parse_round(d)
    for data in (round_workbook_bytes(r), result_workbook_bytes(r, solve_round(r))):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            assert sheets and not any(b"<f>" in z.read(n) for n in sheets)
        wb = book(data)
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        risky = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@\t\r"]
        assert risky
        assert all(c.data_type == "s" for c in cells if isinstance(c.value, str))
        assert all(c.quotePrefix for c in risky)
    back = read_workbook_bytes(round_workbook_bytes(r))
    assert [v.name for v in back.volunteers] == [v.name for v in r.volunteers]
    assert back.placements[0].title == "=cmd|' /C calc'!A0"
    assert back.placements[0].needs_assessment == {"note": "=1+1", "who": "@me", "n": -3}


def test_result_workbook_has_the_four_sheets_and_matches_the_result() -> None:
    r = load_round(demo_round_path())
    result = solve_round(r)
    wb = book(result_workbook_bytes(r, result))
    assert wb.sheetnames == ["Assignments", "Unmatched", "Open slots", "KPIs"]
    ws = wb["Assignments"]
    header = [c.value for c in ws[1]]
    assert header[:10] == [
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
    ]
    comps = header[10:]
    assert set(comps) == {k for a in result.assignments for k in a.breakdown}
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(result.assignments)
    names = {v.id: v.name for v in r.volunteers}
    for row, a in zip(rows, result.assignments, strict=True):
        assert (row[0], row[3], row[7].date(), row[8], row[9]) == (
            a.volunteer,
            a.placement,
            a.start,
            a.months,
            a.score,
        )
        assert row[1] == names[a.volunteer]
        assert sum(x or 0 for x in row[10:]) == a.score
    for title in wb.sheetnames:
        s = wb[title]
        assert s.freeze_panes == "A2"
        assert s.auto_filter.ref and s.auto_filter.ref.startswith("A1:")
        assert all(s.column_dimensions[c].width >= 9 for c in "AB")
    un = list(wb["Unmatched"].iter_rows(min_row=2, values_only=True))
    assert [u[0] for u in un] == [u.volunteer for u in result.unmatched_volunteers]
    assert all(u[5] for u in un)  # the reasons column
    slots = list(wb["Open slots"].iter_rows(min_row=2, values_only=True))
    assert [(s[0], s[5]) for s in slots] == [(o.placement, o.open) for o in result.open_slots]
    kpis = {k: v for k, v in wb["KPIs"].iter_rows(min_row=2, values_only=True)}
    assert kpis["status"] == result.status and kpis["objective"] == result.objective
    assert kpis["volunteers_matched"] == result.kpis["volunteers_matched"]


def test_control_characters_xml_cannot_carry_are_dropped_and_cr_becomes_a_line_feed() -> None:
    d = load_round(ROUND_JSON).model_dump(mode="json")
    d["volunteers"][0]["name"] = "Ami\x07na\r\nDi\ralo"
    back = read_workbook_bytes(round_workbook_bytes(parse_round(d), reference_sheets=False))
    assert back.volunteers[0].name == "Amina\nDi\nalo"
