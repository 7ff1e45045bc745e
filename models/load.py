"""Reading round documents (JSON or YAML) into a `Round`, reporting every error at once."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain
from operator import is_, itemgetter
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator, core_schema, from_json

from volmatch.models.checks import cross_record_errors
from volmatch.models.decode import UndecodableText, decode_text
from volmatch.models.duplicate_keys import (
    json_duplicate_keys,
    loads_json_checked,
    refuse_yaml_duplicate,
)
from volmatch.models.errors import ErrorItem, InvalidRound
from volmatch.models.limits import (
    ID_PATTERN,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_DEPTH,
    MAX_ERRORS_PER_RECORD,
    MAX_PREFERENCES,
    MAX_RANKING,
    MAX_YAML_EXPANSION,
)
from volmatch.models.round import (
    NATIVE_TWINS,
    ORDERED_FIELDS,
    Placement,
    Policy,
    PreviousAssignment,
    Round,
    Volunteer,
)

TOP_LEVEL_KEYS = ("volunteers", "placements", "policy", "previous")
_ID_RE = re.compile(ID_PATTERN)
MAX_ID_SHOWN = 64
"""Ids longer than a valid id are named by their position instead."""
MAX_REFERENCES = max(MAX_PREFERENCES, MAX_RANKING)
"""Reference lists longer than any the models accept are not read for stand-ins."""
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

# Keys of schema nodes whose values are no validation schemas (values, classes, functions).
_OPAQUE_KEYS = frozenset(
    {"cls", "config", "default", "expected", "function", "metadata", "serialization"}
)


def _with_twins(schema: Any) -> Any:
    """A copy of a core schema with each check of `NATIVE_TWINS` replaced by its twin."""
    if isinstance(schema, list):
        return [_with_twins(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: v if k in _OPAQUE_KEYS else _with_twins(v) for k, v in schema.items()}
    if out.get("type") in ("function-after", "function-before"):
        try:
            twin = NATIVE_TWINS.get(out["function"]["function"])
        except TypeError:  # an unhashable callable has no twin
            twin = None
        if twin is not None:
            return twin(cast(core_schema.CoreSchema, out))
    return out


def _native_validator(schema: core_schema.CoreSchema) -> SchemaValidator:
    """A validator of a schema built from the records' models with `_with_twins`."""
    # pydantic-core reuses the validator of a complete model class for any schema naming
    # the class, which would bring the Python checks back: build while the classes look
    # incomplete (should that stop working, the loader is just as slow as without twins).
    models = _SECTION_MODELS.values()
    for model in models:
        model.__pydantic_complete__ = False
    try:
        return SchemaValidator(schema)
    finally:
        for model in models:
            model.__pydantic_complete__ = True


def _record(model: type[BaseModel]) -> core_schema.CoreSchema:
    """One record of `model`: the very same record as the model builds, but with the
    model's validators replaced by their twins. It rejects every record the model rejects
    but those with ORDERED_FIELDS out of order, which `_out_of_order` finds."""
    return cast(core_schema.CoreSchema, _with_twins(model.__pydantic_core_schema__))


NATIVE_VALIDATORS: dict[str, SchemaValidator] = {
    section: _native_validator(core_schema.list_schema(_record(model)))
    for section, model in _SECTION_MODELS.items()
}
"""Per section, a validator of its records that runs every check in pydantic-core (the
validators' native twins): the loader's quick path."""
"""Validators of whole sections: the first try of `_validate_section`."""


def _document_schema() -> core_schema.CoreSchema:
    fields = {
        key: core_schema.typed_dict_field(core_schema.any_schema(), required=False)
        for key in TOP_LEVEL_KEYS
    }
    for key in _REQUIRED_KEYS:
        # Records are validated from the JSON itself. For the types of their fields
        # pydantic-core accepts the same JSON values in JSON mode as it accepts once
        # `json.loads` has made them Python objects, and builds the same records;
        # tests/models/test_load.py compares the two on unusual documents.
        record = _record(_SECTION_MODELS[key])
        fields[key] = core_schema.typed_dict_field(core_schema.list_schema(record))
    return core_schema.typed_dict_schema(fields, extra_behavior="forbid")


_FAST_DOCUMENT = _native_validator(_document_schema())
"""JSON text -> the document with its volunteers and placements built, in one pass and
without the intermediate objects of a parsed document. Any error at all (invalid JSON
included, and fields out of order) is left to the ordinary path, which reports it."""


def _out_of_order(model: type[BaseModel], records: Sequence[Any]) -> set[int]:
    """Positions of the records built by the twins that have a pair of ORDERED_FIELDS out
    of order: the comparison that the twins leave to the loader."""
    pairs = ORDERED_FIELDS.get(model, ())
    if not pairs or not records:
        return set()
    try:
        rows = map(itemgetter(*chain.from_iterable(pairs)), map(vars, records))
        columns = list(zip(*rows, strict=True))
        return {
            i
            for k in range(len(pairs))
            for i, (low, high) in enumerate(zip(columns[2 * k], columns[2 * k + 1], strict=True))
            if low is not None and high is not None and low > high
        }
    except (KeyError, TypeError):  # not records as the twins build them
        return set(range(len(records)))


@contextmanager
def _gc_paused(long_lived: bool = False) -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is built: a large round is
    millions of new objects, and the collections they trigger (each one walking every
    object already built) would take longer than the building itself. Nothing built
    here is cyclic garbage.

    With `long_lived` (a command line that keeps the round until it exits), the objects
    are then moved out of the collector's reach (`gc.freeze`): otherwise the first
    collection after the pause walks them all once more (a noticeable pause on large rounds).
    Frozen objects are still freed when no longer referenced."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if long_lived:
            gc.freeze()
        if enabled:
            gc.enable()


class TooDeep(ValueError):
    """A document nested deeper than MAX_DOCUMENT_DEPTH."""


_DEEP_MESSAGE = (
    f"nested more than {MAX_DOCUMENT_DEPTH} levels deep: no round document is (a list in "
    "a list in a list ...?)"
)


def _loads_json(text: str) -> Any:
    """`json.loads`, quicker: pydantic-core's JSON parser reads the document into the
    same objects; what it refuses (lone surrogates, every syntax error) is read by `json`,
    which then decides, and words the error, exactly as before. Nesting deeper than
    `MAX_DOCUMENT_DEPTH` (pydantic-core refuses it first) is `TooDeep`."""
    try:
        return from_json(text)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise TooDeep(_DEEP_MESSAGE) from None
        try:
            return json.loads(text)
        except RecursionError:
            raise TooDeep(_DEEP_MESSAGE) from None


class _BoundedYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what would make it (or whoever reads the objects
    it builds) work without bound: nesting deeper than `MAX_DOCUMENT_DEPTH` (its composer
    recurses once per level) and aliases that expand the document by more than
    `MAX_YAML_EXPANSION` nodes ("billion laughs": a few lines that stand for billions
    of values)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DOCUMENT_DEPTH:
                raise TooDeep(_DEEP_MESSAGE)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            refuse_yaml_duplicate(node)
        return super().construct_mapping(node, deep=deep)

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node


def _check_expansion(root: yaml.Node) -> None:
    """Raise `yaml.YAMLError` when aliases make the node tree under `root` (counted as
    if every alias were written out) more than `MAX_YAML_EXPANSION` nodes larger than
    the nodes actually written."""
    sizes: dict[int, int] = {}
    distinct = 0
    # children before parents, without recursion: (node, children done?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        distinct += 1
        sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
        if sizes[id(node)] - distinct > MAX_YAML_EXPANSION:
            raise yaml.YAMLError(
                "its aliases (*name) stand for more than "
                f"{MAX_YAML_EXPANSION} values: write the values out"
            )


def loads_yaml(text: str) -> Any:
    """`yaml.safe_load` within the limits of `_BoundedYamlLoader`: `yaml.YAMLError` for
    bad YAML and aliases that expand too far, `TooDeep` for deep nesting."""
    loader = _BoundedYamlLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field (a typo? unknown keys are not allowed)"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_type":
        value = err.get("input")
        if isinstance(value, bool):
            # YAML 1.1 reads unquoted NO (Norway), no, yes, on, off as booleans
            return (
                f"expected text, got {str(value).lower()}: YAML reads an unquoted NO, yes, "
                "on or off as true/false; write it in quotes ('NO')"
            )
        if isinstance(value, int | float):
            return f"expected text, got the number {value!r}: write it in quotes"
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


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def _record_name(section: str, index: int, raw: Any) -> str:
    """The record's id where it has a short one (an id may be anything, 5 MB of text
    included: that one is reported as a field error), else its position."""
    rid = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(rid, str) and 0 < len(rid) <= MAX_ID_SHOWN and rid.isprintable():
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
    """The valid ids of a reference list (the others are reported by the models)."""
    if isinstance(value, list | tuple) and len(value) <= MAX_REFERENCES:
        return tuple(x for x in value if _valid_id(x))
    return ()


def _capped(errors: list[ErrorItem]) -> list[ErrorItem]:
    """At most MAX_ERRORS_PER_RECORD errors of one record, and a line counting the rest."""
    if len(errors) <= MAX_ERRORS_PER_RECORD:
        return errors
    first = errors[0]
    rest = len(errors) - MAX_ERRORS_PER_RECORD
    return [
        *errors[:MAX_ERRORS_PER_RECORD],
        ErrorItem(first.section, first.record, "", f"... and {rest} more error(s) in it"),
    ]


def _fast_records(section: str, raw: list[Any]) -> tuple[dict[int, Any], list[int]]:
    """The records of a section that the twins validate, by position, and the positions of
    the others (the suspects), which only the models can judge."""
    fast, model = NATIVE_VALIDATORS[section], _SECTION_MODELS[section]
    positions: Sequence[int] = range(len(raw))
    try:
        built = fast.validate_python(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        rejected = {e["loc"][0] for e in errors if e["loc"] and isinstance(e["loc"][0], int)}
        positions = [i for i in positions if i not in rejected]
        try:
            built = fast.validate_python([raw[i] for i in positions])
        except ValidationError:  # records are validated one by one: not expected
            return {}, list(range(len(raw)))
    passed = dict(zip(positions, built, strict=True))
    # Records given built pass as they are, as the models let them; the others are checked.
    if not all(map(is_, built, (raw[i] for i in positions))):
        for k in _out_of_order(model, built):
            del passed[positions[k]]
    return passed, [i for i in range(len(raw)) if i not in passed]


def _validate_section(
    section: str, raw: Any, errors: list[ErrorItem]
) -> tuple[list[Any], list[Any]]:
    """Validate one list section; return the valid records and stand-ins of invalid ones."""
    if not isinstance(raw, list):
        errors.append(ErrorItem(section, section, "", "must be a list of records"))
        return [], []
    passed, suspects = _fast_records(section, raw)
    if not suspects:
        return list(passed.values()), []
    bad: dict[int, list[dict[str, Any]]] = {}
    try:
        checked = _ADAPTERS[section].validate_python([raw[i] for i in suspects])
    except ValidationError as exc:
        err: Mapping[str, Any]
        for err in exc.errors():
            loc = err["loc"]
            idx = suspects[loc[0]] if loc and isinstance(loc[0], int) else -1
            bad.setdefault(idx, []).append(dict(err))
    else:
        passed.update(zip(suspects, checked, strict=True))
    for idx, errs in sorted(bad.items()):
        rec = raw[idx] if 0 <= idx < len(raw) else None
        name = _record_name(section, idx, rec) if idx >= 0 else section
        if idx >= 0 and not isinstance(rec, Mapping):
            errors.append(ErrorItem(section, name, "", "must be a mapping of fields"))
            continue
        found: list[ErrorItem] = []
        for err in errs:
            path = _field_path(err["loc"][1:])
            # `rec` is a mapping here: errors of a list's items always start with the index
            if not path and section == "placements" and "start" in cast(Mapping[str, Any], rec):
                path = "start"  # the only record-level check: start vs start_earliest
            msg = _message(err)
            if err["loc"][-1:] == ("[key]",):
                msg = f"bad key: {msg}"
            found.append(ErrorItem(section, name, path, msg))
        errors += _capped(found)
    good: list[Any] = []
    stand_ins: list[Any] = []
    model = _SECTION_MODELS[section]
    for i, rec in enumerate(raw):
        if i not in bad:
            good.append(passed[i] if i in passed else model.model_validate(rec))
        elif isinstance(rec, Mapping) and _valid_id(rec.get("id")):
            stand_ins.append(_StandIn(rec))
    return good, stand_ins


def parse_round(data: Any) -> Round:
    """Build a `Round` from a parsed JSON/YAML document.

    Raises `InvalidRound` with *every* error of the document, each naming the record
    (its id) and the field.
    """
    with _gc_paused():
        return _parse_round(data)


def _parse_round(data: Any) -> Round:
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


def built_document(text: str) -> dict[str, Any] | None:
    """The JSON document with its volunteers and placements built, when they all are
    valid and nothing else is wrong with its shape; None otherwise."""
    try:
        built: dict[str, Any] = _FAST_DOCUMENT.validate_json(text)
    except ValidationError:
        return None
    if any(_out_of_order(_SECTION_MODELS[key], built[key]) for key in _REQUIRED_KEYS):
        return None
    return built


class UnreadableDocument(ValueError):
    """Text that is no JSON or YAML document within the limits; the message says why."""


def _decoded(text: str, is_json: bool) -> Any:
    """The JSON or YAML `text` as Python objects, within the readers' limits (nesting,
    YAML aliases and repeated YAML keys); `UnreadableDocument` saying why otherwise."""
    try:
        return _loads_json(text) if is_json else loads_yaml(text)
    except TooDeep as exc:
        raise UnreadableDocument(str(exc)) from None
    except RecursionError:  # a reader recursing below the limits: said the same way
        raise UnreadableDocument(_DEEP_MESSAGE) from None
    except (ValueError, yaml.YAMLError) as exc:
        # JSONDecodeError, and the ValueError of an integer of more than 4300 digits
        why = str(exc)
        if "integer string conversion" in why:
            why = "it holds a number of more than 4300 digits"
        raise UnreadableDocument(f"not valid JSON/YAML: {why}") from None


def _is_json(text: str, fmt: str) -> bool:
    return fmt == "json" or (fmt == "auto" and text.lstrip().startswith(("{", "[")))


def format_of(path: Path) -> str:
    """`json`, `yaml` or `auto` (decided by the text) for a file, by its name's ending."""
    suffix = path.suffix.lower()
    return "json" if suffix == ".json" else "yaml" if suffix in (".yaml", ".yml") else "auto"


def read_document(path: Path) -> Any:
    """Any JSON or YAML document a person hands in as a file (an outcomes or programme
    file, a result, a draft placement), read as round files are: every encoding
    `decode_text` reads, nesting, YAML aliases and sizes within the limits, no key
    given twice in one object. `UnreadableDocument` saying why; `OSError` (such as
    `FileNotFoundError`) where the file cannot be opened."""
    try:
        text = read_text_file(path)
    except UndecodableText as exc:
        raise UnreadableDocument(f"cannot read it: {exc}") from None
    fmt = format_of(path)
    is_json = _is_json(text, fmt)
    if is_json:
        repeated = json_duplicate_keys(text, "file", str(path))
        if repeated:
            first = repeated[0]
            where = "" if first.record == str(path) else f"record {first.record}: "
            raise UnreadableDocument(where + first.message)
    return _decoded(text, is_json)


def parse_text(
    text: str,
    *,
    fmt: str = "auto",
    source: str = "round",
    long_lived: bool = False,
    unique_keys: bool = False,
) -> Round:
    """Parse JSON or YAML text (`fmt` = `json`, `yaml` or `auto`) into a `Round`.
    `long_lived`: the round is kept until the process exits (see `_gc_paused`).
    `unique_keys`: a key repeated in one JSON object is an error (YAML is always
    checked); set it for documents that people hand in (`models.duplicate_keys`)."""
    is_json = _is_json(text, fmt)
    with _gc_paused(long_lived):
        if is_json and unique_keys:
            return _parse_checked_json(text, source)
        built = built_document(text) if is_json else None
        if built is not None:
            # Volunteers and placements come built: `parse_round` takes built records as
            # they are and checks the rest of the document.
            return parse_round(built)
        return parse_round(_read_or_refuse(text, is_json, source))


def _parse_checked_json(text: str, source: str) -> Round:
    """A JSON round that people hand in, read by one parse that also finds its keys given
    twice (`loads_json_checked`), where the quick path (`built_document`) would need a
    second one: an `InvalidRound` listing the repeated keys, else the round or its errors."""
    try:
        data, repeated = loads_json_checked(text, "round", source)
    except (ValueError, RecursionError):  # not JSON: the limited reader says why
        data, repeated = _read_or_refuse(text, True, source), []
    if repeated:
        raise InvalidRound(repeated)
    try:
        return parse_round(data)
    except InvalidRound:
        # `json.loads` reads nesting deeper than MAX_DOCUMENT_DEPTH (up to Python's own
        # limit), which the limited reader refuses. No valid round is that deep: only an
        # invalid one is read again, to be refused for its depth as any document is.
        _read_or_refuse(text, True, source)
        raise


def _read_or_refuse(text: str, is_json: bool, source: str) -> Any:
    """The document read by the limited reader (`_decoded`), or an `InvalidRound` saying
    why it cannot be read."""
    try:
        return _decoded(text, is_json)
    except UnreadableDocument as exc:
        raise InvalidRound([ErrorItem("round", source, "", str(exc))]) from None


def read_text_file(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> str:
    """The text of a file no larger than `limit` bytes, in any encoding `decode_text`
    reads (`OSError`, `UndecodableText` otherwise)."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UndecodableText(f"larger than {limit} bytes: no round document is")
    return decode_text(data)


def load_round(path: str | Path, *, long_lived: bool = False) -> Round:
    """Load a round document from a `.json`, `.yaml` or `.yml` file. `long_lived`: the
    round is kept until the process exits, as in a command line run (see `_gc_paused`)."""
    p = Path(path)
    try:
        text = read_text_file(p)
    except OSError as exc:
        raise InvalidRound([ErrorItem("round", str(p), "", f"cannot read file: {exc}")]) from exc
    except UndecodableText as exc:
        raise InvalidRound([ErrorItem("round", str(p), "", f"cannot read it: {exc}")]) from None
    return parse_text(
        text, fmt=format_of(p), source=str(p), long_lived=long_lived, unique_keys=True
    )


def round_to_dict(r: Round) -> dict[str, Any]:
    """The round as a JSON-ready document that `parse_round` reads back to an equal round."""
    out = r.model_dump(mode="json", exclude_defaults=True)
    out.setdefault("volunteers", [])
    out.setdefault("placements", [])
    return out
