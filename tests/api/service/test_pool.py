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
        ("pool.json", b"{not json", "not valid JSON"),
        ("pool.yaml", b"volunteers: [\n  - : :\n", "not valid JSON/YAML"),
        ("pool.json", b"\x00\x01binary\x00", "a binary file"),
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


def _zip_of_the_pool() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Volunteers.csv", "id,nationality,available_from,available_until\n" * 20)
    return buf.getvalue()


def _damaged(data: bytes) -> bytes:
    """The first member's stored CRC no longer matches its bytes."""
    out = bytearray(data)
    at = data.find(b"PK\x01\x02") + 16  # the central directory's CRC-32
    out[at] ^= 0xFF
    return bytes(out)


def _encrypted(data: bytes) -> bytes:
    """The member marked encrypted (general purpose flag bit 0), as a password zip is."""
    out = bytearray(data)
    out[6] |= 1
    out[data.find(b"PK\x01\x02") + 8] |= 1
    return bytes(out)


def _unknown_method(data: bytes) -> bytes:
    """The member packed with compression method 99 (AES), which zipfile cannot unpack."""
    out = bytearray(data)
    out[8] = 99
    out[data.find(b"PK\x01\x02") + 10] = 99
    return bytes(out)


@pytest.mark.parametrize(
    ("spoil", "says"),
    [(_damaged, "cannot unpack"), (_encrypted, "encrypted"), (_unknown_method, "cannot unpack")],
)
def test_a_damaged_or_encrypted_zip_is_an_error_not_a_crash(spoil: Any, says: str) -> None:
    """zipfile raised BadZipFile, RuntimeError or NotImplementedError from the read: the
    upload was a 500."""
    with pytest.raises(InvalidRound) as err:
        read_pool("pool.zip", spoil(_zip_of_the_pool()))
    [e] = err.value.errors
    assert e.record == "pool.zip" and says in e.message and "Volunteers.csv" in e.message


def test_a_pool_file_is_read_as_the_command_line_reads_it() -> None:
    """The pool upload read YAML with plain `yaml.safe_load` (no bound on aliases: a few
    kilobytes stood for millions of volunteers) and JSON as UTF-8 only."""
    record = "{id: V1, nationality: BR, available_from: 2027-01-01, available_until: 2028-12-31}"
    aliases = "placements: []\nvolunteers: [&r " + record + ", *r" * 200_000 + "]\n"
    with pytest.raises(InvalidRound) as err:
        read_pool("pool.yaml", aliases.encode())
    [e] = err.value.errors
    assert e.record == "pool.yaml" and "aliases" in e.message
    windows = json.dumps({**DOC, "volunteers": [{**DOC["volunteers"][0], "name": "Zoë"}]})
    r = read_pool("pool.json", windows.encode("cp1252"))
    assert r.volunteers[0].name == "Zoë"
    r = read_pool("pool.json", json.dumps(DOC).encode("utf-16"))
    assert [p.id for p in r.placements] == ["P1"]
