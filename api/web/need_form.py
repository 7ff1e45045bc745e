"""The host partners' need form: a posted form to a placement document and back, and
the API's field errors grouped by the form's inputs.

Lists are rows of inputs with the same names (`required_skills.code` and
`required_skills.level` ...); comma-separated text for training modules and SDG
targets; the needs assessment keeps every key it had and takes the form's `summary` and
`beneficiaries`. Validation is the API's: `Placement` and `errors.request_errors`, so
the page shows the very messages the API would answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from volmatch.api.service.errors import request_errors
from volmatch.api.web.error_text import localize
from volmatch.models import ErrorItem, Placement

LEVEL_MAPS = ("required_skills", "desired_skills", "required_languages", "desired_languages")
"""Form sections of (code, level) rows."""
TEXT_FIELDS = ("title", "country", "start_earliest", "start_latest")
INT_FIELDS = (
    "slots",
    "priority",
    "min_months",
    "max_months",
    "security_level",
    "age_min",
    "age_max",
)
LIST_FIELDS = ("required_training", "sdg_targets")
KEPT_FIELDS = ("ranking",)
"""Fields the form does not show: an edit keeps the stored need's values."""
ASSESSMENT_KEYS = ("summary", "beneficiaries")
"""Keys of the needs assessment the form edits; others are kept as they are."""
_SPLIT = re.compile(r"[,;\s]+")


def editable_values(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored need's values as its edit form shows them: every field, defaults too
    (the store leaves them out, and a select with no value would show its first choice,
    so an untouched Save would change the need)."""
    return Placement.model_validate(stored).model_dump(mode="json")


@dataclass
class NeedForm:
    """What the form shows: the values (as the placement's JSON) and the errors by input
    (`""` for errors of the whole need)."""

    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def rows(self, name: str) -> list[tuple[str, str]]:
        """The (code, level) rows of a level map, with one empty row to fill in."""
        found = self.values.get(name) or {}
        return [(str(k), str(v)) for k, v in found.items()] + [("", "")]

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if isinstance(value, list | tuple):
            return ", ".join(map(str, value))
        return "" if value is None else str(value)

    def assessment(self, key: str) -> str:
        value = (self.values.get("needs_assessment") or {}).get(key)
        return "" if value is None else str(value)


def _int_or_text(raw: str) -> int | str:
    """An integer when the text is one (so the API's own message names a bad value)."""
    try:
        return int(raw)
    except ValueError:
        return raw


def form_document(
    form: FormData, host_id: str, placement_id: str | None, stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The placement document a posted need form asks for (empty inputs left out, so the
    defaults apply and a missing required field is named as the API names it); on an
    edit, what the form does not show is kept from `stored`, the need as it is stored."""
    stored = stored or {}
    doc: dict[str, Any] = {"id": placement_id or str(form.get("id", "")).strip(), "host": host_id}
    doc.update({k: stored[k] for k in KEPT_FIELDS if k in stored})
    for name in TEXT_FIELDS:
        value = str(form.get(name, "")).strip()
        if value:
            doc[name] = value
    for name in INT_FIELDS:
        value = str(form.get(name, "")).strip()
        if value:
            doc[name] = _int_or_text(value)
    for name in LEVEL_MAPS:
        codes = [str(c).strip() for c in form.getlist(f"{name}.code")]
        levels = [str(v).strip() for v in form.getlist(f"{name}.level")]
        pairs = {
            c: (_int_or_text(v) if "skills" in name else v)
            for c, v in zip(codes, levels, strict=False)
            if c
        }
        if pairs:
            doc[name] = pairs
    for name in LIST_FIELDS:
        items = [x for x in _SPLIT.split(str(form.get(name, ""))) if x]
        if items:
            doc[name] = items
    kept = dict(stored.get("needs_assessment") or {})
    summary = str(form.get("summary", "")).strip()
    beneficiaries = str(form.get("beneficiaries", "")).strip()
    for key, value in (("summary", summary), ("beneficiaries", beneficiaries)):
        if value:
            kept[key] = _int_or_text(value) if key == "beneficiaries" else value
        else:
            kept.pop(key, None)
    if kept:
        doc["needs_assessment"] = kept
    return doc


def _input_of(item: ErrorItem) -> str:
    """The form input an API error belongs to ('' for the need as a whole)."""
    first = item.field.split(".")[0] if item.field else ""
    if not first and item.section not in ("body", "placements"):
        first = item.section  # an item of a list field: `sdg_targets[0]`
    if first == "needs_assessment":
        return "summary"
    return first if first and first != "host" else ""


def _english(message: str) -> str:
    return message


def check(
    doc: dict[str, Any], gettext: Callable[[str], str] = _english
) -> tuple[Placement | None, NeedForm]:
    """Validate `doc` as the API does: the placement, or None and the errors by input,
    in the language of `gettext` (the API's English where there is no translation)."""
    form = NeedForm(values=doc)
    try:
        return Placement.model_validate(doc), form
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        # request_errors gives one item per error, in order: the type and ctx of each
        # key its translation.
        for err, item in zip(errors, request_errors(errors, doc), strict=True):
            text = localize(
                item.message, gettext, error_type=str(err.get("type", "")), ctx=err.get("ctx")
            )
            form.errors.setdefault(_input_of(item), []).append(text)
        return None, form


def add_api_error(
    form: NeedForm,
    status: int,
    detail: str,
    items: list[ErrorItem],
    gettext: Callable[[str], str] = _english,
) -> None:
    """An error the service answered (403, 404, 409, 422 ...) shown on the form."""
    if not items:
        form.errors.setdefault("id" if status in (404, 409) else "", []).append(
            localize(detail, gettext)
        )
    for item in items:
        form.errors.setdefault(_input_of(item), []).append(localize(item.message, gettext))
