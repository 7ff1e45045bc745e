"""The closed lists of the need form (countries, languages, CEFR levels, priorities,
security levels), with country and language names in the page's language (pycountry
ships their translations)."""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass

import pycountry

from volmatch.models.codes import CEFR_LEVELS


@dataclass(frozen=True)
class NeedOptions:
    """(code, name) pairs of each closed list, names sorted in the page's language."""

    countries: tuple[tuple[str, str], ...]
    languages: tuple[tuple[str, str], ...]
    cefr: tuple[str, ...]


def names(domain: str, lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang], fallback=True)


@functools.cache
def need_options(lang: str = "en") -> NeedOptions:
    """The form's lists in `lang` (built once per language)."""
    countries_tr = names("iso3166-1", lang)
    languages_tr = names("iso639-3", lang)
    countries = sorted(
        ((c.alpha_2, countries_tr.gettext(c.name)) for c in pycountry.countries),
        key=lambda c: c[1].casefold(),
    )
    languages = sorted(
        (
            (x.alpha_2, languages_tr.gettext(x.name))
            for x in pycountry.languages
            if hasattr(x, "alpha_2")
        ),
        key=lambda x: x[1].casefold(),
    )
    return NeedOptions(tuple(countries), tuple(languages), CEFR_LEVELS)
