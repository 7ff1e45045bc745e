"""A file of deployment outcomes (`volmatch solve --outcomes`, `volmatch whatif
--outcomes`): how earlier deployments ended, fed into the next round through the policy's
outcome fields (`docs/lifecycle.md`).

JSON or YAML: a list of outcomes, or an object with an `outcomes` list (a programme file
of `volmatch report` works as it is; its other keys are not read). CSV: one outcome per
row, a header naming the fields (`volunteer,placement,host,country,completed,
ended_early_reason,host_rating,volunteer_rating,report,ended_on,round`; only
`volunteer`, `placement` and `completed` are needed), empty cells for no value. Every
field is checked as `models.lifecycle.Outcome`; all errors are reported at once, each
naming the record (`outcomes[3]`, or `row 4` of a CSV file, the header being row 1)
and the field.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from volmatch.models import ErrorItem
from volmatch.models.decode import UndecodableText
from volmatch.models.lifecycle import InvalidHistory, Outcome
from volmatch.models.load import UnreadableDocument, read_document, read_text_file

SECTION = "outcomes"


def _fail(path: Path, message: str) -> InvalidHistory:
    return InvalidHistory([ErrorItem("file", str(path), "", message)])


def _rows(path: Path) -> tuple[list[Any], list[str]]:
    """The raw records and the name of each (for error messages)."""
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(read_text_file(path)))
        rows: list[Any] = []
        for row in reader:
            if None in row:
                rows.append({"": "more cells than the header names"})
            else:
                rows.append({k.strip(): v.strip() for k, v in row.items() if v and v.strip()})
        return rows, [f"row {k + 2}" for k in range(len(rows))]
    raw = read_document(path)
    if isinstance(raw, dict) and "outcomes" in raw:
        raw = raw["outcomes"]
    if not isinstance(raw, list):
        raise _fail(path, "expected a list of outcomes, or an object with an 'outcomes' list")
    return raw, [f"outcomes[{k}]" for k in range(len(raw))]


def read_outcomes(path: Path) -> list[Outcome]:
    """The outcomes in `path`; raises `InvalidHistory` with every error (record, field)."""
    from pydantic import ValidationError

    try:
        rows, names = _rows(path)
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror})") from None
    except (UndecodableText, UnreadableDocument) as exc:
        raise _fail(path, str(exc)) from None
    out: list[Outcome] = []
    errors: list[ErrorItem] = []
    for row, name in zip(rows, names, strict=True):
        if not isinstance(row, dict):
            errors.append(ErrorItem(SECTION, name, "", "an outcome is an object of fields"))
            continue
        if "" in row:
            errors.append(ErrorItem(SECTION, name, "", str(row[""])))
            continue
        try:
            out.append(Outcome.model_validate(row))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(x) for x in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                if not field and "ended_early_reason" in msg:
                    field = "ended_early_reason"
                errors.append(ErrorItem(SECTION, name, field, msg))
    if errors:
        raise InvalidHistory(errors)
    return out


def describe(e: ErrorItem) -> str:
    """One error as a line: `outcomes[3]: host_rating: ...`."""
    return f"{e.record}: {e.field}: {e.message}" if e.field else f"{e.record}: {e.message}"
