"""The scenario file: a base round and named variants, each a list of changes.

A scenario is YAML (or JSON)::

    name: French and Nepal
    base: ../demo/round.json        # a round file, relative to the scenario file
    seed: 7                         # seeds every random draw (samples, generated people)
    variants:
      - name: nepal-english-a2
        changes:
          - update: placements
            where: {country: NP, required_languages.en: ">= B1"}
            set: {required_languages.en: A2}
    sweeps:
      - name: urgency
        parameter: policy.weights.priority
        values: [100, 200, 400, 800]

Every model here is frozen and forbids unknown keys, like the round document. Errors in a
scenario are collected all at once and each names the variant and the change (1-based),
because a planner fixing a file wants to go straight to the line that is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.=+-]{1,80}$")
MAX_VARIANTS = 1000
"""A sweep or a scenario asking for more is almost certainly a typo in a range."""
SWEEP_VALUE = "$value"
"""In a sweep's changes, this exact string stands for the sweep's current value."""

Target = Literal["volunteers", "placements"]
Scalar = bool | int | float | dt.date | str
Condition = Scalar | list[Scalar]
"""A selection condition: a value (equality; for a list field, "contains"), a list (any
of), or a string starting with an operator: `>= 3`, `< B2`, `!= NP`."""


class UpdateRecords(BaseModel):
    """Change fields of the selected volunteers or placements."""

    model_config = _FROZEN

    update: Target = Field(description="Which records to change.")
    where: dict[str, Condition] = Field(
        default_factory=dict, description="Field path -> condition; all must hold."
    )
    ids: tuple[str, ...] | None = Field(None, description="Only these ids (with `where`).")
    sample: int | None = Field(
        None, ge=1, description="Only a seeded random sample of this many selected records."
    )
    seed: int | None = Field(None, ge=0, description="Seed of the sample (default: derived).")
    set: dict[str, Any] = Field(default_factory=dict, description="Field path -> new value.")
    scale: dict[str, float] = Field(
        default_factory=dict, description="Field path -> factor (numbers; ints round half up)."
    )
    unset: tuple[str, ...] = Field(
        (), description="Field paths to remove (a map entry) or reset to the default."
    )

    @model_validator(mode="after")
    def _does_something(self) -> UpdateRecords:
        if not (self.set or self.scale or self.unset):
            raise ValueError("an update needs at least one of set, scale, unset")
        return self


class RemoveRecords(BaseModel):
    """Remove the selected records; references to them (preferences, rankings, locked
    and forbidden pairs, previous assignments) are dropped with them."""

    model_config = _FROZEN

    remove: Target = Field(description="Which records to remove.")
    where: dict[str, Condition] = Field(default_factory=dict, description="Selection.")
    ids: tuple[str, ...] | None = Field(None, description="Only these ids.")
    sample: int | None = Field(None, ge=1, description="A seeded random sample of this many.")
    seed: int | None = Field(None, ge=0, description="Seed of the sample (default: derived).")

    @model_validator(mode="after")
    def _selects(self) -> RemoveRecords:
        if not self.where and self.ids is None and self.sample is None:
            raise ValueError("remove needs where, ids or sample (it would remove every record)")
        return self


class AddRecords(BaseModel):
    """Add records given in full, as in a round document."""

    model_config = _FROZEN

    add: Target = Field(description="Which kind of record the `records` are.")
    records: tuple[dict[str, Any], ...] = Field(min_length=1, description="The new records.")


class GenerateVolunteers(BaseModel):
    """Add `count` volunteers made from a profile.

    Each is a copy of a base volunteer drawn (seeded) from those matching `like` (all by
    default), without name, preferences and group, with a new id `<id_prefix><n>`, then
    `set` applied, then one value per `choose` path drawn from its list.
    """

    model_config = _FROZEN

    generate: Literal["volunteers"] = Field(description="Only volunteers can be generated.")
    count: int = Field(ge=1, le=1_000_000, description="How many volunteers to add.")
    id_prefix: str = Field("G", pattern=r"^[A-Za-z0-9_.-]{1,40}$", description="Id prefix.")
    seed: int | None = Field(None, ge=0, description="Seed of the draws (default: derived).")
    like: dict[str, Condition] = Field(
        default_factory=dict, description="Which base volunteers serve as templates."
    )
    set: dict[str, Any] = Field(default_factory=dict, description="Field path -> value.")
    choose: dict[str, tuple[Any, ...]] = Field(
        default_factory=dict, description="Field path -> values, one drawn per volunteer."
    )

    @model_validator(mode="after")
    def _choices_not_empty(self) -> GenerateVolunteers:
        for path, values in self.choose.items():
            if not values:
                raise ValueError(f"choose.{path} needs at least one value")
        return self


class SetPolicy(BaseModel):
    """Set policy fields by path: `weights.priority: 400`, `international_only: false`."""

    model_config = _FROZEN

    policy: dict[str, Any] = Field(min_length=1, description="Policy field path -> new value.")


Change = UpdateRecords | RemoveRecords | AddRecords | GenerateVolunteers | SetPolicy
_KINDS: dict[str, type[BaseModel]] = {
    "update": UpdateRecords,
    "remove": RemoveRecords,
    "add": AddRecords,
    "generate": GenerateVolunteers,
    "policy": SetPolicy,
}


def change_kind(change: Change) -> str:
    """The key that names the change's kind (`update`, `remove`, ...)."""
    return next(k for k, m in _KINDS.items() if isinstance(change, m))


class Variant(BaseModel):
    """A named copy of the base round with changes applied in order."""

    model_config = _FROZEN

    name: str = Field(description="Unique name; letters, digits and _ . = + -")
    description: str = Field("", description="What the variant asks, for the report.")
    changes: tuple[Change, ...] = Field(description="Applied in order to a copy of the base.")
    sweep: str | None = Field(None, description="The sweep it comes from, if any.")
    value: Any = Field(None, description="The sweep's value for this variant.")
    seed_key: str = Field("", description="Seeds derive from this (the sweep or variant name).")


class SweepRange(BaseModel):
    """`start`, `start + step`, ... up to and including `stop`."""

    model_config = _FROZEN

    start: float
    stop: float
    step: float

    @model_validator(mode="after")
    def _sane(self) -> SweepRange:
        if self.step == 0 or (self.stop - self.start) / self.step < 0:
            raise ValueError(f"step {self.step} never goes from {self.start} to {self.stop}")
        if (self.stop - self.start) / self.step + 1 > MAX_VARIANTS:
            raise ValueError(f"the range gives more than {MAX_VARIANTS} values")
        return self

    def values(self) -> list[int | float]:
        n = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
        out: list[int | float] = []
        integral = all(float(x).is_integer() for x in (self.start, self.step))
        for i in range(n):
            x = self.start + i * self.step
            out.append(round(x) if integral else round(x, 10))
        return out


class Sweep(BaseModel):
    """One parameter over a list or a range: one variant per value, named `<name>=<value>`.

    Either `parameter` (a policy path such as `policy.weights.priority`) or `changes`
    using the string `$value` where the value goes, or both (the changes come first).
    """

    model_config = _FROZEN

    name: str = Field(description="Variants are named `<name>=<value>`.")
    description: str = Field("", description="What the sweep asks, for the report.")
    parameter: str | None = Field(None, description="A policy path, like policy.weights.priority.")
    values: tuple[Scalar, ...] | None = Field(None, description="The values to try.")
    range: SweepRange | None = Field(None, description="Or a numeric range (stop included).")
    changes: tuple[dict[str, Any], ...] = Field((), description="Changes with `$value`.")

    @model_validator(mode="after")
    def _one_source(self) -> Sweep:
        if (self.values is None) == (self.range is None):
            raise ValueError("a sweep needs exactly one of values and range")
        if self.values is not None and not self.values:
            raise ValueError("values is empty")
        if self.parameter is None and not self.changes:
            raise ValueError("a sweep needs a parameter or changes using $value")
        if self.parameter is not None and not self.parameter.startswith("policy."):
            raise ValueError(
                "parameter must be a policy path like policy.weights.priority; "
                "for record fields use changes with $value"
            )
        return self

    def value_list(self) -> list[Scalar]:
        if self.values is not None:
            return list(self.values)
        assert self.range is not None
        return list(self.range.values())


class BaseRef(BaseModel):
    """Where the base round comes from: a file, or a round stored in the service."""

    model_config = _FROZEN

    file: str | None = Field(None, description="Round file, relative to the scenario file.")
    round_id: str | None = Field(None, description="Id of a round stored in the service.")

    @model_validator(mode="after")
    def _one(self) -> BaseRef:
        if (self.file is None) == (self.round_id is None):
            raise ValueError("base needs exactly one of file and round_id")
        return self


class Scenario(BaseModel):
    """A base round and the variants to compare with it (sweeps already expanded)."""

    model_config = _FROZEN

    name: str = Field(description="Title of the comparison.")
    description: str = Field("", description="What the planners ask.")
    base: BaseRef = Field(description="The base round.")
    seed: int = Field(0, ge=0, description="Seeds every random draw of the changes.")
    variants: tuple[Variant, ...] = Field(description="Variants, sweeps expanded, file order.")
    sweeps: tuple[Sweep, ...] = Field((), description="The sweeps as written.")
    source: str | None = Field(None, description="The scenario file, when read from one.")

    def base_path(self) -> Path | None:
        """The base round file, resolved against the scenario file's folder."""
        if self.base.file is None:
            return None
        p = Path(self.base.file)
        if not p.is_absolute() and self.source is not None:
            p = (Path(self.source).resolve().parent / p).resolve()
        return p


@dataclass(frozen=True)
class ScenarioErrorItem:
    """One problem of a scenario: which variant, which change (1-based), what is wrong."""

    variant: str
    change: int | None
    message: str

    def __str__(self) -> str:
        where = f"variant {self.variant!r}" if self.variant else "scenario"
        if self.change is not None:
            where += f" change {self.change}"
        return f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario file that cannot be run; carries every error found at once."""

    def __init__(self, errors: Sequence[ScenarioErrorItem]) -> None:
        self.errors = list(errors)
        super().__init__(
            f"{len(self.errors)} error(s) in scenario" + "".join(f"\n  - {e}" for e in self.errors)
        )


def _pydantic_messages(exc: ValidationError) -> list[str]:
    out: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (a typo?)"
        out.append(f"{loc}: {msg}" if loc else msg)
    return out


def parse_change(raw: Any) -> Change:
    """One change from its mapping; the kind is the key among update/remove/add/generate/
    policy that it carries. Raises `ValueError` with every problem in one message."""
    if not isinstance(raw, Mapping):
        raise ValueError("a change must be a mapping like {update: placements, ...}")
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        has = ", ".join(kinds) if kinds else ", ".join(map(str, raw))
        keys = ", ".join(_KINDS)
        raise ValueError(f"a change needs exactly one of the keys {keys} (it has {has})")
    try:
        change: Change = _KINDS[kinds[0]].model_validate(dict(raw))  # type: ignore[assignment]
    except ValidationError as exc:
        raise ValueError("; ".join(_pydantic_messages(exc))) from exc
    return change


def _substitute(obj: Any, value: Any) -> Any:
    if isinstance(obj, str) and obj == SWEEP_VALUE:
        return value
    if isinstance(obj, Mapping):
        return {k: _substitute(v, value) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_substitute(v, value) for v in obj]
    return obj


def _value_name(value: Any) -> str:
    if isinstance(value, str):
        return value
    return value.isoformat() if isinstance(value, dt.date) else json.dumps(value)


def _parse_changes(raws: Any, variant: str, errors: list[ScenarioErrorItem]) -> tuple[Change, ...]:
    if not isinstance(raws, list | tuple):
        errors.append(ScenarioErrorItem(variant, None, "changes must be a list"))
        return ()
    out: list[Change] = []
    for k, raw in enumerate(raws, start=1):
        try:
            out.append(parse_change(raw))
        except ValueError as exc:
            errors.append(ScenarioErrorItem(variant, k, str(exc)))
    return tuple(out)


def parse_scenario(data: Any, *, source: str | None = None) -> Scenario:
    """Build a `Scenario` from a parsed document, expanding sweeps into variants.

    Raises `ScenarioError` with every error, each naming the variant and the change.
    """
    errors: list[ScenarioErrorItem] = []
    if not isinstance(data, Mapping):
        raise ScenarioError([ScenarioErrorItem("", None, "a scenario must be a mapping")])
    known = {"name", "description", "base", "seed", "variants", "sweeps"}
    for key in data:
        if key not in known:
            expected = ", ".join(sorted(known))
            errors.append(ScenarioErrorItem("", None, f"unknown key {key!r} (expected {expected})"))
    base_raw = data.get("base")
    base: BaseRef | None = None
    try:
        base = BaseRef.model_validate({"file": base_raw} if isinstance(base_raw, str) else base_raw)
    except ValidationError as exc:
        errors += [ScenarioErrorItem("", None, f"base: {m}") for m in _pydantic_messages(exc)]
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        errors.append(
            ScenarioErrorItem("", None, f"seed must be a non-negative integer, not {seed!r}")
        )
        seed = 0

    variants: list[Variant] = []
    raw_variants = data.get("variants") or []
    if not isinstance(raw_variants, list):
        errors.append(ScenarioErrorItem("", None, "variants must be a list"))
        raw_variants = []
    for i, raw in enumerate(raw_variants, start=1):
        if not isinstance(raw, Mapping):
            errors.append(ScenarioErrorItem(f"#{i}", None, "a variant must be a mapping"))
            continue
        name = str(raw.get("name") or f"#{i}")
        extra = set(raw) - {"name", "description", "changes"}
        if extra:
            keys = ", ".join(sorted(map(str, extra)))
            errors.append(ScenarioErrorItem(name, None, f"unknown key(s) {keys}"))
        if "name" not in raw:
            errors.append(ScenarioErrorItem(name, None, "a variant needs a name"))
        changes = _parse_changes(raw.get("changes", []), name, errors)
        variants.append(
            Variant(
                name=name,
                description=str(raw.get("description", "")),
                changes=changes,
                seed_key=name,
            )
        )

    sweeps: list[Sweep] = []
    raw_sweeps = data.get("sweeps") or []
    if not isinstance(raw_sweeps, list):
        errors.append(ScenarioErrorItem("", None, "sweeps must be a list"))
        raw_sweeps = []
    for i, raw in enumerate(raw_sweeps, start=1):
        label = str(raw.get("name") or f"sweep #{i}") if isinstance(raw, Mapping) else f"sweep #{i}"
        try:
            sweep = Sweep.model_validate(raw)
        except ValidationError as exc:
            errors += [ScenarioErrorItem(label, None, m) for m in _pydantic_messages(exc)]
            continue
        sweeps.append(sweep)
        for value in sweep.value_list():
            name = f"{sweep.name}={_value_name(value)}"
            raw_changes: list[Any] = [_substitute(c, value) for c in sweep.changes]
            if sweep.parameter is not None:
                raw_changes.append({"policy": {sweep.parameter.removeprefix("policy."): value}})
            changes = _parse_changes(raw_changes, name, errors)
            variants.append(
                Variant(
                    name=name,
                    description=sweep.description,
                    changes=changes,
                    sweep=sweep.name,
                    value=value,
                    seed_key=sweep.name,
                )
            )

    seen: set[str] = set()
    for v in variants:
        if not _NAME_RE.match(v.name):
            errors.append(
                ScenarioErrorItem(v.name, None, "name: use 1-80 of letters, digits and _ . = + -")
            )
        if v.name == "base":
            errors.append(ScenarioErrorItem(v.name, None, "'base' is the base round's name"))
        if v.name in seen:
            errors.append(ScenarioErrorItem(v.name, None, "two variants share this name"))
        seen.add(v.name)
    if not variants and not errors:
        errors.append(ScenarioErrorItem("", None, "a scenario needs variants or sweeps"))
    if len(variants) > MAX_VARIANTS:
        errors.append(
            ScenarioErrorItem("", None, f"{len(variants)} variants: at most {MAX_VARIANTS}")
        )
    if errors:
        raise ScenarioError(errors)
    assert base is not None
    return Scenario(
        name=str(data.get("name") or (Path(source).stem if source else "scenario")),
        description=str(data.get("description", "")),
        base=base,
        seed=seed,
        variants=tuple(variants),
        sweeps=tuple(sweeps),
        source=source,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (YAML or JSON)."""
    from volmatch.models.decode import UndecodableText
    from volmatch.models.load import TooDeep, loads_yaml, read_text_file

    p = Path(path)
    try:
        data = loads_yaml(read_text_file(p))
    except (OSError, UndecodableText, TooDeep) as exc:
        raise ScenarioError([ScenarioErrorItem("", None, f"cannot read {p}: {exc}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([ScenarioErrorItem("", None, f"{p} is not valid YAML: {exc}")]) from exc
    return parse_scenario(data, source=str(p))
