"""The OpenAPI document with the constraints the service enforces written into it.

`volmatch.models` checks ids, country, language and skill codes with Python validators
(and their pydantic-core twins, `models.round.NATIVE_TWINS`), which pydantic's JSON
schema cannot see: it shows a bare `string`. Here every component schema that is one of
our models is generated again by a generator that reads each validator's twin and
writes its pattern (ids: `^[A-Za-z0-9_.-]{1,64}$`) or its closed list (`enum`: country
and language codes) into the schema. Path and query parameters carry their patterns and
lengths from their declarations (`deps.py`, `schemas.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

REF = "#/components/schemas/{model}"


def _twin_constraints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The JSON-schema keywords of the twin of validator `fn` (empty when it has none
    or its twin is not a pattern or a closed list)."""
    from volmatch.models.round import NATIVE_TWINS

    twin = NATIVE_TWINS.get(fn)
    if twin is None:
        return {}
    try:
        built: Any = twin(
            core_schema.no_info_after_validator_function(fn, core_schema.str_schema())
        )
    except Exception:
        return {}
    if built.get("type") == "chain":
        last = built["steps"][-1]
        if last.get("type") == "str" and "pattern" in last:
            return {"pattern": str(last["pattern"])}
    if built.get("type") == "chain" and built["steps"][-1].get("type") == "literal":
        return {"enum": list(built["steps"][-1]["expected"])}
    return {}


def request_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a request body written by hand into a route's `openapi_extra`:
    its nested models as references to the document's components (`service_openapi`
    adds those that FastAPI did not), not as `$defs` that no reader of the document
    resolves."""
    schema = model.model_json_schema(ref_template=REF, schema_generator=ConstrainedJsonSchema)
    schema.pop("$defs", None)
    return schema


def _add_missing_components(doc: dict[str, Any], models: dict[str, type[BaseModel]]) -> None:
    """Components that references in `doc` name but that FastAPI did not write (those
    of `request_schema`), generated from our models."""
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    wanted = sorted(set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(doc))))
    missing = [models[n] for n in wanted if n not in components and n in models]
    if not missing:
        return
    _, defs = models_json_schema(
        [(m, "validation") for m in missing],
        ref_template=REF,
        schema_generator=ConstrainedJsonSchema,
    )
    for name, schema in defs.get("$defs", {}).items():
        components.setdefault(name, schema)


class ConstrainedJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, plus the pattern or closed list of validated strings."""

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> Any:
        out = super().function_after_schema(schema)
        fn = schema["function"]["function"]
        extra = _twin_constraints(fn)
        if extra and isinstance(out, dict) and out.get("type") == "string":
            return {**out, **extra}
        return out


def _our_models() -> dict[str, type[BaseModel]]:
    import volmatch.models as models_pkg
    from volmatch.api.service import schemas
    from volmatch.api.service.lifecycle import schemas as lifecycle_schemas
    from volmatch.models import round as round_models

    found: dict[str, type[BaseModel]] = {}
    for module in (round_models, models_pkg, schemas, lifecycle_schemas):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel:
                found.setdefault(value.__name__, value)
    return found


def service_openapi(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    models = _our_models()
    _add_missing_components(doc, models)
    components: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    names: dict[tuple[str, str], str] = {}
    for name in components:
        base, _, suffix = name.partition("-")
        model = models.get(base)
        if model is None:
            continue
        mode: JsonSchemaMode = "serialization" if suffix == "Output" else "validation"
        wanted.append((model, mode))
        names[(base, mode)] = name
    _limits(components, app.state.settings)
    if not wanted:
        return doc
    keyed, defs = models_json_schema(
        wanted, ref_template=REF, schema_generator=ConstrainedJsonSchema
    )
    for (made, mode), schema in keyed.items():
        name = names[(made.__name__, mode)]
        fresh = _resolve(schema, keyed_defs=defs.get("$defs", {}))
        components[name] = _merge(components[name], fresh)
    return doc


def _limits(components: dict[str, Any], settings: Any) -> None:
    """The list lengths this app's settings allow, where the request schemas take lists
    of records or ids: `maxItems`."""
    caps = {
        ("VolunteersUpload", "volunteers"): settings.max_round_volunteers,
        ("RoundCreate", "volunteers"): settings.max_round_volunteers,
        ("RoundCreate", "placements"): settings.max_round_placements,
    }
    for (name, prop), cap in caps.items():
        for key in (name, f"{name}-Input"):
            node = components.get(key, {}).get("properties", {}).get(prop)
            if node is None:
                continue
            for branch in [node, *node.get("anyOf", [])]:
                if branch.get("type") == "array":
                    branch["maxItems"] = cap


def _resolve(schema: dict[str, Any], keyed_defs: dict[str, Any]) -> dict[str, Any]:
    """A top-level schema from `models_json_schema` is a `$ref` into its `$defs`."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return dict(keyed_defs.get(ref.rsplit("/", 1)[-1], schema))
    return schema


def _merge(old: Any, fresh: Any) -> Any:
    """`old` (FastAPI's) with the constraint keywords of `fresh` added wherever the two
    have the same shape; references and everything else stay FastAPI's."""
    if isinstance(old, dict) and isinstance(fresh, dict):
        out = dict(old)
        patterns = fresh.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "propertyNames" not in out:
            # pydantic writes a map with pattern-checked keys as `patternProperties`;
            # FastAPI's copy has `additionalProperties`: the keys' pattern joins it.
            out["propertyNames"] = {"pattern": next(iter(patterns))}
        for k, v in fresh.items():
            if k in ("pattern", "enum", "propertyNames") and k not in out:
                out[k] = v
            elif k in out:
                out[k] = _merge(out[k], v)
        return out
    if isinstance(old, list) and isinstance(fresh, list) and len(old) == len(fresh):
        return [_merge(a, b) for a, b in zip(old, fresh, strict=True)]
    return old
