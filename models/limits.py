"""Limits on the size of everything a round document may hold.

Each limit is far above what a real programme writes (the bundled demo and the benchmark
generator stay well inside them) and low enough that no field can make a load, a solve or
a stored record blow up: a 5 MB title, 200,000 skill keys or a 100,000-deep needs
assessment are errors naming the record and the field. The models carry them as pydantic
`Field` constraints, so that the OpenAPI schema shows exactly what the loader and the
service enforce (docs/contract.md lists them).
"""

from __future__ import annotations

from typing import Final

ID_PATTERN: Final = r"^[A-Za-z0-9_.-]{1,64}$"
"""Record ids, host ids and group names: short, URL-safe, no spaces."""

SLUG_PATTERN: Final = r"^[a-z0-9_-]{1,64}$"
"""Skill codes: lower-case slugs, as long as an id at most."""

MAX_CODE_LENGTH: Final = 64
"""Training module codes and deployment stages: a code, not a sentence."""

MAX_NAME_LENGTH: Final = 200
"""A person's full name: the longest real names are well under 200 characters."""

MAX_TITLE_LENGTH: Final = 300
"""A placement's title is a line shown in tables and workbooks, not a description."""

MAX_SKILLS: Final = 50
"""Skills per map (a volunteer's skills, a placement's required or desired skills):
eligibility keeps one bitset per (skill, level) asked, and no one lists 50 skills."""

MAX_LANGUAGES: Final = 30
"""Languages per map: a polyglot speaks a dozen; a need asks for two or three."""

MAX_TRAINING: Final = 100
"""Training modules per list (a volunteer's completed ones, a need's or policy's asks)."""

MAX_PREFERENCES: Final = 200
"""A volunteer's ranked placements: more than anyone ranks by hand."""

MAX_RANKING: Final = 2000
"""A host's ranked volunteers: a whole camp's intake at most."""

MAX_SDG_TARGETS: Final = 169
"""SDG targets per placement: there are 169 in all."""

MAX_COUNTRIES: Final = 249
"""Excluded countries per volunteer: there are 249 ISO 3166-1 codes in all."""

MAX_ASSESSMENT_KEYS: Final = 100
"""Keys at any level of a needs assessment: a form of detail, not a database."""

MAX_ASSESSMENT_DEPTH: Final = 8
"""Nesting of a needs assessment (an object in a list in an object ...): deeper than any
form, and shallow enough that no reader of it recurses without bound."""

MAX_ASSESSMENT_TEXT: Final = 10_000
"""Characters of one text in a needs assessment: a few pages of notes."""

MAX_ASSESSMENT_SIZE: Final = 100_000
"""Characters of a whole needs assessment as compact JSON: stored and returned with every
placement, it must stay small beside the placement itself."""

MAX_POINTS: Final = 1_000_000
"""Score weights and penalties: scores of a 100,000-volunteer round then stay far inside
int64 and the solvers' integer coefficients."""

MAX_MONEY: Final = 10**12
"""Budget figures (total, cost per volunteer): any currency's programme fits, and the
budget sum over a round stays far inside int64."""

MAX_COUNT: Final = 10_000_000
"""Counts in the policy (people per host, moves, allowance): above any round's size."""

MAX_SLOTS: Final = 1000
"""Slots of one placement (the contract's range), also the cap of per-placement counts."""

MAX_WAVES: Final = 10_000
"""Waves of offers of one round (an event's `wave`): one a day for over 27 years."""

MAX_PAIRS: Final = 1_000_000
"""Locked, forbidden or bonus pairs in a policy: one per pair a coordinator could name."""

MAX_SCORE: Final = 10**12
"""Scores and breakdown points of a previous assignment (informative; int64-safe)."""

MAX_BREAKDOWN: Final = 50
"""Components of a previous assignment's breakdown: the score has six."""

MAX_DOCUMENT_BYTES: Final = 2_000_000_000
"""A round file the command line reads at all: a 100,000 x 20,000 round is ~100 MB."""

MAX_DOCUMENT_DEPTH: Final = 200
"""Nesting of a whole round document (a needs assessment at its deepest is 12 levels
down): the limit of pydantic-core's JSON reader, kept for YAML, whose reader recurses
once per level."""

MAX_YAML_EXPANSION: Final = 1_000_000
"""Values that YAML aliases (`*name`) may add to a document beyond those written out:
room for shared skill maps, none for a "billion laughs" document."""

MAX_ERRORS_PER_RECORD: Final = 20
"""Errors listed for one record (a map of 200,000 bad keys is one record with 200,000
errors): the rest are counted in one line, so that a report stays readable."""

MAX_SHOWN_CHARS: Final = 40
"""Characters of a bad value quoted in an error message: enough to recognise it."""


def shown(value: object) -> str:
    """`repr(value)`, cut to `MAX_SHOWN_CHARS` characters: for error messages, which
    must stay short whatever the input holds."""
    text = repr(value)
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return f"{text[: MAX_SHOWN_CHARS - 3]}... ({len(text)} characters)"
