"""The engine's reasons in the page's language: each reason is rendered from its parts
(`models/reasons.py`: a code and its params) with the template's translation from the
pages' catalogue, numbers written by Babel for the locale, country and language names
from pycountry's translations, and records' ids as they are. English is the result's
own text, byte for byte."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from babel.numbers import format_decimal

from volmatch.api.web.i18n import DEFAULT, translator
from volmatch.api.web.options import names
from volmatch.models.reasons import ENGLISH, WORDS, Words, text_of

MACROLANGUAGE = " (macrolanguage)"
"""pycountry's English name of a macrolanguage ends so; the engine's names drop it."""
WORD_KEYS = frozenset({"has", "best", "age_max", "side", "unit"})
"""Params that may hold one of the English `WORDS` ("none", "any", "placements" ...)
rather than an id or a level."""


def french_ordinal(k: int) -> str:
    """1er, 2e, 3e ...: French ordinals in figures."""
    return "1er" if k == 1 else f"{k}e"


ORDINALS: dict[str, Callable[[int], str]] = {"fr": french_ordinal}


def _value(lang: str) -> Callable[[str, Any], Any]:
    gettext = translator(lang).gettext
    countries, languages = names("iso3166-1", lang), names("iso639-3", lang)

    def language(name: str) -> str:
        said = languages.gettext(name)
        if said == name:
            said = languages.gettext(name + MACROLANGUAGE).split(" (")[0]
        # a language's name inside a sentence is a common noun in French
        return said[:1].lower() + said[1:] if lang == "fr" else said

    def value(key: str, v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, int | float):
            return format_decimal(v, locale=lang)
        if not isinstance(v, str):
            return v
        if key == "country":
            return countries.gettext(v)
        if key == "language":
            return language(v)
        if key == "rule_text" or (key in WORD_KEYS and v in WORDS):
            return gettext(v)
        return v

    return value


def _counted(lang: str) -> Callable[[str, Mapping[str, Any]], str | None]:
    """The templates whose words agree with their count, by ngettext (the English
    template says "their offer" for any count; French conjugates: "1 a refusé son
    offre", "2 ont refusé leur offre")."""
    tr = translator(lang)

    def counted(code: str, params: Mapping[str, Any]) -> str | None:
        if code == "pairwise_only":
            return tr.ngettext(
                "{count} volunteer meets every requirement but the pair-wise rules: {rule_parts}",
                "{count} volunteers meet every requirement but the pair-wise rules: {rule_parts}",
                int(params["count"]),
            )
        if code == "pairwise_declined":
            return tr.ngettext(
                "{count} volunteer declined their offer, or let it expire",
                "{count} volunteers declined their offer, or let it expire",
                int(params["count"]),
            )
        return None

    return counted


@functools.cache
def words(lang: str) -> Words:
    """How the pages of `lang` word a reason (English: the result's own sentences)."""
    if lang == DEFAULT:
        return ENGLISH
    return Words(translator(lang).gettext, _value(lang), ORDINALS.get(lang, str), _counted(lang))


def reason_texts(items: Iterable[Mapping[str, Any]], lang: str) -> list[str]:
    """The sentences of structured reasons in `lang`."""
    w = words(lang)
    return [text_of(r, w) for r in items]
