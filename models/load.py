"""Reading round documents (JSON or YAML) into a `Round`, reporting every error at once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from models.checks import cross_record_errors
from models.errors import ErrorItem, InvalidRound
from models.round import Placement, Policy, PreviousAssignment, Round, Volunteer

TOP_LEVEL_KEYS = ("volunteers", "placements", "policy", "previous")
_REQUIRED_KEYS = ("volunteers", "placements")

_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "volunteers": Volunteer,
    "placements": Placement,
    "previous": PreviousAssignment,
}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "volunteers": TypeAdapter(list[Volunteer]),
    "placements": TypeAdapter(list[Placement]),
    "previous": TypeAdapter(list[PreviousAssignment]),
}


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field (a typo? unknown keys are not allowed)"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def _field_path(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for part in loc:
        if part == "[key]":  # pydantic's marker for a bad dict key
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _record_name(section: str, index: int, raw: Any) -> str:
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(rid, str) and rid:
        return rid
    return f"{section}[{index}]"


class _StandIn:
    """The id and reference lists of a record that failed validation, so that its
    references are still checked and references to it are not reported as dangling."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.id: str = raw["id"]
        self.preferences = _str_list(raw.get("preferences"))
        self.ranking = _str_list(raw.get("ranking"))


def _str_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(x for x in value if isinstance(x, str))
    return ()


def _validate_section(
    section: str, raw: Any, errors: list[ErrorItem]
) -> tuple[list[Any], list[Any]]:
    """Validate one list section; return the valid records and stand-ins of invalid ones."""
    if not isinstance(raw, list):
        errors.append(ErrorItem(section, section, "", "must be a list of records"))
        return [], []
    try:
        return list(_ADAPTERS[section].validate_python(raw)), []
    except ValidationError as exc:
        bad: dict[int, list[dict[str, Any]]] = {}
        err: Mapping[str, Any]
        for err in exc.errors():
            loc = err["loc"]
            idx = loc[0] if loc and isinstance(loc[0], int) else -1
            bad.setdefault(idx, []).append(dict(err))
        for idx, errs in sorted(bad.items()):
            rec = raw[idx] if 0 <= idx < len(raw) else None
            name = _record_name(section, idx, rec) if idx >= 0 else section
            if idx >= 0 and not isinstance(rec, Mapping):
                errors.append(ErrorItem(section, name, "", "must be a mapping of fields"))
                continue
            for err in errs:
                path = _field_path(err["loc"][1:])
                # `rec` is a mapping here: errors of a list's items always start with the index
                if not path and section == "placements" and "start" in cast(Mapping[str, Any], rec):
                    path = "start"  # the only record-level check: start vs start_earliest
                msg = _message(err)
                if err["loc"][-1:] == ("[key]",):
                    msg = f"bad key: {msg}"
                errors.append(ErrorItem(section, name, path, msg))
        good: list[Any] = []
        stand_ins: list[Any] = []
        model = _SECTION_MODELS[section]
        for i, rec in enumerate(raw):
            if i not in bad:
                good.append(model.model_validate(rec))
            elif isinstance(rec, Mapping) and isinstance(rec.get("id"), str):
                stand_ins.append(_StandIn(rec))
        return good, stand_ins


def parse_round(data: Any) -> Round:
    """Build a `Round` from a parsed JSON/YAML document.

    Raises `InvalidRound` with *every* error of the document, each naming the record
    (its id) and the field.
    """
    errors: list[ErrorItem] = []
    if not isinstance(data, Mapping):
        raise InvalidRound([ErrorItem("round", "round", "", "a round document must be a mapping")])
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            errors.append(
                ErrorItem(
                    "round",
                    "round",
                    str(key),
                    f"unknown top-level key (expected one of {', '.join(TOP_LEVEL_KEYS)})",
                )
            )
    for key in _REQUIRED_KEYS:
        if key not in data:
            errors.append(ErrorItem("round", "round", key, "required key is missing"))

    volunteers, bad_v = _validate_section("volunteers", data.get("volunteers", []), errors)
    placements, bad_p = _validate_section("placements", data.get("placements", []), errors)
    previous, _ = _validate_section("previous", data.get("previous") or [], errors)
    policy: Policy | None = None
    raw_policy = data.get("policy")
    try:
        policy = Policy.model_validate(raw_policy if raw_policy is not None else {})
    except ValidationError as exc:
        for err in exc.errors():
            errors.append(ErrorItem("policy", "policy", _field_path(err["loc"]), _message(err)))

    errors += cross_record_errors(volunteers + bad_v, placements + bad_p, policy, previous)
    if errors:
        raise InvalidRound(errors)
    assert policy is not None
    # Every rule of Round's own validator has just been checked: build without re-running it.
    return Round.model_construct(
        volunteers=tuple(volunteers),
        placements=tuple(placements),
        policy=policy,
        previous=tuple(previous),
    )


def parse_text(text: str, *, fmt: str = "auto", source: str = "round") -> Round:
    """Parse JSON or YAML text (`fmt` = `json`, `yaml` or `auto`) into a `Round`."""
    try:
        if fmt == "json" or (fmt == "auto" and text.lstrip().startswith(("{", "["))):
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidRound([ErrorItem("round", source, "", f"not valid JSON/YAML: {exc}")]) from exc
    return parse_round(data)


def load_round(path: str | Path) -> Round:
    """Load a round document from a `.json`, `.yaml` or `.yml` file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRound([ErrorItem("round", str(p), "", f"cannot read file: {exc}")]) from exc
    fmt = (
        "json"
        if p.suffix.lower() == ".json"
        else "yaml"
        if p.suffix.lower() in (".yaml", ".yml")
        else "auto"
    )
    return parse_text(text, fmt=fmt, source=str(p))


def round_to_dict(r: Round) -> dict[str, Any]:
    """The round as a JSON-ready document that `parse_round` reads back to an equal round."""
    out = r.model_dump(mode="json", exclude_defaults=True)
    out.setdefault("volunteers", [])
    out.setdefault("placements", [])
    return out
