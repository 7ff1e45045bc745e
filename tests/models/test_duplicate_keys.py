"""A key given twice in one object of a round file was read as its last value, the others
dropped without a word (a second `policy` dropped the first one's locks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import doc, plc, vol
from volmatch.models import InvalidRound, load_round, parse_text
from volmatch.models.duplicate_keys import MAX_REPORTED, json_duplicate_keys
from volmatch.models.limits import MAX_DOCUMENT_DEPTH

VOLUNTEER = json.dumps(vol("V1"))[1:-1]  # its fields, to write an object with a key twice


def _errors(path: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidRound) as err:
        load_round(path)
    return [(e.record, e.field, e.message) for e in err.value.errors]


def test_a_repeated_key_in_a_json_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        '{"volunteers": [{' + VOLUNTEER + ', "skills": {"teaching": 1, "teaching": 5}, '
        '"nationality": "FR"}], "placements": [], '
        '"policy": {"locked": [{"volunteer": "V1", "placement": "P1"}]}, "policy": {}}'
    )
    got = _errors(path)
    assert [(record, field) for record, field, _ in got] == [
        (str(path), "teaching"),
        ("V1", "skills"),
        ("V1", "nationality"),
        (str(path), "policy"),
    ]
    assert all("given twice" in message for _, _, message in got)


def test_a_repeated_key_in_a_yaml_file_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("volunteers: []\nplacements: []\npolicy: {mode: stable}\npolicy: {}\n")
    [(_, _, message)] = _errors(path)
    assert "'policy' is given twice" in message and "line 4" in message
    merged = tmp_path / "merged.yaml"  # YAML's merge key is no repeated key
    merged.write_text(
        "volunteers:\n- <<: {nationality: BR}\n"
        "  id: V1\n  available_from: 2027-01-01\n  available_until: 2028-12-31\n"
        "placements: []\n"
    )
    assert load_round(merged).volunteers[0].nationality == "BR"


def test_stored_text_is_read_without_the_check_and_files_as_before(tmp_path: Path) -> None:
    text = json.dumps(doc([vol("V1")], [plc("P1")]))
    assert json_duplicate_keys(text, "round", "r") == []
    assert not parse_text('{"volunteers": [], "volunteers": [], "placements": []}').volunteers
    path = tmp_path / "r.json"
    path.write_text(text)
    assert [v.id for v in load_round(path).volunteers] == ["V1"]


def test_a_document_with_many_repeated_keys_lists_a_bounded_number() -> None:
    text = "[" + ",".join(['{"a": 1, "a": 2}'] * (MAX_REPORTED + 50)) + "]"
    assert len(json_duplicate_keys(text, "body", "body")) == MAX_REPORTED
    assert json_duplicate_keys("{not json", "body", "body") == []


@pytest.mark.parametrize("where", ["x", "policy"])
def test_a_file_nested_deeper_than_the_limit_is_refused_for_its_depth(
    tmp_path: Path, where: str
) -> None:
    """The check and the load are one `json.loads`, which reads deeper nesting than the
    loader's limit (MAX_DOCUMENT_DEPTH) up to Python's own: such a file is still refused
    for its depth, not for what lies at the bottom."""
    deep = "[" * (MAX_DOCUMENT_DEPTH + 100) + "]" * (MAX_DOCUMENT_DEPTH + 100)
    path = tmp_path / "r.json"
    path.write_text('{"volunteers": [], "placements": [], "' + where + '": ' + deep + "}")
    [(record, field, message)] = _errors(path)
    assert (record, field) == (str(path), "")
    assert f"nested more than {MAX_DOCUMENT_DEPTH} levels deep" in message
