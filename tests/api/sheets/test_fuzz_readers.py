"""Fuzzed spreadsheets: a folder of CSV files with any bytes, encoding, separator or
blank rows, and a round workbook with bytes flipped anywhere in a part or a part's XML
spoiled, reads as a round or fails with `InvalidRound`; nothing else escapes (which the
command line would turn into exit 1 and the service into a 500)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import doc, plc, vol
from volmatch.api.sheets import read_csv_folder, read_workbook_bytes, round_workbook_bytes
from volmatch.models import InvalidRound, parse_round

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
ROUND = parse_round(
    doc(
        [vol("V1", name="Zoë Lima"), vol("V2", skills={"teaching": 2})],
        [plc("P1", host="H1", slots=2, needs_assessment={"counterpart": "district office"})],
    )
)
WORKBOOK = round_workbook_bytes(ROUND)


def _rows(sheet: str) -> list[list[str]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(WORKBOOK), read_only=True)
    return [
        ["" if c is None else str(c)[:10] if hasattr(c, "isoformat") else str(c) for c in row]
        for row in wb[sheet].iter_rows(values_only=True)
    ]


VOLUNTEERS, PLACEMENTS = _rows("Volunteers"), _rows("Placements")
CSV_TEXT = st.text(
    alphabet=st.sampled_from(list(',;\t"\n\r x:=[]{}-.019VPid\ufeffé日')), max_size=300
)


def _csv(rows: list[list[str]], delimiter: str, encoding: str, blank_every: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    for i, row in enumerate(rows):
        writer.writerow(row)
        if blank_every and i % blank_every == 0:
            writer.writerow([])
    return out.getvalue().encode(encoding, "replace")


def _reads_or_is_invalid(read: object, *args: object) -> None:
    try:
        read(*args)  # type: ignore[operator]
    except InvalidRound as exc:
        assert exc.errors


@FUZZ
@given(
    volunteers=st.one_of(
        st.binary(max_size=400),
        CSV_TEXT.map(str.encode),
        st.builds(
            _csv,
            st.just(VOLUNTEERS),
            st.sampled_from([",", ";", "\t"]),
            st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
            st.integers(0, 3),
        ),
        CSV_TEXT.map(lambda t: _csv(VOLUNTEERS, ",", "utf-8", 0) + t.encode()),
    ),
    placements=st.one_of(st.just(_csv(PLACEMENTS, ",", "utf-8", 0)), st.binary(max_size=200)),
    extra=st.sampled_from([None, "Policy.csv", "Previous.csv", "notes.csv", "_mine.csv"]),
)
def test_any_csv_folder_reads_or_fails_clearly(
    tmp_path_factory: object, volunteers: bytes, placements: bytes, extra: str | None
) -> None:
    folder = Path(tmp_path_factory.mktemp("csv"))  # type: ignore[attr-defined]
    (folder / "Volunteers.csv").write_bytes(volunteers)
    (folder / "Placements.csv").write_bytes(placements)
    if extra:
        (folder / extra).write_bytes(volunteers)
    _reads_or_is_invalid(read_csv_folder, folder)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_as_spreadsheet_programs_save_it_reads_the_same_round(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    """BOM, UTF-16 and Windows-1252, semicolons (European Excel) and tabs, blank rows."""
    (tmp_path / "Volunteers.csv").write_bytes(_csv(VOLUNTEERS, delimiter, encoding, 1))
    (tmp_path / "Placements.csv").write_bytes(_csv(PLACEMENTS, delimiter, encoding, 0))
    assert read_csv_folder(tmp_path) == ROUND


def _spoiled(part: str, at: float, junk: bytes, how: str) -> bytes:
    """The workbook with one part's XML spoiled (`how`), zipped again."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(WORKBOOK)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == part:
                i = int(at * len(data))
                if how == "drop":
                    continue
                data = {
                    "replace": data[:i] + junk + data[i + len(junk) :],
                    "cut": data[:i],
                    "insert": data[:i] + junk + data[i:],
                }[how]
            dst.writestr(name, data)
    return out.getvalue()


def _flipped(at_bit: tuple[int, int]) -> bytes:
    """The workbook's bytes with one bit flipped (in a zip header or a compressed part)."""
    at, bit = at_bit
    return WORKBOOK[:at] + bytes([WORKBOOK[at] ^ (1 << bit)]) + WORKBOOK[at + 1 :]


with zipfile.ZipFile(io.BytesIO(WORKBOOK)) as _z:
    PARTS = sorted(_z.namelist())


@FUZZ
@given(
    workbook=st.one_of(
        st.builds(
            _spoiled,
            st.sampled_from(PARTS),
            st.floats(0, 1),
            st.binary(min_size=1, max_size=30),
            st.sampled_from(["replace", "cut", "insert", "drop"]),
        ),
        st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 7)).map(
            lambda p: (
                WORKBOOK[: p[0]] + bytes([WORKBOOK[p[0]] ^ (1 << p[1])]) + WORKBOOK[p[0] + 1 :]
            )
        ),
        st.binary(max_size=300),
    )
)
def test_any_spoiled_workbook_reads_or_fails_clearly(workbook: bytes) -> None:
    _reads_or_is_invalid(read_workbook_bytes, workbook)
