"""Applying a variant's changes to a copy of the base round.

The base is never mutated: untouched records are the very same objects in the variant
(which is what lets `scenarios.incremental` skip their eligibility), touched ones are new
validated records, and the round is rebuilt around them. Every problem is collected and
named by variant, change (1-based) and record, so a planner sees all of them at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
from pydantic import BaseModel, ValidationError

from volmatch.models import Pair, Placement, Policy, Round, Volunteer
from volmatch.models.checks import cross_record_errors
from volmatch.models.codes import CEFR_RANK
from volmatch.scenarios.model import (
    AddRecords,
    Change,
    Condition,
    GenerateVolunteers,
    RemoveRecords,
    Scenario,
    ScenarioError,
    ScenarioErrorItem,
    SetPolicy,
    UpdateRecords,
    Variant,
    change_kind,
)

Record = Volunteer | Placement
_MODELS: dict[str, type[BaseModel]] = {"volunteers": Volunteer, "placements": Placement}
_OP_RE = re.compile(r"^\s*(>=|<=|!=|==|>|<)\s*(.*?)\s*$")
_MAX_ERRORS_PER_CHANGE = 5


class VariantInvalid(Exception):
    """The variant's changes give a round that breaks the contract."""

    def __init__(self, errors: list[ScenarioErrorItem]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def derive_seed(scenario_seed: int, key: str, change: int) -> int:
    """A seed for change `change` of the variant (or sweep) `key`: stable across runs,
    machines and Python versions (no `hash()`), and shared by all points of a sweep so
    that a sweep over `count` draws nested samples."""
    digest = hashlib.sha256(f"{scenario_seed}/{key}/{change}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


# --------------------------------------------------------------------------- paths


def _strip_optional(ann: Any) -> Any:
    origin = typing.get_origin(ann)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return _strip_optional(args[0])
    if origin is typing.Annotated:
        return _strip_optional(typing.get_args(ann)[0])
    return ann


def _field_kind(model: type[BaseModel], name: str) -> str:
    """`map`, `list`, `date`, `number`, `bool` or `text`: how selections compare it."""
    ann = _strip_optional(model.model_fields[name].annotation)
    origin = typing.get_origin(ann)
    if origin is dict or ann is dict:
        return "map"
    if origin in (tuple, list):
        return "list"
    if ann is dt.date:
        return "date"
    if ann is bool:
        return "bool"
    if ann in (int, float):
        return "number"
    return "text"


@dataclass(frozen=True)
class _Path:
    """A field path of a record: `country`, `skills.teaching`, `needs_assessment.a.b`."""

    text: str
    field: str
    keys: tuple[str, ...]
    kind: str
    """Kind of the addressed value: `cefr` and `level` for language and skill map entries,
    `any` for other map entries, else the field's kind."""


def _path(model: type[BaseModel], text: str) -> _Path:
    head, *keys = text.split(".")
    if head not in model.model_fields:
        raise ValueError(f"{text}: {model.__name__.lower()}s have no field {head!r}")
    kind = _field_kind(model, head)
    if keys and kind != "map":
        raise ValueError(f"{text}: {head} is not a map, so it has no {'.'.join(keys)!r}")
    if keys:
        kind = "cefr" if "languages" in head else "level" if "skills" in head else "any"
    return _Path(text, head, tuple(keys), kind)


def _get(d: Mapping[str, Any], path: _Path) -> Any:
    value: Any = d.get(path.field)
    for k in path.keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(k)
    return value


def _set(d: dict[str, Any], path: _Path, value: Any) -> None:
    if not path.keys:
        d[path.field] = value
        return
    node = dict(d.get(path.field) or {})
    d[path.field] = node
    for k in path.keys[:-1]:
        child = node.get(k)
        child = dict(child) if isinstance(child, Mapping) else {}
        node[k] = child
        node = child
    node[path.keys[-1]] = value


def _unset(d: dict[str, Any], path: _Path) -> None:
    if not path.keys:
        d.pop(path.field, None)  # the model's default applies
        return
    node = d.get(path.field)
    if not isinstance(node, Mapping):
        return
    node = dict(node)
    d[path.field] = node
    for k in path.keys[:-1]:
        child = node.get(k)
        if not isinstance(child, Mapping):
            return
        node[k] = child = dict(child)
        node = child
    node.pop(path.keys[-1], None)


# --------------------------------------------------------------------------- selections

Predicate = Callable[[Mapping[str, Any]], bool]


def _cefr(x: Any, text: str) -> int:
    s = str(x).strip()
    key = "native" if s.lower() == "native" else s.upper()
    if key not in CEFR_RANK:
        raise ValueError(f"{text}: {x!r} is not a CEFR level (A1 A2 B1 B2 C1 C2 native)")
    return CEFR_RANK[key]


def _operand(path: _Path, raw: Any) -> Any:
    """The comparable form of a condition's value for this path."""
    if path.kind == "cefr":
        return _cefr(raw, path.text)
    if path.kind in ("level", "number"):
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError(f"{path.text}: {raw!r} is not a number")
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{path.text}: {raw!r} is not a number") from None
    if path.kind == "date":
        if isinstance(raw, dt.date):
            return raw
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            raise ValueError(f"{path.text}: {raw!r} is not a date (YYYY-MM-DD)") from None
    if path.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
        raise ValueError(f"{path.text}: {raw!r} is not true or false")
    return raw


def _value(path: _Path, d: Mapping[str, Any]) -> Any:
    v = _get(d, path)
    if path.kind == "cefr":
        return 0 if v is None else CEFR_RANK[v]  # not spoken ranks below A1
    if path.kind == "level":
        return 0 if v is None else float(v)  # no skill is level 0
    if path.kind == "number" and v is not None:
        return float(v)
    return v


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "==":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    if have is None:
        return False
    try:
        if op == ">=":
            return bool(have >= want)
        if op == "<=":
            return bool(have <= want)
        if op == ">":
            return bool(have > want)
        return bool(have < want)
    except TypeError:
        return False


def _condition(model: type[BaseModel], text: str, cond: Condition) -> Predicate:
    path = _path(model, text)
    if path.kind == "map":
        raise ValueError(f"{text}: select on an entry, like {text}.<code>")
    if isinstance(cond, list):
        if not cond:
            raise ValueError(f"{text}: an empty list selects nothing")
        options = [_operand(path, x) for x in cond]
        if path.kind == "list":
            return lambda d: any(x in (_get(d, path) or ()) for x in options)
        return lambda d: _value(path, d) in options
    op, raw = "==", cond
    if isinstance(cond, str):
        m = _OP_RE.match(cond)
        if m:
            op, raw = m.group(1), m.group(2)
    if path.kind == "list":
        if op not in ("==", "!="):
            raise ValueError(f"{text}: a list field takes a value (contains) or != (lacks)")
        want = raw
        if op == "==":
            return lambda d: want in (_get(d, path) or ())
        return lambda d: want not in (_get(d, path) or ())
    want = _operand(path, raw)
    return lambda d: _compare(op, _value(path, d), want)


def compile_where(model: type[BaseModel], where: Mapping[str, Condition]) -> Predicate:
    """A predicate over a record's field dict; raises `ValueError` naming the bad path."""
    preds = [_condition(model, k, c) for k, c in where.items()]
    return lambda d: all(p(d) for p in preds)


# --------------------------------------------------------------------------- checks


def _check_paths(model: type[BaseModel], paths: Iterable[str], numeric: bool = False) -> None:
    for text in paths:
        path = _path(model, text)
        if numeric and path.kind not in ("number", "level"):
            raise ValueError(f"{text}: only numbers can be scaled")


def check_change(change: Change) -> None:
    """Static checks of one change (paths and conditions); raises `ValueError`."""
    if isinstance(change, UpdateRecords):
        model = _MODELS[change.update]
        compile_where(model, change.where)
        _check_paths(model, change.set)
        _check_paths(model, change.scale, numeric=True)
        _check_paths(model, change.unset)
        if "id" in change.set or "id" in change.unset:
            raise ValueError("ids cannot be changed (remove and add the record instead)")
    elif isinstance(change, RemoveRecords):
        compile_where(_MODELS[change.remove], change.where)
    elif isinstance(change, GenerateVolunteers):
        compile_where(Volunteer, change.like)
        _check_paths(Volunteer, change.set)
        _check_paths(Volunteer, change.choose)
        if "id" in change.set or "id" in change.choose:
            raise ValueError("generated ids come from id_prefix; do not set id")
    elif isinstance(change, SetPolicy):
        for text in change.policy:
            head = text.split(".")[0]
            if head not in Policy.model_fields:
                raise ValueError(f"policy has no field {head!r}")


def check_scenario(scenario: Scenario) -> None:
    """Every static problem of every change, at once (`ScenarioError`)."""
    errors: list[ScenarioErrorItem] = []
    for v in scenario.variants:
        for k, change in enumerate(v.changes, start=1):
            try:
                check_change(change)
            except ValueError as exc:
                errors.append(ScenarioErrorItem(v.name, k, str(exc)))
    if errors:
        raise ScenarioError(errors)


# --------------------------------------------------------------------------- applying


def _validation_messages(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"] if x != "[key]")
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(f"{loc}: {msg}" if loc else msg)
    return out


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


class _Builder:
    """The variant's records while changes apply, with who touched what."""

    def __init__(self, base: Round, variant: Variant, scenario_seed: int) -> None:
        self.variant = variant
        self.scenario_seed = scenario_seed
        self.records: dict[str, dict[str, Record]] = {
            "volunteers": {v.id: v for v in base.volunteers},
            "placements": {p.id: p for p in base.placements},
        }
        self.policy = base.policy
        self.previous = base.previous
        self.touched: dict[tuple[str, str], int] = {}
        """(section, id) -> the last change that touched the record."""
        self.policy_change: int | None = None
        self.errors: list[ScenarioErrorItem] = []

    def error(self, k: int, message: str) -> None:
        self.errors.append(ScenarioErrorItem(self.variant.name, k, message))

    def seed(self, k: int, given: int | None) -> int:
        return (
            given
            if given is not None
            else derive_seed(self.scenario_seed, self.variant.seed_key, k)
        )

    def select(
        self,
        k: int,
        section: str,
        where: Mapping[str, Condition],
        ids: tuple[str, ...] | None,
        sample: int | None,
        seed: int | None,
    ) -> list[str] | None:
        model = _MODELS[section]
        records = self.records[section]
        pred = compile_where(model, where)
        if ids is not None:
            missing = [i for i in ids if i not in records]
            if missing:
                self.error(k, f"no {section} with id(s) {', '.join(missing)}")
                return None
            candidates = [i for i in records if i in set(ids)]
        else:
            candidates = list(records)
        picked = [i for i in candidates if pred(_fields(records[i]))] if where else candidates
        if not picked:
            self.error(k, f"the selection matches no {section}")
            return None
        if sample is not None:
            if sample > len(picked):
                self.error(k, f"sample {sample} of only {len(picked)} selected {section}")
                return None
            rng = np.random.default_rng(self.seed(k, seed))
            keep = np.sort(rng.permutation(len(picked))[:sample])
            picked = [picked[i] for i in keep.tolist()]
        return picked

    def validate(self, k: int, section: str, data: dict[str, Any]) -> Record | None:
        try:
            return _MODELS[section].model_validate(data)  # type: ignore[return-value]
        except ValidationError as exc:
            rid = data.get("id", "?")
            for m in _validation_messages(exc)[:_MAX_ERRORS_PER_CHANGE]:
                self.error(k, f"{section} {rid}: {m}")
            return None

    def update(self, k: int, ch: UpdateRecords) -> None:
        section = ch.update
        ids = self.select(k, section, ch.where, ch.ids, ch.sample, ch.seed)
        if ids is None:
            return
        model = _MODELS[section]
        sets = [(_path(model, p), v) for p, v in ch.set.items()]
        scales = [(_path(model, p), f) for p, f in ch.scale.items()]
        unsets = [_path(model, p) for p in ch.unset]
        records = self.records[section]
        n_bad = 0
        for rid in ids:
            d = dict(_fields(records[rid]))
            for path in unsets:
                _unset(d, path)
            for path, value in sets:
                _set(d, path, value)
            for path, factor in scales:
                old = _get(d, path)
                if old is None:
                    continue  # an absent skill stays absent: scaling nothing gives nothing
                new = old * factor
                _set(d, path, _round_half_up(new) if isinstance(old, int) else new)
            if n_bad >= _MAX_ERRORS_PER_CHANGE:
                continue
            rec = self.validate(k, section, d)
            if rec is None:
                n_bad += 1
                continue
            records[rid] = rec
            self.touched[(section, rid)] = k

    def remove(self, k: int, ch: RemoveRecords) -> None:
        section = ch.remove
        ids = self.select(k, section, ch.where, ch.ids, ch.sample, ch.seed)
        if ids is None:
            return
        gone = set(ids)
        for rid in ids:
            del self.records[section][rid]
            self.touched.pop((section, rid), None)
        # References to removed records go with them: a paused programme should not
        # make every volunteer who wished for it an error.
        other, ref = (
            ("placements", "ranking") if section == "volunteers" else ("volunteers", "preferences")
        )
        recs = self.records[other]
        for oid, rec in list(recs.items()):
            refs = getattr(rec, ref)
            if any(r in gone for r in refs):
                recs[oid] = rec.model_copy(update={ref: tuple(r for r in refs if r not in gone)})
                self.touched.setdefault((other, oid), k)
        side = "volunteer" if section == "volunteers" else "placement"

        def keep(pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
            return tuple(p for p in pairs if getattr(p, side) not in gone)

        locked, forbidden = keep(self.policy.locked), keep(self.policy.forbidden)
        if locked != self.policy.locked or forbidden != self.policy.forbidden:
            self.policy = self.policy.model_copy(update={"locked": locked, "forbidden": forbidden})
        self.previous = tuple(a for a in self.previous if getattr(a, side) not in gone)

    def add(self, k: int, ch: AddRecords) -> None:
        section = ch.add
        for raw in ch.records[: _MAX_ERRORS_PER_CHANGE * 20]:
            rec = self.validate(k, section, dict(raw))
            if rec is None:
                continue
            if rec.id in self.records[section]:
                self.error(k, f"{section} {rec.id}: id already in the round")
                continue
            self.records[section][rec.id] = rec
            self.touched[(section, rec.id)] = k

    def generate(self, k: int, ch: GenerateVolunteers) -> None:
        vols = self.records["volunteers"]
        pred = compile_where(Volunteer, ch.like)
        templates = [v for v in vols.values() if not ch.like or pred(_fields(v))]
        if not templates:
            self.error(k, "`like` matches no volunteer to use as a template")
            return
        rng = np.random.default_rng(self.seed(k, ch.seed))
        pick = rng.integers(0, len(templates), size=ch.count)
        draws = {p: rng.integers(0, len(vals), size=ch.count) for p, vals in ch.choose.items()}
        sets = [(_path(Volunteer, p), v) for p, v in ch.set.items()]
        chooses = [(_path(Volunteer, p), ch.choose[p], draws[p]) for p in ch.choose]
        width = max(3, len(str(ch.count)))
        n_bad = 0
        for i in range(ch.count):
            d = dict(_fields(templates[int(pick[i])]))
            d.update(id=f"{ch.id_prefix}{i + 1:0{width}d}", name=None, preferences=(), group=None)
            for path, value in sets:
                _set(d, path, value)
            for path, values, drawn in chooses:
                _set(d, path, values[int(drawn[i])])
            if d["id"] in vols:
                self.error(k, f"generated id {d['id']} is already in the round (change id_prefix)")
                return
            rec = self.validate(k, "volunteers", d)
            if rec is None:
                n_bad += 1
                if n_bad >= _MAX_ERRORS_PER_CHANGE:
                    return
                continue
            vols[rec.id] = rec
            self.touched[("volunteers", rec.id)] = k

    def set_policy(self, k: int, ch: SetPolicy) -> None:
        d = self.policy.model_dump()
        for text, value in ch.policy.items():
            head, *keys = text.split(".")
            node = d
            for key in [head, *keys][:-1]:
                child = node.get(key)
                if not isinstance(child, dict):
                    self.error(k, f"policy.{text}: {key} has no sub-fields")
                    return
                node = child
            node[[head, *keys][-1]] = value
        try:
            self.policy = Policy.model_validate(d)
        except ValidationError as exc:
            for m in _validation_messages(exc):
                self.error(k, f"policy.{m}")
            return
        self.policy_change = k

    def build(self) -> Round:
        vols = tuple(v for v in self.records["volunteers"].values() if isinstance(v, Volunteer))
        pls = tuple(p for p in self.records["placements"].values() if isinstance(p, Placement))
        for e in cross_record_errors(vols, pls, self.policy, self.previous):
            if e.section == "policy":
                k = self.policy_change
            else:
                k = self.touched.get((e.section, e.record))
            self.errors.append(ScenarioErrorItem(self.variant.name, k, str(e)))
        if self.errors:
            raise VariantInvalid(self.errors)
        # Records were validated one by one and the cross-record rules just checked:
        # that is all of `parse_round`, so build without validating the whole round again.
        return Round.model_construct(
            volunteers=vols,
            placements=pls,
            policy=self.policy,
            previous=tuple(self.previous),
        )


def _fields(rec: BaseModel) -> dict[str, Any]:
    return {name: getattr(rec, name) for name in type(rec).model_fields}


def apply_variant(base: Round, variant: Variant, scenario_seed: int = 0) -> Round:
    """The base round with the variant's changes applied in order (the base is untouched).

    Raises `VariantInvalid` listing every problem, each naming the variant and change.
    """
    b = _Builder(base, variant, scenario_seed)
    for k, change in enumerate(variant.changes, start=1):
        try:
            check_change(change)
        except ValueError as exc:
            b.error(k, str(exc))
            continue
        if isinstance(change, UpdateRecords):
            b.update(k, change)
        elif isinstance(change, RemoveRecords):
            b.remove(k, change)
        elif isinstance(change, AddRecords):
            b.add(k, change)
        elif isinstance(change, GenerateVolunteers):
            b.generate(k, change)
        elif isinstance(change, SetPolicy):
            b.set_policy(k, change)
        else:  # pragma: no cover - the union is closed
            b.error(k, f"unknown change kind {change_kind(change)}")
    return b.build()


def describe_change(change: Change) -> str:
    """A one-line human summary of a change, for reports."""
    if isinstance(change, UpdateRecords):
        what = ", ".join(
            [f"{p}={v}" for p, v in change.set.items()]
            + [f"{p}x{f}" for p, f in change.scale.items()]
            + [f"unset {p}" for p in change.unset]
        )
        where = _where_text(change.where, change.ids, change.sample)
        return f"update {change.update}{where}: {what}"
    if isinstance(change, RemoveRecords):
        return f"remove {change.remove}{_where_text(change.where, change.ids, change.sample)}"
    if isinstance(change, AddRecords):
        return f"add {len(change.records)} {change.add}"
    if isinstance(change, GenerateVolunteers):
        extra = ", ".join(
            [f"{p}={v}" for p, v in change.set.items()]
            + [f"{p} in {list(v)}" for p, v in change.choose.items()]
        )
        return f"generate {change.count} volunteers" + (f" ({extra})" if extra else "")
    return "policy " + ", ".join(f"{p}={v}" for p, v in change.policy.items())


def _where_text(
    where: Mapping[str, Condition], ids: tuple[str, ...] | None, sample: int | None
) -> str:
    parts = [
        f"{k} {v}" if isinstance(v, str) and _OP_RE.match(v) else f"{k}={v}"
        for k, v in where.items()
    ]
    if ids is not None:
        parts.append(f"id in {list(ids)}")
    text = f" where {' and '.join(parts)}" if parts else ""
    return text + (f" (sample of {sample})" if sample else "")


__all__ = [
    "VariantInvalid",
    "apply_variant",
    "check_change",
    "check_scenario",
    "compile_where",
    "derive_seed",
    "describe_change",
]
