"""The planner editor's form of common changes: each builds a variant (or a sweep) in
the scenario language of docs/scenarios.md and adds it to the editor's YAML, so the
form and the editor always hold one and the same scenario.

Each builder takes the posted fields and returns the entry, or raises `FormErrors`
with a message per field (shown beside the inputs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pycountry
import yaml

from volmatch.api.web.error_text import N_
from volmatch.models.codes import CEFR_LEVELS
from volmatch.models.load import TooDeep, loads_yaml
from volmatch.models.round import Weights

NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,60}$")
"""Variant names: the scenario language's letters (docs/scenarios.md)."""
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_GENERATED = 10_000
"""Volunteers one form entry may add (more belongs in a scenario file)."""
MAX_SWEEP_VALUES = 25
"""Points of a sweep made in the form: each is a solve of the whole round."""
WEIGHTS: tuple[str, ...] = tuple(Weights.model_fields)
LEVELS: tuple[str, ...] = tuple(CEFR_LEVELS)

Form = Mapping[str, Any]
Gettext = Callable[[str], str]


class FormErrors(Exception):
    """Field -> message for every wrong field of a form."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _name(form: Form, field: str, errors: dict[str, str], default: str) -> str:
    name = _text(form, field) or default
    if not NAME.match(name):
        errors[field] = "use letters, digits and _ . + - (at most 60)"
    return name


def _country(form: Form, field: str, errors: dict[str, str]) -> str:
    code = _text(form, field).upper()
    if pycountry.countries.get(alpha_2=code) is None:
        errors[field] = "a two-letter country code (ISO 3166), e.g. NP"
    return code


def _language(form: Form, field: str, errors: dict[str, str]) -> str:
    code = _text(form, field).lower()
    if not LANGUAGE.match(code):
        errors[field] = "a language code, e.g. en or fr"
    return code


def _level(form: Form, field: str, errors: dict[str, str]) -> str:
    level = _text(form, field)
    if level not in LEVELS:
        errors[field] = "one of " + ", ".join(LEVELS)
    return level


def add_volunteers(form: Form, document: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """`count` new volunteers like those of the camp who have `training`, speaking
    `language` at `level`."""
    del document
    errors: dict[str, str] = {}
    count_text = _text(form, "vol_count")
    count = int(count_text) if count_text.isdigit() else 0
    if not 1 <= count <= MAX_GENERATED:
        errors["vol_count"] = f"a whole number from 1 to {MAX_GENERATED}"
    language = _language(form, "vol_language", errors)
    level = _level(form, "vol_level", errors)
    name = _name(form, "vol_name", errors, f"{count}-more-{language}-{level}")
    training = _text(form, "vol_training")
    if errors:
        raise FormErrors(errors)
    change: dict[str, Any] = {
        "generate": "volunteers",
        "count": count,
        "id_prefix": f"NEW-{language.upper()}-",
    }
    if training:
        change["like"] = {"training": training}
    change["set"] = {f"languages.{language}": level}
    return {
        "name": name,
        "description": gettext(N_("%(count)s more volunteers speaking %(language)s at %(level)s"))
        % {"count": count, "language": language, "level": level},
        "changes": [change],
    }


def relax_language(form: Form, document: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """Placements in `country` that ask more than `level` of `language` ask `level`."""
    del document
    errors: dict[str, str] = {}
    country = _country(form, "lang_country", errors)
    language = _language(form, "lang_language", errors)
    level = _level(form, "lang_level", errors)
    name = _name(form, "lang_name", errors, f"{country.lower()}-{language}-{level}")
    if errors:
        raise FormErrors(errors)
    return {
        "name": name,
        "description": gettext(N_("%(language)s relaxed to %(level)s in %(country)s"))
        % {"language": language, "level": level, "country": country},
        "changes": [
            {
                "update": "placements",
                "where": {"country": country, f"required_languages.{language}": f"> {level}"},
                "set": {f"required_languages.{language}": level},
            }
        ],
    }


def add_country(form: Form, document: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """The programme opens in `country`: a copy of every placement of `like` there
    (same hosts, needs and slots; ids suffixed with the new country's code)."""
    errors: dict[str, str] = {}
    country = _country(form, "country_new", errors)
    like = _country(form, "country_like", errors)
    name = _name(form, "country_name", errors, f"open-{country.lower()}")
    copies = [dict(p) for p in document.get("placements", []) if p.get("country") == like]
    if "country_like" not in errors and not copies:
        errors["country_like"] = f"the round has no placements in {like}"
    if "country_new" not in errors and country == like:
        errors["country_new"] = "a country other than the one copied"
    if errors:
        raise FormErrors(errors)
    for p in copies:
        p["id"] = f"{p['id']}-{country}"
        p["country"] = country
        p.pop("ranking", None)  # the host's ranking was for the other country's need
    return {
        "name": name,
        "description": gettext(N_("placements like those in %(like)s open in %(country)s"))
        % {"like": like, "country": country},
        "changes": [{"add": "placements", "records": copies}],
    }


def sweep_weight(form: Form, document: dict[str, Any], gettext: Gettext) -> dict[str, Any]:
    """A sweep of one score weight over the listed values."""
    del document, gettext
    errors: dict[str, str] = {}
    weight = _text(form, "sweep_weight")
    if weight not in WEIGHTS:
        errors["sweep_weight"] = "one of " + ", ".join(WEIGHTS)
    raw = [v.strip() for v in _text(form, "sweep_values").split(",") if v.strip()]
    if not raw or not all(v.isdigit() for v in raw):
        errors["sweep_values"] = "whole numbers separated by commas, e.g. 0, 200, 400"
    elif len(raw) > MAX_SWEEP_VALUES:
        errors["sweep_values"] = f"at most {MAX_SWEEP_VALUES} values"
    name = _name(form, "sweep_name", errors, f"{weight}-weight")
    if errors:
        raise FormErrors(errors)
    return {"name": name, "parameter": f"policy.weights.{weight}", "values": [int(v) for v in raw]}


BUILDERS: dict[str, tuple[str, Callable[[Form, dict[str, Any], Gettext], dict[str, Any]]]] = {
    "add-volunteers": ("variants", add_volunteers),
    "relax-language": ("variants", relax_language),
    "add-country": ("variants", add_country),
    "sweep-weight": ("sweeps", sweep_weight),
}
"""Form action -> (the scenario's list it adds to, its builder). A builder writes the
variant's description in the page's language (`gettext`): the planner's own scenario."""


def add_entry(text: str, section: str, entry: dict[str, Any]) -> str:
    """The scenario `text` with `entry` appended to its `section` (variants or sweeps).
    Raises `FormErrors` on the editor ("yaml") when the text is not a YAML mapping."""
    try:
        data = loads_yaml(text) if text.strip() else {}
    except (yaml.YAMLError, TooDeep) as exc:
        raise FormErrors({"yaml": "fix the YAML first: the form adds to it"}) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FormErrors({"yaml": "a scenario is a mapping (name:, variants: ...)"})
    items = data.get(section)
    if items is None:
        items = data[section] = []
    if not isinstance(items, list):
        raise FormErrors({"yaml": f"{section}: must be a list"})
    taken = {
        i.get("name")
        for key in ("variants", "sweeps")
        for i in (data.get(key) or [])
        if isinstance(i, dict)
    }
    base, n = entry["name"], 2
    while entry["name"] in taken:
        entry = {**entry, "name": f"{base}-{n}"}
        n += 1
    items.append(entry)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
