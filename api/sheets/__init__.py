"""Spreadsheets in and out: a round as an Excel workbook (or a folder of CSV files), and
the result of a round as a workbook a coordinator can sort and filter.

Reading maps cells to the contract's round document and validates it with the same
models as JSON (`models.parse_round`); every error, whether a cell that cannot be read
(a date cell that is not a date, `en:B2; zh` without a level) or a rule of the contract,
comes back at once naming the sheet, the row number and the column as Excel shows them.

The cell conventions (`docs/spreadsheets.md`):
- one row per record, row 1 holds the field names; a blank cell means "not given";
- maps as `en:B2; zh:native`, lists as `a; b`, locked/forbidden pairs as `V001>P003`;
  a cell that starts with `[` or `{` in a list or map column is read as JSON;
- dates as real date cells or ISO text (`2027-03-01`);
- the Policy sheet holds `key | value | notes` rows, nested fields as `weights.skills`;
- `needs_assessment` as a JSON object cell or as `needs_assessment.<key>` columns.

Column kinds are derived from the pydantic models, so a field added to `Policy` (or to
a record) is read and written without a change here: simple values, lists and maps in
the cell syntax above, anything more complex as JSON.
"""

from __future__ import annotations

from volmatch.api.sheets.cells import (
    HELP,
    LISTS,
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
    column_letter,
    kind_of,
    put,
    read_cell,
    write_cell,
)
from volmatch.api.sheets.reader import (
    WORKBOOK_SUFFIXES,
    Table,
    is_sheet_source,
    load_csv_tables,
    load_xlsx_tables,
    read_csv_folder,
    read_sheets,
    read_workbook,
    read_workbook_bytes,
    round_from_tables,
)
from volmatch.api.sheets.writer import (
    EXAMPLES,
    result_workbook,
    result_workbook_bytes,
    round_workbook,
    round_workbook_bytes,
    template_workbook_bytes,
    write_result_workbook,
    write_round_workbook,
)

__all__ = [
    "EXAMPLES",
    "HELP",
    "LISTS",
    "PLACEMENTS",
    "POLICY",
    "POLICY_COLUMNS",
    "PREVIOUS",
    "RECORD_SHEETS",
    "REFERENCE_SHEETS",
    "REQUIRED_SHEETS",
    "VOLUNTEERS",
    "WORKBOOK_SUFFIXES",
    "CellError",
    "Kind",
    "Table",
    "column_letter",
    "is_sheet_source",
    "kind_of",
    "load_csv_tables",
    "load_xlsx_tables",
    "put",
    "read_cell",
    "read_csv_folder",
    "read_sheets",
    "read_workbook",
    "read_workbook_bytes",
    "result_workbook",
    "result_workbook_bytes",
    "round_from_tables",
    "round_workbook",
    "round_workbook_bytes",
    "template_workbook_bytes",
    "write_cell",
    "write_result_workbook",
    "write_round_workbook",
]
