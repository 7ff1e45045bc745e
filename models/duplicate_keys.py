"""Keys given twice in one object of a JSON or YAML document.

Both parsers keep the last value of a repeated key and drop the others without a word:
a second `policy` drops the first one's locks, a second `skills` a volunteer's skills.
A round document never needs a key twice, so where people and their programs hand us a
document (a file, an upload, a request body) a repeated key is an error naming the key
and, where the object has one, its record's id. The check is part of the parse
(`loads_json_checked`): one `json.loads` builds the document and finds its repeated keys.
Documents volmatch wrote itself (stored rounds) are read by a quicker parser without it.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from volmatch.models.errors import ErrorItem

MAX_REPORTED = 100
"""Repeated keys listed at most: a document with more was not written by hand."""


def _message(key: str) -> str:
    return f"{key!r} is given twice in one object (only the last would be read): give it once"


def loads_json_checked(text: str | bytes, section: str, source: str) -> tuple[Any, list[ErrorItem]]:
    """The JSON `text` as `json.loads` reads it, and every key repeated within one of its
    objects (at most `MAX_REPORTED`), as errors under `section` naming the object's `id`
    where it has one, else `source`: one parse serves both. Raises as `json.loads` does
    (`ValueError`, `RecursionError`) for text that is not JSON."""
    found: list[ErrorItem] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs) and len(found) < MAX_REPORTED:
            owner = obj.get("id")
            record = owner if isinstance(owner, str) and owner else source
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    found.append(ErrorItem(section, record, key, _message(key)))
                seen.add(key)
        return obj

    data = json.loads(text, object_pairs_hook=pairs_hook)
    return data, found[:MAX_REPORTED]


def json_duplicate_keys(text: str | bytes, section: str, source: str) -> list[ErrorItem]:
    """The repeated keys of `loads_json_checked` alone, for a reader that parses the text
    itself. Text that is not JSON has none: its parser says what is wrong with it."""
    try:
        return loads_json_checked(text, section, source)[1]
    except (ValueError, RecursionError):
        return []


def refuse_yaml_duplicate(node: yaml.MappingNode) -> None:
    """Raise `yaml.YAMLError` (with the line) when a plain key repeats in `node`; merge
    keys (`<<`) are YAML's own and may repeat."""
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        key = (key_node.tag, key_node.value)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, _message(key_node.value), key_node.start_mark
            )
        seen.add(key)
