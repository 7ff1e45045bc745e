"""Every command that reads a file answers bad input with exit 2 and a message naming
the file, record or field: never exit 1, never a traceback. And what is decodable
(UTF-8 with a mark, UTF-16, Windows-1252) is read."""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import doc, plc, vol
from volmatch.api.cli import app

runner = CliRunner()

GOOD = doc([vol("V1", name="José Müller"), vol("V2")], [plc("P1", title="Enseñanza")])


def _laughs() -> str:
    """A "billion laughs" YAML round: nine levels of nine aliases."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
        prev = name
    lines.append("volunteers: []")
    lines.append("placements: [{id: P1, host: H1, country: KE, start: 2027-01-01,")
    lines.append("  needs_assessment: {x: *i}}]")
    return "\n".join(lines) + "\n"


def _template_bytes() -> bytes:
    from volmatch.api.sheets import template_workbook_bytes

    return template_workbook_bytes()


BAD_FILES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    # name -> (file name, its bytes, a phrase the error must hold)
    "binary": ("round.json", lambda: bytes(range(256)) * 20, "binary file"),
    "png": ("round.json", lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "PNG image"),
    "xlsx named json": ("round.json", _template_bytes, "zip archive"),
    "not cp1252": ("round.json", lambda: b'{"volunteers": "\x81\x8d"}', "save it as UTF-8"),
    "deep json": ("round.json", lambda: b"[" * 100_000 + b"]" * 100_000, "nested more than"),
    "deep json inside": (
        "round.json",
        lambda: b'{"volunteers": [], "placements": [], "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "nested more than",
    ),
    "deep yaml flow": ("round.yaml", lambda: b"[" * 100_000 + b"]" * 100_000, "nested more than"),
    "deep yaml block": (
        "round.yaml",
        lambda: "".join("  " * i + "- \n" for i in range(3000)).encode(),
        "nested more than",
    ),
    "billion laughs": ("round.yaml", lambda: _laughs().encode(), "aliases"),
    "huge integer": (
        "round.json",
        lambda: b'{"volunteers": [], "placements": [], "policy": {"seed": ' + b"9" * 5000 + b"}}",
        "4300 digits",
    ),
    "empty": ("round.json", lambda: b"", "not valid JSON"),
    "truncated xlsx": (
        "round.xlsx",
        lambda: _template_bytes()[:3000],
        "cannot read it as an .xlsx",
    ),
    "truncated end of xlsx": (
        "round.xlsx",
        lambda: _template_bytes()[:-300],
        "cannot read it as an .xlsx",
    ),
    "zip of nothing": ("round.xlsx", lambda: b"PK\x03\x04" + b"\0" * 300, "cannot read it"),
    "text as xlsx": ("round.xlsx", lambda: json.dumps(GOOD).encode(), "cannot read it"),
    "big title": (
        "round.json",
        lambda: json.dumps(doc([vol()], [plc("P1", title="x" * 5_000_000)])).encode(),
        "placements P1: title: String should have at most 300 characters",
    ),
    "200,000 skill keys": (
        "round.json",
        lambda: json.dumps(
            doc([vol("V1", skills={f"s{i}": 3 for i in range(200_000)})], [plc()])
        ).encode(),
        "volunteers V1: skills: Dictionary should have at most 50 items",
    ),
    "200,000 bad skill keys": (
        "round.json",
        lambda: json.dumps(
            doc([vol("V1", skills={f"S{i}": 3 for i in range(200_000)})], [plc()])
        ).encode(),
        "more error(s) in it",
    ),
    "5 MB id": (
        "round.json",
        lambda: json.dumps(doc([vol("V" * 5_000_000)], [plc()])).encode(),
        "volunteers volunteers[0]: id:",
    ),
}


def _write(tmp_path: Path, kind: str) -> Path:
    name, make, _ = BAD_FILES[kind]
    path = tmp_path / name
    path.write_bytes(make())
    return path


def _commands(path: Path, tmp_path: Path) -> list[list[str]]:
    return [
        ["validate", str(path)],
        ["solve", str(path), "-q"],
        ["candidates", str(path)],
        ["explain", str(path), "--volunteer", "V1"],
        ["template", "--out", str(tmp_path / "t.xlsx"), "--from", str(path)],
    ]


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_files_exit_2_with_a_clear_error(kind: str, tmp_path: Path) -> None:
    path = _write(tmp_path, kind)
    phrase = BAD_FILES[kind][2]
    for args in (
        _commands(path, tmp_path) if kind in ("binary", "deep json") else [["validate", str(path)]]
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert "Traceback" not in res.output
        assert phrase in res.output, res.output[:2000]
        assert len(res.output) < 20_000  # no 5 MB value echoed back


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: t.encode("utf-16"),  # with its byte-order mark
        lambda t: t.encode("utf-16-le"),  # without
        lambda t: t.encode("utf-16-be"),
        lambda t: t.encode("utf-32"),
        lambda t: t.encode("cp1252"),  # Windows "ANSI", as Notepad saved it
    ],
    ids=["utf-8-bom", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"],
)
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_decodable_files_are_read(
    encode: Callable[[str], bytes], suffix: str, tmp_path: Path
) -> None:
    import yaml

    text = (
        json.dumps(GOOD, ensure_ascii=False)
        if suffix == ".json"
        else yaml.safe_dump(GOOD, allow_unicode=True)
    )
    path = tmp_path / f"round{suffix}"
    path.write_bytes(encode(text))
    res = runner.invoke(app, ["solve", str(path), "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["assignments"]


def test_a_scenario_file_that_is_no_text_exits_2(tmp_path: Path) -> None:
    for name, data in {
        "binary.yaml": bytes(range(256)) * 4,
        "deep.yaml": b"[" * 50_000 + b"]" * 50_000,
        "laughs.yaml": _laughs().encode(),
    }.items():
        path = tmp_path / name
        path.write_bytes(data)
        res = runner.invoke(app, ["whatif", str(path), "--out", str(tmp_path / "out")])
        assert res.exit_code == 2, (name, res.output)
        assert "invalid scenario" in res.output and "Traceback" not in res.output


def test_a_round_file_named_by_a_scenario_that_is_no_text_exits_2(tmp_path: Path) -> None:
    (tmp_path / "base.json").write_bytes(b"\0\1\2" * 100)
    path = tmp_path / "s.yaml"
    path.write_text("base: base.json\nvariants:\n  - name: x\n    changes: []\n")
    res = runner.invoke(app, ["whatif", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "binary file" in res.output


def _cell(value: object) -> object:
    """A workbook cell as a spreadsheet program writes it to CSV (dates as ISO text)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return "" if value is None else value


def _csv_folder(tmp_path: Path, encoding: str, delimiter: str) -> Path:
    import csv

    from volmatch.api.sheets import load_xlsx_tables, round_workbook_bytes
    from volmatch.models import parse_round

    folder = tmp_path / f"round-{encoding}-{ord(delimiter)}"
    folder.mkdir()
    tables = load_xlsx_tables(round_workbook_bytes(parse_round(GOOD)))
    for name in ("Volunteers", "Placements", "Policy"):
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter).writerows(
            [_cell(v) for v in row] for row in tables[name].rows
        )
        (folder / f"{name}.csv").write_bytes(buf.getvalue().encode(encoding))
    return folder


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("utf-8", ";"), ("utf-16", "\t"), ("cp1252", ";")],
)
def test_csv_folders_as_spreadsheet_programs_save_them_are_read(
    encoding: str, delimiter: str, tmp_path: Path
) -> None:
    folder = _csv_folder(tmp_path, encoding, delimiter)
    res = runner.invoke(app, ["solve", str(folder), "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["assignments"]


def test_csv_folder_oddities_exit_2_naming_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases: dict[Path, str] = {empty: "no .csv files"}
    for name, data in {
        "binary": bytes(range(256)) * 10,
        "nul": b"id,nationality\nV1,\0CN\n",
        "huge": b"id\n" + b"x" * 200_000 + b"\n",
    }.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "Volunteers.csv").write_bytes(data)
        (folder / "Placements.csv").write_text("id,host,country,start\n")
        cases[folder] = "Volunteers.csv: cannot read the file"
    nested = tmp_path / "nested"
    (nested / "Volunteers.csv").mkdir(parents=True)
    cases[nested] = "a folder, not a CSV file"
    for folder, phrase in cases.items():
        res = runner.invoke(app, ["validate", str(folder)])
        assert res.exit_code == 2, (folder, res.output)
        assert phrase in res.output and "Traceback" not in res.output


SIDE_FILES = {
    "binary.json": bytes(range(256)) * 4,
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "laughs.yaml": _laughs().encode(),
    "twice.json": b'{"assignments": [], "assignments": []}',
}


@pytest.mark.parametrize("name", sorted(SIDE_FILES))
@pytest.mark.parametrize(
    "command",
    [
        ["solve", "{round}", "--outcomes", "{side}"],
        ["backfill", "{round}", "--result", "{side}", "--declined", "V1", "--out", "{out}"],
        ["advise", "{round}", "--placement-file", "{side}"],
        ["report", "{side}", "--out", "{out}"],
    ],
    ids=["outcomes", "result", "placement-file", "programme"],
)
def test_a_side_file_that_is_no_document_exits_2(
    tmp_path: Path, name: str, command: list[str]
) -> None:
    """Outcomes, result, draft placement and programme files were read with plain
    json/yaml: a 100,000-deep file or a binary one exited 1 with a RecursionError or a
    UnicodeDecodeError; a key given twice was read as its last value."""
    rnd = tmp_path / "round.json"
    rnd.write_text(json.dumps(doc([vol("V1")], [plc("P1")])))
    side = tmp_path / name
    side.write_bytes(SIDE_FILES[name])
    args = [a.format(round=rnd, side=side, out=tmp_path / "out") for a in command]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, (args, res.output, res.exception)
    assert "Traceback" not in res.output
