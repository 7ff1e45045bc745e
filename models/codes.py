"""Closed code lists of the contract: countries, languages, CEFR levels, SDG targets.

Countries and languages come from pycountry (ISO 3166-1 alpha-2, ISO 639-1) so that a
code is valid exactly when the standard says so. The SDG target list is data: the 169
targets of the 2030 Agenda, numbered as the UN numbers them ("1.1" ... "17.19", with the
means-of-implementation targets lettered, "1.a").
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import pycountry

CEFR_LEVELS: Final[tuple[str, ...]] = ("A1", "A2", "B1", "B2", "C1", "C2", "native")
"""CEFR levels in increasing order; `native` ranks above C2."""

CEFR_RANK: Final[dict[str, int]] = {level: i + 1 for i, level in enumerate(CEFR_LEVELS)}
"""Level -> rank 1..7, used for every comparison (0 means the language is not spoken)."""

GENDERS: Final[tuple[str, ...]] = ("female", "male", "other", "undisclosed")
"""The genders a volunteer may declare; compiled rounds store an index into this."""

URGENT_PRIORITY: Final = 4
"""Priority from which a placement's need counts as urgent (4 and 5)."""

SDG_GOALS: Final[dict[int, str]] = {
    1: "No poverty",
    2: "Zero hunger",
    3: "Good health and well-being",
    4: "Quality education",
    5: "Gender equality",
    6: "Clean water and sanitation",
    7: "Affordable and clean energy",
    8: "Decent work and economic growth",
    9: "Industry, innovation and infrastructure",
    10: "Reduced inequalities",
    11: "Sustainable cities and communities",
    12: "Responsible consumption and production",
    13: "Climate action",
    14: "Life below water",
    15: "Life on land",
    16: "Peace, justice and strong institutions",
    17: "Partnerships for the goals",
}

# goal -> (number of numbered targets, letters of the means-of-implementation targets)
_SDG_TARGET_SHAPE: Final[dict[int, tuple[int, str]]] = {
    1: (5, "ab"),
    2: (5, "abc"),
    3: (9, "abcd"),
    4: (7, "abc"),
    5: (6, "abc"),
    6: (6, "ab"),
    7: (3, "ab"),
    8: (10, "ab"),
    9: (5, "abc"),
    10: (7, "abc"),
    11: (7, "abc"),
    12: (8, "abc"),
    13: (3, "ab"),
    14: (7, "abc"),
    15: (9, "abc"),
    16: (10, "ab"),
    17: (19, ""),
}

SDG_TARGETS: Final[tuple[str, ...]] = tuple(
    f"{goal}.{t}"
    for goal, (numbered, letters) in _SDG_TARGET_SHAPE.items()
    for t in [*(str(i) for i in range(1, numbered + 1)), *letters]
)
assert len(SDG_TARGETS) == 169, "the 2030 Agenda has 169 targets"


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """All ISO 3166-1 alpha-2 codes."""
    return frozenset(c.alpha_2 for c in pycountry.countries)


@lru_cache(maxsize=1)
def language_codes() -> frozenset[str]:
    """All ISO 639-1 (two-letter) language codes."""
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """English short name of a country code, or the code itself when unknown."""
    c = pycountry.countries.get(alpha_2=code)
    return str(getattr(c, "common_name", None) or c.name) if c is not None else code


@lru_cache(maxsize=512)
def language_name(code: str) -> str:
    """English name of an ISO 639-1 language code, or the code itself when unknown."""
    lang = pycountry.languages.get(alpha_2=code)
    return str(lang.name) if lang is not None else code
