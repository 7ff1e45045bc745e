"""Languages of the web pages: English (the source strings) and French.

Every string of the pages goes through `gettext` (`_` in templates); the catalogues are
`locales/<lang>/LC_MESSAGES/messages.po`, read with Babel when first needed (no compile
step, no binary files in the repository). Extraction: `pybabel extract -F babel.cfg -o
messages.pot api/web models/reasons.py scenarios/charts.py` (docs/pages.md: the engine's
reasons and the what-if charts' words are there). The page's language comes from
`?lang=` (kept in a cookie), else the cookie, else the browser's Accept-Language, else
English.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
"""The languages offered, by code, each named in itself (for the switch)."""
DEFAULT = "en"
LANG_COOKIE = "volmatch_lang"
LOCALES = Path(__file__).parent / "locales"


@dataclass(frozen=True)
class Translator:
    """The translations of one language: msgid -> text (singular and plural forms)."""

    lang: str
    messages: dict[str, str] = field(default_factory=dict)
    plurals: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.plurals.get(singular)
        if forms:
            # French uses the singular for 0 and 1; the last form is CLDR's "other".
            one = n <= 1 if self.lang == "fr" else n == 1
            return forms[0 if one else -1] or (singular if one else plural)
        return singular if n == 1 else plural


@functools.cache
def translator(lang: str) -> Translator:
    """The translator of `lang` (English: the identity), read once per process."""
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return Translator(DEFAULT)
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for msg in catalog:
        if not msg.id or msg.fuzzy:
            continue
        if isinstance(msg.id, tuple):
            plurals[msg.id[0]] = tuple(msg.string)
        elif msg.string:
            messages[msg.id] = str(msg.string)
    return Translator(lang, messages, plurals)


def _accepted(header: str) -> list[str]:
    """Language codes of an Accept-Language header, best first."""
    ranked: list[tuple[float, int, str]] = []
    for k, part in enumerate(header.split(",")[:20]):
        code, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, k, code.split("-")[0].strip().lower()))
    return [code for _, _, code in sorted(ranked) if code]


def page_language(request: Request) -> str:
    """The language of this page: `?lang=`, the cookie, Accept-Language, English."""
    for code in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if code in LANGUAGES:
            return code
    for code in _accepted(request.headers.get("accept-language", "")):
        if code in LANGUAGES:
            return code
    return DEFAULT
