"""Spreadsheets in and out: round trip, template, result workbook, formula injection,
CSV folders, and a workbook saved by LibreOffice."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from volmatch.api.sheets import (
    HELP,
    LISTS,
    PLACEMENTS,
    POLICY,
    PREVIOUS,
    VOLUNTEERS,
    read_csv_folder,
    read_workbook,
    read_workbook_bytes,
    result_workbook_bytes,
    round_workbook,
    round_workbook_bytes,
    template_workbook_bytes,
    write_round_workbook,
)
from volmatch.matching import solve_round
from volmatch.matching.validate import validate_result
from volmatch.models import InvalidRound, Placement, Policy, Volunteer, load_round, parse_round
from volmatch.scenarios.demo import demo_round_path

FIXTURES = Path(__file__).parent / "fixtures"
ROUND_JSON = FIXTURES / "sheets_round.json"
LIBREOFFICE_FIXTURE = FIXTURES / "sheets_round_libreoffice.xlsx"
INJECTIONS = ["=1+2", "+33 1 23", "-5", "@SUM(A1)", "=HYPERLINK(\"http://x\",\"y\")",
              "\t=cmd", "\r=cmd"]


@pytest.fixture(scope="module")
def fixture_round():  # type: ignore[no-untyped-def]
    return load_round(ROUND_JSON)


def _book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_round_trip_of_the_fixture_round_is_exact(fixture_round) -> None:  # type: ignore[no-untyped-def]
    assert read_workbook_bytes(round_workbook_bytes(fixture_round)) == fixture_round


def test_round_trip_of_the_demo_round_is_exact() -> None:
    r = load_round(demo_round_path())
    back = read_workbook_bytes(round_workbook_bytes(r, reference_sheets=False))
    assert back == r


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
    wb = _book(template_workbook_bytes())
    assert wb.sheetnames == [VOLUNTEERS, PLACEMENTS, POLICY, PREVIOUS, HELP, LISTS]
    vols = wb[VOLUNTEERS]
    header = [c.value for c in vols[1]]
    assert header == list(Volunteer.model_fields)
    assert all(c.comment is not None and "Example" in c.comment.text
               for c in vols[1] if c.value in ("languages", "nationality", "available_from"))
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
        wb = _book(data)
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
    wb = _book(result_workbook_bytes(r, result))
    assert wb.sheetnames == ["Assignments", "Unmatched", "Open slots", "KPIs"]
    ws = wb["Assignments"]
    header = [c.value for c in ws[1]]
    assert header[:10] == ["volunteer", "name", "nationality", "placement", "title", "host",
                           "country", "start", "months", "score"]
    comps = header[10:]
    assert set(comps) == {k for a in result.assignments for k in a.breakdown}
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(result.assignments)
    names = {v.id: v.name for v in r.volunteers}
    for row, a in zip(rows, result.assignments, strict=True):
        assert (row[0], row[3], row[7].date(), row[8], row[9]) == (
            a.volunteer, a.placement, a.start, a.months, a.score)
        assert row[1] == names[a.volunteer]
        assert sum(x or 0 for x in row[10:]) == a.score
    for title in wb.sheetnames:
        s = wb[title]
        assert s.freeze_panes == "A2"
        assert s.auto_filter.ref and s.auto_filter.ref.startswith("A1:")
        assert all(s.column_dimensions[c].width >= 9 for c in "AB")
    un = list(wb["Unmatched"].iter_rows(min_row=2, values_only=True))
    assert [u[0] for u in un] == [u.volunteer for u in result.unmatched_volunteers]
    assert all(u[3] for u in un)
    slots = list(wb["Open slots"].iter_rows(min_row=2, values_only=True))
    assert [(s[0], s[5]) for s in slots] == [(o.placement, o.open) for o in result.open_slots]
    kpis = {k: v for k, v in wb["KPIs"].iter_rows(min_row=2, values_only=True)}
    assert kpis["status"] == result.status and kpis["objective"] == result.objective
    assert kpis["volunteers_matched"] == result.kpis["volunteers_matched"]


def test_a_round_read_from_a_workbook_solves_like_its_json(fixture_round) -> None:  # type: ignore[no-untyped-def]
    from_sheet = read_workbook_bytes(round_workbook_bytes(fixture_round))
    a, b = solve_round(fixture_round), solve_round(from_sheet)
    assert a.assignments == b.assignments and a.objective == b.objective
    assert validate_result(from_sheet, b) == []


def _write_csv_folder(r_bytes: bytes, folder: Path) -> None:
    import csv

    wb = _book(r_bytes)
    for name in (VOLUNTEERS, PLACEMENTS, POLICY, PREVIOUS):
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for row in wb[name].iter_rows(values_only=True):
                w.writerow(["" if v is None else
                            f"{v:%Y-%m-%d}" if isinstance(v, dt.datetime) else v for v in row])


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
    assert any(t.startswith("Placements row 3 (P002): column ") and "'01/03/2027'" in t
               for t in texts), texts


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
        [office, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
         "--convert-to", "xlsx", "--outdir", str(out), str(ours)],
        capture_output=True, timeout=120, check=False,
    )
    converted = out / "ours.xlsx"
    if proc.returncode != 0 or not converted.exists():
        pytest.fail(f"libreoffice failed: {proc.stderr.decode(errors='replace')}")
    assert read_workbook(converted) == fixture_round


def test_the_libreoffice_fixture_really_comes_from_libreoffice() -> None:
    with zipfile.ZipFile(LIBREOFFICE_FIXTURE) as z:
        app = z.read("docProps/app.xml").decode()
    assert "LibreOffice" in app


def test_control_characters_xml_cannot_carry_are_dropped_and_cr_becomes_a_line_feed() -> None:
    d = load_round(ROUND_JSON).model_dump(mode="json")
    d["volunteers"][0]["name"] = "Ami\x07na\r\nDi\ralo"
    back = read_workbook_bytes(round_workbook_bytes(parse_round(d), reference_sheets=False))
    assert back.volunteers[0].name == "Amina\nDi\nalo"


# Settings the policy-rules work adds; only those the Policy model has are tried, so the
# test follows the contract as it grows.
POLICY_RULES = {
    "group_together": "country", "max_same_nationality_per_placement": 2,
    "max_nationality_share_per_country": 0.4, "gender_balance": True, "min_fill": {"5": 1},
    "max_per_host": 3, "objective": ["urgent_coverage", "score"], "objective_tolerance": 0.05,
    "budget": {"total": 100000, "cost": {"KE": 9000, "SN": 8000}, "default_cost": 10000},
    "move_cost": 50, "max_moves": 2, "frozen_stages": ["visa", "travel_booked"],
    "rule_costs": False,
}


def test_every_policy_setting_survives_the_policy_sheet() -> None:
    d = load_round(ROUND_JSON).model_dump(mode="json")
    d["policy"].update({k: v for k, v in POLICY_RULES.items() if k in Policy.model_fields})
    r = parse_round(d)
    assert read_workbook_bytes(round_workbook_bytes(r, reference_sheets=False)) == r
    keys = [row[0] for row in round_workbook(r)[POLICY].iter_rows(min_row=2, values_only=True)]
    for name in Policy.model_fields:
        assert name in keys or any(k.startswith(f"{name}.") for k in keys), name
