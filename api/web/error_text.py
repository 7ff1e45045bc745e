"""The API's error messages in the page's language.

The API answers in English (its clients read `type`-less text). The pages show the same
errors beside their inputs, translated through gettext: pydantic's errors by their
`type` (with the figures of their `ctx`), the models' own `value_error`s and the
service's answers by the shape of their English text (each shape a msgid with its
variable parts as placeholders). A message with no translation in the page's language,
or of a shape not listed here, stays as the API gives it: English is the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from babel.numbers import format_decimal

from volmatch.models import ErrorItem


def N_(message: str) -> str:
    """Marks a msgid for extraction (pybabel's default keywords); translated later."""
    return message


BY_TYPE: dict[str, str] = {
    "missing": N_("required field is missing"),
    "extra_forbidden": N_("unknown field (a typo? unknown keys are not allowed)"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "bool_parsing": N_("must be yes or no"),
    "string_type": N_("must be text"),
    "greater_than_equal": N_("must be %(ge)s or more"),
    "greater_than": N_("must be more than %(gt)s"),
    "less_than_equal": N_("must be %(le)s or less"),
    "less_than": N_("must be less than %(lt)s"),
    "string_too_long": N_("must have at most %(max_length)s characters"),
    "string_too_short": N_("must have at least %(min_length)s characters"),
    "too_long": N_("must have at most %(max_length)s items"),
    "too_short": N_("must have at least %(min_length)s items"),
    "date_parsing": N_("must be a date like 2027-03-01"),
    "date_from_datetime_parsing": N_("must be a date like 2027-03-01"),
    "date_type": N_("must be a date like 2027-03-01"),
    "literal_error": N_("must be one of %(expected)s"),
    "enum": N_("must be one of %(expected)s"),
}
"""pydantic's error types -> their msgid; placeholders are keys of the error's `ctx`."""

_VALUE = r"(?P<value>'.*'|\S+)"
BY_SHAPE: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (
            rf"^{_VALUE} is not a valid id: use 1-64 of letters, digits, '_', '\.', '-'$",
            N_("%(value)s is not a valid id: use 1-64 of letters, digits, '_', '.', '-'"),
        ),
        (
            rf"^{_VALUE} is not an ISO 3166-1 alpha-2 country code \(codes are upper case\)$",
            N_("%(value)s is not an ISO 3166-1 alpha-2 country code (codes are upper case)"),
        ),
        (
            rf"^{_VALUE} is not an ISO 3166-1 alpha-2 country code$",
            N_("%(value)s is not an ISO 3166-1 alpha-2 country code"),
        ),
        (
            rf"^{_VALUE} is not an ISO 639-1 language code \(codes are lower case\)$",
            N_("%(value)s is not an ISO 639-1 language code (codes are lower case)"),
        ),
        (
            rf"^{_VALUE} is not an ISO 639-1 language code$",
            N_("%(value)s is not an ISO 639-1 language code"),
        ),
        (
            rf"^{_VALUE} is not a code: use lower-case letters, digits, '_' and '-'$",
            N_("%(value)s is not a code: use lower-case letters, digits, '_' and '-'"),
        ),
        (
            rf"^{_VALUE} is not one of the 169 SDG targets \(like '17\.6' or '1\.a'\)$",
            N_("%(value)s is not one of the 169 SDG targets (like '17.6' or '1.a')"),
        ),
        (
            r"^(?P<high>\w+) (?P<value>\S+) is less than (?P<low>\w+) (?P<bound>\S+)$",
            N_("%(high)s %(value)s is less than %(low)s %(bound)s"),
        ),
        (
            r"^start_latest (?P<value>\S+) is before start_earliest (?P<bound>\S+)$",
            N_("start_latest %(value)s is before start_earliest %(bound)s"),
        ),
        (
            r"^give either start or start_earliest/start_latest, not both$",
            N_("give either start or start_earliest/start_latest, not both"),
        ),
        (
            r"^placement id (?P<value>'.*') is taken; .*$",
            N_("the id %(value)s is taken by another need: pick another one"),
        ),
        (
            r"^offer (?P<offer>\d+) is (?P<state>\w+): too late to accept$",
            N_("offer %(offer)s is %(state)s: too late to accept"),
        ),
        (
            r"^offer (?P<offer>\d+) is (?P<state>\w+): it can no longer be answered$",
            N_("offer %(offer)s is %(state)s: it can no longer be answered"),
        ),
        (r"^offer (?P<offer>\d+) expired at (?P<at>\S+)$", N_("offer %(offer)s expired at %(at)s")),
        (
            r"^this offer can no longer be answered \(it is (?P<state>\w+)\)$",
            N_("this offer can no longer be answered (it is %(state)s)"),
        ),
        (
            r"^offer (?P<offer>\d+): reason must be one of .* for 'declined', not None$",
            N_("offer %(offer)s: choose the reason of the decline"),
        ),
        (
            r"^backfill proposal (?P<id>\d+) is (?P<status>\w+); refresh and look at the "
            r"current proposal$",
            N_(
                "backfill proposal %(id)s is %(status)s already: refresh and look at the "
                "current proposal"
            ),
        ),
        (
            r"^round '(?P<round>\w+)' changed since backfill proposal (?P<id>\d+) was "
            r"computed .*$",
            N_(
                "the round changed since backfill proposal %(id)s was computed (a reply, an "
                "expiry or another confirmation came first): refresh and look at the current "
                "proposal"
            ),
        ),
        # why a backfill proposal could not be computed (api/service/lifecycle/backfill.py)
        (
            r"^the round's offers no longer fit its document; (?P<count>\d+) error\(s\) in "
            r"the backfill request$",
            N_(
                "the round's offers no longer fit its document: %(count)s error(s) in the "
                "backfill request"
            ),
        ),
        (
            r"^(?:round: )?(?P<pairs>[\d,]+) candidate \(volunteer, placement\) pairs, over the "
            r"limit of (?P<limit>[\d,]+) one round may have: .* or raise (?P<setting>\w+)$",
            N_(
                "the round has %(pairs)s candidate (volunteer, placement) pairs, over the limit "
                "of %(limit)s one round may have: narrow the round (fewer volunteers or "
                "placements, or needs that ask for more) or raise %(setting)s"
            ),
        ),
        # why a round failed (api/service/jobs.py, the solvers' conflicts)
        (
            r"^round cannot be solved: (?P<count>\d+) conflict\(s\)$",
            N_("the round cannot be solved: %(count)s conflict(s)"),
        ),
        (r"^invalid round: (?P<count>\d+) error\(s\)$", N_("invalid round: %(count)s error(s)")),
        (
            r"^the worker solving this round stopped (?P<count>\d+) time\(s\) without "
            r"finishing; not retried$",
            N_(
                "the worker solving this round stopped %(count)s time(s) without finishing; "
                "not retried"
            ),
        ),
        (
            r"^(?P<error>\w+) while solving; the worker's log has the job id$",
            N_("%(error)s while solving; the worker's log has the job id"),
        ),
        (
            r"^(?P<count>\d+) volunteers are locked to (?P<placement>\S+), which has "
            r"(?P<slots>\d+) slot\(s\)$",
            N_("%(count)s volunteers are locked to %(placement)s, which has %(slots)s slot(s)"),
        ),
        (r"^the rules cannot all hold$", N_("the rules cannot all hold")),
        # the pool loader's messages (workbooks, CSV files, JSON and YAML documents), and
        # pydantic's own text where the loader passes it on
        (r"^required field is missing$", N_("required field is missing")),
        (
            r"^required field is missing: add a column (?P<column>'.*')$",
            N_("required field is missing: add a column %(column)s"),
        ),
        (r"^unknown field \(a typo\? unknown keys are not allowed\)$", BY_TYPE["extra_forbidden"]),
        (r"^Input should be a valid integer.*$", N_("must be a whole number")),
        (r"^Input should be a valid number.*$", N_("must be a number")),
        (r"^Input should be a valid boolean.*$", N_("must be yes or no")),
        (r"^Input should be a valid string.*$", N_("must be text")),
        (r"^Input should be a valid date.*$", N_("must be a date like 2027-03-01")),
        (r"^Input should be greater than or equal to (?P<ge>\S+)$", BY_TYPE["greater_than_equal"]),
        (r"^Input should be greater than (?P<gt>\S+)$", BY_TYPE["greater_than"]),
        (r"^Input should be less than or equal to (?P<le>\S+)$", BY_TYPE["less_than_equal"]),
        (r"^Input should be less than (?P<lt>\S+)$", BY_TYPE["less_than"]),
        (
            r"^(?P<high>\w+) (?P<value>\S+) is before (?P<low>\w+) (?P<bound>\S+)$",
            N_("%(high)s %(value)s is before %(low)s %(bound)s"),
        ),
        (
            r"^expected a date \(a date cell or ISO text like 2027-03-01\), got (?P<value>.*)$",
            N_("expected a date (a date cell or ISO text like 2027-03-01), got %(value)s"),
        ),
        (r"^expected a number, got (?P<value>.*)$", N_("expected a number, got %(value)s")),
        (r"^expected text, got (?P<value>[^:]*)$", N_("expected text, got %(value)s")),
        (
            r"^unknown column \(did you mean (?P<close>'.*')\?\): use the field names .*$",
            N_(
                "unknown column (did you mean %(close)s?): use the field names of the contract "
                "(see the Help sheet of `volmatch template`)"
            ),
        ),
        (
            r"^unknown column: use the field names .*$",
            N_(
                "unknown column: use the field names of the contract (see the Help sheet of "
                "`volmatch template`)"
            ),
        ),
        (
            r"^required column (?P<column>'.*') is missing.*$",
            N_("required column %(column)s is missing (row 1 names the columns)"),
        ),
        (
            r"^column (?P<column>'.*') appears twice.*$",
            N_("column %(column)s appears twice"),
        ),
        (r"^required sheet (?P<sheet>'.*') is missing$", N_("required sheet %(sheet)s is missing")),
        (r"^the file is empty$", N_("the file is empty")),
        (r"^cannot read it as a zip file$", N_("cannot read it as a zip file")),
        (r"^the zip holds no \.csv file$", N_("the zip holds no .csv file")),
        (
            r"^send a workbook \(\.xlsx\), a zip of CSV files, or a JSON or YAML round document$",
            N_("send a workbook (.xlsx), a zip of CSV files, or a JSON or YAML round document"),
        ),
        (r"^not valid JSON/YAML: (?P<detail>.*)$", N_("not valid JSON/YAML: %(detail)s")),
        (
            r"^cannot read it as an \.xlsx workbook.*$",
            N_("cannot read it as an .xlsx workbook"),
        ),
        # the scenario editor's form (api/web/planner_form.py)
        (
            r"^use letters, digits and _ \. \+ - \(at most 60\)$",
            N_("use letters, digits and _ . + - (at most 60)"),
        ),
        (
            r"^a two-letter country code \(ISO 3166\), e\.g\. NP$",
            N_("a two-letter country code (ISO 3166), e.g. NP"),
        ),
        (r"^a language code, e\.g\. en or fr$", N_("a language code, e.g. en or fr")),
        (r"^one of (?P<expected>[\w, ]+)$", N_("one of %(expected)s")),
        (
            r"^a whole number from 1 to (?P<most>\d+)$",
            N_("a whole number from 1 to %(most)s"),
        ),
        (
            r"^the round has no placements in (?P<country>\w+)$",
            N_("the round has no placements in %(country)s"),
        ),
        (
            r"^a country other than the one copied$",
            N_("a country other than the one copied"),
        ),
        (
            r"^whole numbers separated by commas, e\.g\. 0, 200, 400$",
            N_("whole numbers separated by commas, e.g. 0, 200, 400"),
        ),
        (r"^at most (?P<most>\d+) values$", N_("at most %(most)s values")),
        (
            r"^fix the YAML first: the form adds to it$",
            N_("fix the YAML first: the form adds to it"),
        ),
        (
            r"^a scenario is a mapping \(name:, variants: \.\.\.\)$",
            N_("a scenario is a mapping (name:, variants: ...)"),
        ),
        (r"^(?P<section>\w+): must be a list$", N_("%(section)s: must be a list")),
        # the scenario editor's checks, by line (scenarios/model.py, changes.py, source.py)
        (
            r"^a change needs exactly one of the keys (?P<keys>[\w, ]+) \(it has (?P<has>.*)\)$",
            N_("a change needs exactly one of the keys %(keys)s (it has %(has)s)"),
        ),
        (r"^unknown key\(s\) (?P<keys>.*)$", N_("unknown key(s) %(keys)s")),
        (
            r"^unknown key (?P<key>'.*') \(expected (?P<expected>.*)\)$",
            N_("unknown key %(key)s (expected %(expected)s)"),
        ),
        (r"^(?P<section>\w+) must be a list$", N_("%(section)s must be a list")),
        (r"^two variants share this name$", N_("two variants share this name")),
        (r"^a variant needs a name$", N_("a variant needs a name")),
        (r"^a variant must be a mapping$", N_("a variant must be a mapping")),
        (r"^a scenario must be a mapping$", N_("a scenario must be a mapping")),
        (r"^a scenario needs variants or sweeps$", N_("a scenario needs variants or sweeps")),
        (
            r"^seed must be a non-negative integer, not (?P<value>.*)$",
            N_("seed must be a non-negative integer, not %(value)s"),
        ),
        (
            r"^(?P<path>[\w.]+): placements have no field (?P<name>'.*')$",
            N_("%(path)s: placements have no field %(name)s"),
        ),
        (
            r"^(?P<path>[\w.]+): volunteers have no field (?P<name>'.*')$",
            N_("%(path)s: volunteers have no field %(name)s"),
        ),
        (r"^policy has no field (?P<name>'.*')$", N_("policy has no field %(name)s")),
        (
            rf"^(?P<path>[\w.]+): {_VALUE} is not a number$",
            N_("%(path)s: %(value)s is not a number"),
        ),
        (
            rf"^(?P<path>[\w.]+): {_VALUE} is not a date \(YYYY-MM-DD\)$",
            N_("%(path)s: %(value)s is not a date (YYYY-MM-DD)"),
        ),
        (
            rf"^(?P<path>[\w.]+): {_VALUE} is not true or false$",
            N_("%(path)s: %(value)s is not true or false"),
        ),
        (
            rf"^(?P<path>[\w.]+): {_VALUE} is not a CEFR level \(A1 A2 B1 B2 C1 C2 native\)$",
            N_("%(path)s: %(value)s is not a CEFR level (A1 A2 B1 B2 C1 C2 native)"),
        ),
        (
            r"^(?P<count>\d+) variants; a page runs at most (?P<most>\d+) \(use volmatch "
            r"whatif for larger sweeps\)$",
            N_(
                "%(count)s variants; a page runs at most %(most)s (use volmatch whatif for "
                "larger sweeps)"
            ),
        ),
        (
            r"^the scenario is (?P<count>\d+) characters; at most (?P<most>\d+)$",
            N_("the scenario is %(count)s characters; at most %(most)s"),
        ),
        # PyYAML's most common problems (the rest stay as PyYAML words them)
        (r"^mapping values are not allowed here$", N_("mapping values are not allowed here")),
        (
            r"^could not find expected (?P<what>'.*')$",
            N_("could not find the expected %(what)s"),
        ),
        (
            r"^expected the node content, but found (?P<found>.*)$",
            N_("expected a value, but found %(found)s"),
        ),
        (
            r"^found character (?P<char>'.*') that cannot start any token$",
            N_("found the character %(char)s, which cannot start any token"),
        ),
    )
)
"""English texts of the models' checks, the service's answers, the pool loader's and
the scenario form's messages -> their msgid; the named groups fill the placeholders."""

PLACES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^row (?P<row>\d+)(?P<rest>.*)$"), N_("row %(row)s")),
    (re.compile(r"^column (?P<column>[A-Z]+)(?P<rest>.*)$"), N_("column %(column)s")),
)
"""Where a workbook's or CSV file's error is ("row 4 (V003)", "column C (nationality)"):
the words translated, the id or header after them as they are."""


def _or(expected: str, gettext: Callable[[str], str]) -> str:
    """pydantic's "'A1', 'B2' or 'native'" with the page's word for "or"."""
    return expected.replace("' or '", "' " + gettext("or") + " '")


def _translated(msgid: str, values: Mapping[str, Any], gettext: Callable[[str], str]) -> str | None:
    text = gettext(msgid)
    if text == msgid:  # no translation (English pages, or not translated yet)
        return None
    try:
        return text % dict(values)
    except (KeyError, TypeError, ValueError):
        return None


FIGURES = frozenset({"pairs", "limit"})
"""Placeholders that hold a count the engine writes with English separators (1,000):
written again for the page's locale where `localize` is given one."""


def localize(
    message: str,
    gettext: Callable[[str], str],
    *,
    error_type: str = "",
    ctx: Mapping[str, Any] | None = None,
    lang: str | None = None,
) -> str:
    """`message` (as the API gives it) in the language of `gettext`; the message itself
    when there is no translation for it. With `lang`, the counts of `FIGURES` are
    written for that locale (1 000 in French)."""
    if error_type in BY_TYPE:
        values = {
            k: (_or(str(v), gettext) if k == "expected" else v) for k, v in (ctx or {}).items()
        }
        found = _translated(BY_TYPE[error_type], values, gettext)
        if found is not None:
            return found
    for pattern, msgid in BY_SHAPE:
        m = pattern.match(message)
        if m:
            values = m.groupdict()
            if lang is not None:
                values = {
                    k: format_decimal(int(v.replace(",", "")), locale=lang) if k in FIGURES else v
                    for k, v in values.items()
                }
            return _translated(msgid, values, gettext) or message
    return message


SCENARIO_FRAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (
            r"^variant (?P<variant>'[^']*') change (?P<change>\d+): (?P<rest>.*)$",
            N_("variant %(variant)s, change %(change)s: %(message)s"),
        ),
        (r"^variant (?P<variant>'[^']*'): (?P<rest>.*)$", N_("variant %(variant)s: %(message)s")),
        (r"^scenario: (?P<rest>.*)$", N_("scenario: %(message)s")),
        (r"^YAML: (?P<rest>.*)$", N_("YAML: %(message)s")),
    )
)
"""Where a scenario's error is ("variant 'a' change 2: ..."): the words translated, the
variant's name as it is, and the message after them by its shape (`BY_SHAPE`)."""
_FIELD = re.compile(r"^(?P<path>[\w.]+): (?P<rest>.*)$")


def localize_scenario_error(message: str, gettext: Callable[[str], str]) -> str:
    """A scenario's error (the editor's, by line, and a variant's that could not run) in
    the language of `gettext`: its frame and its message by their shapes; a part of no
    known shape stays as the engine words it (English)."""
    for pattern, msgid in SCENARIO_FRAMES:
        m = pattern.match(message)
        if m:
            values = {**m.groupdict(), "message": localize_scenario_error(m["rest"], gettext)}
            return _translated(msgid, values, gettext) or message
    said = localize(message, gettext)
    if said == message and (m := _FIELD.match(message)):
        # "count: Input should be ...": a field's path, then pydantic's or a check's text
        inner = localize(m["rest"], gettext)
        if inner != m["rest"]:
            values = {"path": m["path"], "message": inner}
            return _translated(N_("%(path)s: %(message)s"), values, gettext) or message
    return said


def localize_place(place: str, gettext: Callable[[str], str]) -> str:
    """A loader error's row or column (`ErrorItem.record`, `.field`) in the language of
    `gettext`; a record's id or a field's path as it is."""
    for pattern, msgid in PLACES:
        m = pattern.match(place)
        if m:
            values = m.groupdict()
            said = _translated(msgid, values, gettext)
            return place if said is None else said + values["rest"]
    return place


def localize_item(item: ErrorItem, gettext: Callable[[str], str]) -> dict[str, str]:
    """One error of an uploaded file (sheet, row or record, column or field, message)
    in the language of `gettext`; the sheet's name as the file has it."""
    return {
        "section": item.section,
        "record": localize_place(item.record, gettext),
        "field": localize_place(item.field, gettext),
        "message": localize(item.message, gettext),
    }
