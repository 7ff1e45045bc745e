"""The one free-form field of the contract, a placement's `needs_assessment`: any JSON
object, within the limits of `models.limits` (depth, keys, text, total size, finite
numbers), so that it can be stored, returned and read by any JSON reader."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from volmatch.models.limits import (
    MAX_ASSESSMENT_DEPTH,
    MAX_ASSESSMENT_KEYS,
    MAX_ASSESSMENT_SIZE,
    MAX_ASSESSMENT_TEXT,
    shown,
)

JSON_CHARS_PER_TEXT_CHAR = 40
"""A bound on the compact JSON per counted character (a node counts 1, its text its
length): an escape is at most 12 characters (a surrogate pair), a number at most ~25,
plus quotes, a colon and a comma."""


def _where(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "(top)"


def _problem(value: Any, path: tuple[str | int, ...]) -> str | None:
    """What is wrong with one scalar, or None."""
    if value is None or isinstance(value, bool | dt.date):
        return None
    if isinstance(value, str):
        if len(value) > MAX_ASSESSMENT_TEXT:
            return (
                f"text at {_where(path)} has {len(value)} characters; at most "
                f"{MAX_ASSESSMENT_TEXT} are allowed"
            )
        return None
    if isinstance(value, int):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return f"number at {_where(path)} is {value}: only finite numbers are allowed"
        return None
    return f"value at {_where(path)} is a {type(value).__name__}: use JSON values only"


def check_assessment(value: dict[str, Any]) -> dict[str, Any]:
    """`value` if it keeps every limit of a needs assessment; `ValueError` naming the
    first place that does not. Walks without recursion, so any depth is safe."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    # At least one character of JSON per node and per character of text: a running count
    # stops a document of shared references (YAML aliases) long before it is expanded.
    chars = 0
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            chars += 1 + len(node)
        elif isinstance(node, int) and not isinstance(node, bool):
            chars += 1 + node.bit_length() // 4  # fewer than its decimal digits
        else:
            chars += 1
        if chars > MAX_ASSESSMENT_SIZE:
            raise ValueError(f"more than {MAX_ASSESSMENT_SIZE} characters as JSON")
        if len(path) > MAX_ASSESSMENT_DEPTH:
            raise ValueError(f"nested deeper than {MAX_ASSESSMENT_DEPTH} levels at {_where(path)}")
        if isinstance(node, dict):
            if len(node) > MAX_ASSESSMENT_KEYS:
                raise ValueError(
                    f"{len(node)} keys at {_where(path)}; at most {MAX_ASSESSMENT_KEYS} are allowed"
                )
            for key, item in node.items():
                if not isinstance(key, str):
                    raise ValueError(f"key {shown(key)} at {_where(path)} is not text")
                if len(key) > MAX_ASSESSMENT_TEXT:
                    raise ValueError(f"a key at {_where(path)} is too long")
                chars += len(key)
                stack.append((item, (*path, key)))
        elif isinstance(node, list | tuple):
            if len(node) > MAX_ASSESSMENT_KEYS:
                raise ValueError(
                    f"{len(node)} items at {_where(path)}; at most {MAX_ASSESSMENT_KEYS} "
                    "are allowed"
                )
            stack.extend((item, (*path, i)) for i, item in enumerate(node))
        else:
            problem = _problem(node, path)
            if problem is not None:
                raise ValueError(problem)
    if JSON_CHARS_PER_TEXT_CHAR * chars <= MAX_ASSESSMENT_SIZE:
        return value  # far below the limit however it is written: no need to write it
    size = len(json.dumps(value, separators=(",", ":"), default=str))
    if size > MAX_ASSESSMENT_SIZE:
        raise ValueError(f"{size} characters as JSON; at most {MAX_ASSESSMENT_SIZE} are allowed")
    return value
