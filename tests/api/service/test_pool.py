"""Pool uploads from a file (workbook, zip of CSV files, JSON, YAML): all or nothing,
every error named by sheet, row and column; and re-runs of a round with pairs locked or
forbidden and a move limit."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import doc, plc, vol
from volmatch.api.service.pool import read_pool, store_pool
from volmatch.api.service.rounds_service import rerun_document
from volmatch.models import InvalidRound, parse_round

DOC = doc([vol("V1", name="Ana"), vol("V2")], [plc("P1", host="H09", slots=2)])


def _workbook(d: dict[str, Any]) -> bytes:
    from volmatch.api.sheets import round_workbook_bytes

    return round_workbook_bytes(parse_round(d))


def _csv_cell(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return "" if value is None else value


@pytest.fixture(name="database")
def database_fixture(tmp_path: Path) -> Any:
    from volmatch.api.service.db import migrate, open_database

    db = open_database(f"sqlite:///{tmp_path / 'pool.db'}")
    migrate(db)
    yield db
    db.dispose()


def test_json_yaml_and_workbook_read_the_same_pool() -> None:
    import yaml

    from_json = read_pool("pool.json", json.dumps(DOC).encode())
    from_yaml = read_pool("pool.yml", yaml.safe_dump(DOC).encode())
    from_xlsx = read_pool("pool.xlsx", _workbook(DOC))
    assert [v.id for v in from_xlsx.volunteers] == ["V1", "V2"]
    assert from_json.volunteers == from_yaml.volunteers == from_xlsx.volunteers
    assert from_json.placements == from_xlsx.placements


def test_a_workbook_error_names_sheet_row_and_column() -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(_workbook(DOC)))
    ws = wb["Volunteers"]
    header = [c.value for c in ws[1]]
    ws.cell(row=3, column=header.index("nationality") + 1, value="Atlantis")
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(InvalidRound) as err:
        read_pool("pool.xlsx", out.getvalue())
    [e] = err.value.errors
    assert e.section.lower() == "volunteers"
    assert "row 3" in e.record or e.record == "V2"
    assert "nationality" in e.field


def test_a_zip_of_csv_files(tmp_path: Path) -> None:
    import csv

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(_workbook(DOC)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for sheet in ("Volunteers", "Placements"):
            text = io.StringIO()
            csv.writer(text).writerows(
                [_csv_cell(c) for c in row] for row in wb[sheet].iter_rows(values_only=True)
            )
            z.writestr(f"some/folder/{sheet}.csv", text.getvalue())
    r = read_pool("pool.zip", buf.getvalue())
    assert [p.id for p in r.placements] == ["P1"]


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("pool.json", b"{not json", "cannot read it as JSON"),
        ("pool.zip", b"PK nonsense", "cannot read it as a zip"),
        ("pool.pdf", b"%PDF", "send a workbook"),
        ("pool.json", b"", "empty"),
    ],
)
def test_unreadable_files_are_one_error_naming_the_file(name: str, data: bytes, says: str) -> None:
    with pytest.raises(InvalidRound) as err:
        read_pool(name, data)
    [e] = err.value.errors
    assert e.record == name and says in e.message


def test_store_pool_creates_then_replaces(database: Any) -> None:
    from volmatch.api.service.queries import placement_rows, volunteer_rows

    r = parse_round(DOC)
    with database.write() as s:
        first = store_pool(s, r)
    assert first.volunteers_created == ["V1", "V2"] and first.placements_created == ["P1"]
    with database.write() as s:
        again = store_pool(s, r)
    assert again.volunteers_updated == ["V1", "V2"] and again.placements_updated == ["P1"]
    with database.read() as s:
        assert [v.data["name"] for v in volunteer_rows(s, ["V1"])] == ["Ana"]
        [p] = placement_rows(s)
        assert p.host_id == "H09"


def test_rerun_document_adds_pairs_and_previous() -> None:
    d = doc(
        [vol("V1"), vol("V2")],
        [plc("P1"), plc("P2")],
        forbidden=[{"volunteer": "V1", "placement": "P2"}],
    )
    result = {
        "assignments": [
            {
                "volunteer": "V1",
                "placement": "P1",
                "score": 900,
                "start": "2027-04-01",
                "months": 6,
                "breakdown": {},
            }
        ]
    }
    out = rerun_document(d, result, lock=[("V1", "P2")], forbid=[("V2", "P1")], max_moves=1)
    assert out["policy"]["locked"] == [{"volunteer": "V1", "placement": "P2"}]
    assert out["policy"]["forbidden"] == [{"volunteer": "V2", "placement": "P1"}]
    assert out["policy"]["max_moves"] == 1
    assert out["previous"] == [
        {"volunteer": "V1", "placement": "P1", "start": "2027-04-01", "months": 6, "score": 900}
    ]
    parse_round(out)  # a valid round
    assert d["policy"]["forbidden"] == [{"volunteer": "V1", "placement": "P2"}]  # untouched
