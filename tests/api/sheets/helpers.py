"""The sheets tests' fixture files and a workbook opener."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl

FIXTURES = Path(__file__).parent / "fixtures"
ROUND_JSON = FIXTURES / "sheets_round.json"
"""A small round that uses every cell convention (lists, maps, dates, nested JSON)."""
LIBREOFFICE_FIXTURE = FIXTURES / "sheets_round_libreoffice.xlsx"
"""`ROUND_JSON` written by us and saved again by LibreOffice."""


def book(data: bytes) -> openpyxl.Workbook:
    """The workbook in `data`."""
    return openpyxl.load_workbook(io.BytesIO(data))
