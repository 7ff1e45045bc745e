"""Seeded generator of realistic matching rounds at any size.

The rounds model a South-South volunteer programme of the kind the Beijing Volunteer
Service Federation runs with UNV: a pool dominated by Chinese volunteers with others
from across the global South, deployed for 6-12 months to host partners in Asia and
Africa (Nepal, Myanmar, Thailand, Cambodia, ... , Kenya, Ethiopia, Senegal, ...).

Why the generator looks the way it does:

* Eligibility is what makes a matching round hard, so every hard rule of the contract
  is exercised: required skills and languages (CEFR), training modules, service
  lengths, date windows, excluded countries, international-only, security clearance
  and age ranges.
* Real pools give each volunteer a few dozen eligible placements, not thousands: a
  small pilot works in a few countries and sectors with one intake, a large programme
  in many countries and sectors over several intakes. The generator follows that:
  the *breadth* of the programme (host countries, sectors, intake horizon, how often a
  placement asks for a second skill) grows with the number of placements, which keeps
  the number of eligible placements per volunteer in the 25-50 range of the measured
  anchors at every size (`shared/ANCHORS.md`).
* Everything is drawn with numpy in bulk; only the final dicts are built in a Python
  loop, so 100,000 x 20,000 generates in a few seconds.
* The same `(n_volunteers, n_placements, seed)` always gives the same document, and
  `rules=True` changes nothing but the fields it adds (groups, policy rules), because
  those are drawn from a separate random stream. Pure and rules variants of a size
  therefore share their eligible pairs.

Command line::

    python -m benchmarks.generate --volunteers 10000 --placements 2000 --seed 1 \\
        [--rules] --out round.json
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

CEFR = ("", "A1", "A2", "B1", "B2", "C1", "C2", "native")
"""CEFR level by rank; rank 0 means the language is not spoken."""

BASE_DATE = np.datetime64("2027-01-01", "D")
"""First day of the generated intake horizon (fixed so that documents are reproducible)."""


@dataclass(frozen=True)
class HostCountry:
    """A host country of the programme and the languages spoken at its placements."""

    code: str
    local: str
    """The local language a placement may ask for."""
    working: str | None
    """A second working language (French in francophone Africa) or None."""
    weight: float
    """Relative share of placements."""
    security: int
    """Typical security level of its placements (0..3)."""


# In the order a programme typically opens countries: the BVF pilot countries first.
HOST_COUNTRIES: tuple[HostCountry, ...] = (
    HostCountry("NP", "ne", None, 1.0, 0),
    HostCountry("MM", "my", None, 0.9, 1),
    HostCountry("TH", "th", None, 0.8, 0),
    HostCountry("KH", "km", None, 0.9, 0),
    HostCountry("LA", "lo", None, 0.6, 0),
    HostCountry("KE", "sw", None, 1.0, 0),
    HostCountry("LK", "si", None, 0.7, 0),
    HostCountry("ET", "am", None, 0.9, 1),
    HostCountry("BD", "bn", None, 0.8, 1),
    HostCountry("TZ", "sw", None, 0.8, 0),
    HostCountry("UG", "lg", None, 0.7, 1),
    HostCountry("SN", "wo", "fr", 0.6, 0),
    HostCountry("RW", "rw", "fr", 0.6, 0),
    HostCountry("GH", "ak", None, 0.7, 0),
    HostCountry("ZM", "ny", None, 0.5, 0),
    HostCountry("MN", "mn", None, 0.4, 0),
    HostCountry("ID", "id", None, 0.7, 0),
    HostCountry("PK", "ur", None, 0.6, 2),
    HostCountry("MZ", "pt", None, 0.5, 1),
    HostCountry("CM", "fr", None, 0.5, 1),
)


@dataclass(frozen=True)
class Nationality:
    """A sending country: its share of the pool, mother tongue and English profile."""

    code: str
    weight: float
    native: str
    english: str
    """Key of `ENGLISH_PROFILES`."""


NATIONALITIES: tuple[Nationality, ...] = (
    Nationality("CN", 0.40, "zh", "asia"),
    Nationality("NP", 0.04, "ne", "asia"),
    Nationality("BD", 0.04, "bn", "anglo"),
    Nationality("PK", 0.04, "ur", "anglo"),
    Nationality("IN", 0.03, "hi", "anglo"),
    Nationality("LK", 0.02, "si", "anglo"),
    Nationality("VN", 0.03, "vi", "asia"),
    Nationality("PH", 0.04, "tl", "anglo"),
    Nationality("ID", 0.03, "id", "asia"),
    Nationality("MM", 0.02, "my", "asia"),
    Nationality("KH", 0.02, "km", "asia"),
    Nationality("TH", 0.02, "th", "asia"),
    Nationality("LA", 0.01, "lo", "asia"),
    Nationality("MN", 0.01, "mn", "asia"),
    Nationality("MY", 0.01, "ms", "anglo"),
    Nationality("KE", 0.04, "sw", "anglo"),
    Nationality("NG", 0.04, "yo", "anglo"),
    Nationality("GH", 0.03, "ak", "anglo"),
    Nationality("ET", 0.03, "am", "anglo"),
    Nationality("UG", 0.02, "lg", "anglo"),
    Nationality("TZ", 0.02, "sw", "anglo"),
    Nationality("RW", 0.01, "rw", "anglo"),
    Nationality("ZM", 0.01, "ny", "anglo"),
    Nationality("SN", 0.01, "wo", "franco"),
    Nationality("CM", 0.01, "fr", "franco"),
    Nationality("EG", 0.01, "ar", "other"),
    Nationality("ZA", 0.01, "zu", "anglo"),
    Nationality("MZ", 0.01, "pt", "other"),
)

# Probability of each English CEFR rank 0..7 (0 = none, 7 = native) by profile.
ENGLISH_PROFILES: dict[str, tuple[float, ...]] = {
    "anglo": (0.0, 0.0, 0.02, 0.10, 0.30, 0.33, 0.15, 0.10),
    "asia": (0.03, 0.02, 0.10, 0.30, 0.35, 0.17, 0.03, 0.0),
    "franco": (0.05, 0.05, 0.20, 0.35, 0.25, 0.10, 0.0, 0.0),
    "other": (0.02, 0.03, 0.15, 0.35, 0.30, 0.15, 0.0, 0.0),
}

# Second languages that run along regions: (nationalities, language, probability,
# lowest rank, highest rank).
REGIONAL_LANGUAGES: tuple[tuple[frozenset[str], str, float, int, int], ...] = (
    (frozenset({"NP", "BD", "PK"}), "hi", 0.5, 4, 6),
    (frozenset({"UG", "RW", "ET", "ZM"}), "sw", 0.3, 3, 5),
    (frozenset({"RW", "CM", "SN"}), "fr", 0.8, 4, 6),
    (
        frozenset({"NP", "BD", "VN", "PH", "ID", "MM", "KH", "TH", "LA", "MN", "MY"}),
        "zh",
        0.08,
        3,
        4,
    ),
    (frozenset({"KE", "NG", "GH", "ET", "UG", "TZ", "ZM", "ZA", "EG", "MZ"}), "fr", 0.08, 3, 4),
    (
        frozenset({"KE", "NG", "GH", "ET", "UG", "TZ", "RW", "ZM", "ZA", "EG", "MZ", "SN"}),
        "zh",
        0.04,
        3,
        4,
    ),
)


@dataclass(frozen=True)
class Sector:
    """A development sector: its skill code, share, SDG targets and placement titles."""

    skill: str
    weight: float
    sdg: tuple[str, ...]
    titles: tuple[str, ...]


# In the order a programme typically adds sectors.
SECTORS: tuple[Sector, ...] = (
    Sector("teaching", 1.6, ("4.1", "4.c"), ("Primary school teacher", "Secondary teacher")),
    Sector(
        "public-health",
        1.1,
        ("3.8", "3.3"),
        ("Community health officer", "Health promotion volunteer"),
    ),
    Sector(
        "agriculture",
        1.0,
        ("2.3", "2.4"),
        ("Agricultural extension officer", "Farming cooperative adviser"),
    ),
    Sector(
        "community-development",
        1.0,
        ("1.4", "11.1"),
        ("Community mobiliser", "Livelihoods officer"),
    ),
    Sector("ict", 0.8, ("9.c", "17.8"), ("ICT trainer", "Database assistant")),
    Sector("nursing", 0.8, ("3.1", "3.2"), ("Nurse", "Midwifery assistant")),
    Sector("water-sanitation", 0.7, ("6.1", "6.2"), ("WASH officer", "Hygiene promoter")),
    Sector(
        "disaster-response",
        0.6,
        ("1.5", "11.5", "13.1"),
        ("Disaster risk reduction officer", "Emergency response volunteer"),
    ),
    Sector("engineering", 0.6, ("9.1", "7.1"), ("Civil engineer", "Solar energy technician")),
    Sector("microfinance", 0.5, ("1.4", "8.10"), ("Microfinance officer", "Savings group adviser")),
    Sector("environment", 0.5, ("13.3", "15.2"), ("Environmental educator", "Forestry assistant")),
    Sector("youth-employment", 0.5, ("8.6", "4.4"), ("Youth skills trainer", "Job centre adviser")),
    Sector("gender-equality", 0.4, ("5.5", "5.1"), ("Gender officer", "Women's group facilitator")),
    Sector(
        "chinese-teaching",
        0.4,
        ("4.7", "17.9"),
        ("Chinese language teacher", "Confucius classroom assistant"),
    ),
)

SUPPORT_SKILLS: tuple[str, ...] = (
    "project-management",
    "monitoring-evaluation",
    "data-analysis",
    "communications",
    "training-facilitation",
)

PARTNERSHIP_TARGETS: tuple[str, ...] = ("17.9", "17.6", "17.16", "17.17")
"""Capacity building, knowledge sharing and partnership targets of South-South work."""

COUNTERPARTS: tuple[str, ...] = (
    "district government office",
    "line ministry department",
    "community-based organisation",
    "farmers' cooperative",
    "public school",
    "district health centre",
    "national volunteer agency",
)

# (module code, share of volunteers who completed it)
TRAINING_MODULES: tuple[tuple[str, float], ...] = (
    ("pre-deployment", 0.93),
    ("security", 0.45),
    ("first-aid", 0.40),
    ("intercultural", 0.35),
    ("language-intensive", 0.25),
    ("psychosocial", 0.20),
)

# (min_months, max_months, share) of volunteers' and placements' service lengths.
VOLUNTEER_TERMS: tuple[tuple[int, int, float], ...] = (
    (6, 12, 0.55),
    (6, 9, 0.10),
    (9, 12, 0.10),
    (12, 12, 0.10),
    (3, 6, 0.05),
    (12, 24, 0.10),
)
PLACEMENT_TERMS: tuple[tuple[int, int, float], ...] = (
    (6, 12, 0.50),
    (6, 6, 0.10),
    (9, 12, 0.15),
    (12, 12, 0.15),
    (3, 6, 0.05),
    (12, 24, 0.05),
)


def _probs(weights: Sequence[float]) -> F64:
    w: F64 = np.asarray(weights, dtype=np.float64)
    out: F64 = w / w.sum()
    return out


def _draw(rng: np.random.Generator, weights: Sequence[float], size: int) -> I64:
    """Indices drawn with the given relative weights."""
    return rng.choice(len(weights), size=size, p=_probs(weights)).astype(np.int64)


@dataclass(frozen=True)
class Breadth:
    """How broad the programme is at this size; see the module docstring for why."""

    n_countries: int
    n_sectors: int
    horizon_days: int
    """Placements may start anywhere in this many days after `BASE_DATE`."""
    second_skill: float
    """Share of placements that require a support skill beside their sector skill."""
    local_language: float
    """Share of placements that require the host country's local language."""
    skill_required: float
    """Share of placements that require their sector's skill (pilots ask for less)."""


def breadth(n_placements: int) -> Breadth:
    """Programme breadth for a number of placements.

    Interpolated on log10(placements) between a pilot of 100 placements (3 countries,
    4 sectors, one 3-month intake) and a programme of 20,000 (18 countries, all
    sectors, two years of intakes); calibrated so that a volunteer has roughly 25-50
    eligible placements at every size of the ladder.
    """
    t = (math.log10(max(n_placements, 10)) - 2.0) / (math.log10(20_000) - 2.0)
    t = min(max(t, 0.0), 1.15)
    return Breadth(
        n_countries=min(len(HOST_COUNTRIES), round(3 + 15 * t)),
        n_sectors=min(len(SECTORS), round(4 + 10 * t)),
        horizon_days=round(30 + 700 * t**1.5),
        second_skill=0.05 + 0.6 * t,
        skill_required=0.4 + 0.5 * t**1.5,
        local_language=0.05 + 0.10 * t,
    )


def rules_policy(seed: int) -> dict[str, Any]:
    """Policy fields that the `rules` variant of a round switches on.

    The policy-constraints work (group handling, nationality mix, gender balance,
    quotas, budget, disruption limits) has not landed in the contract yet, so no such
    field can be set without the document being rejected: the rules variant is, for
    now, the pure policy plus volunteer groups. The seed is the argument so that the
    rules, once they exist, can be drawn reproducibly.
    """
    del seed
    return {}


def _unique_rows(cand: I64) -> I64:
    """Replace repeated entries of each row by -1, keeping the first occurrence."""
    out = cand.copy()
    for j in range(1, out.shape[1]):
        dup = (out[:, :j] == out[:, j : j + 1]).any(axis=1)
        out[dup, j] = -1
    return out


def _near_in_bucket(
    rng: np.random.Generator,
    sorted_keys: I64,
    bucket_start: I64,
    bucket_end: I64,
    query: I64,
    width: int,
    n_pick: int,
) -> I64:
    """For each query, `n_pick` positions in `sorted_keys` close to the query's key.

    Keys are `bucket * 2**32 + day`, so a query lands among the records of its own
    bucket (a sector) that start near its day; positions are clipped to the bucket.
    An empty bucket yields -1.
    """
    pos = np.searchsorted(sorted_keys, query)[:, None]
    off = rng.integers(-width, width + 1, size=(len(query), n_pick))
    lo = bucket_start[:, None]
    hi = bucket_end[:, None] - 1
    picked = np.clip(pos + off, lo, np.maximum(hi, lo))
    return np.where(hi >= lo, picked, -1)


def _dates(days: I64) -> list[str]:
    return [str(d) for d in np.datetime_as_string((BASE_DATE + days).astype("datetime64[D]"))]


def _ids(prefix: str, n: int, width: int) -> list[str]:
    w = max(width, len(str(n)))
    return [f"{prefix}{i:0{w}d}" for i in range(1, n + 1)]


def generate_round(
    n_volunteers: int, n_placements: int, *, seed: int = 0, rules: bool = False
) -> dict[str, Any]:
    """A JSON-ready round document of the contract with the given numbers of records.

    Deterministic for a given `(n_volunteers, n_placements, seed)`. With `rules=True`
    about 2% of the volunteers come as pairs sharing a `group` and the policy gets
    `rules_policy(seed)`; every other field is the same as with `rules=False`.
    """
    if n_volunteers < 1 or n_placements < 1:
        raise ValueError("a round needs at least one volunteer and one placement")
    rng = np.random.default_rng([seed, n_volunteers, n_placements, 0])
    b = breadth(n_placements)
    hosts_on = HOST_COUNTRIES[: b.n_countries]
    sectors_on = SECTORS[: b.n_sectors]
    n_v, n_p = n_volunteers, n_placements

    # ---------------------------------------------------------------- placements
    n_hosts = max(1, min(n_p // 5, 9999))
    host_country = _draw(rng, [c.weight for c in hosts_on], n_hosts)
    host_sector = _draw(rng, [s.weight for s in sectors_on], n_hosts)
    p_host = rng.integers(0, n_hosts, size=n_p)
    p_country = host_country[p_host]
    p_sector = np.where(
        rng.random(n_p) < 0.7, host_sector[p_host], _draw(rng, [s.weight for s in sectors_on], n_p)
    )
    p_slots = 1 + _draw(rng, [0.70, 0.18, 0.07, 0.03, 0.02], n_p)
    p_priority = 1 + _draw(rng, [0.08, 0.20, 0.40, 0.22, 0.10], n_p)
    p_security = np.clip(
        np.array([c.security for c in hosts_on])[p_country] + _draw(rng, [0.6, 0.3, 0.1], n_p),
        0,
        3,
    )
    p_has_req_skill = rng.random(n_p) < b.skill_required
    p_req_level = 2 + _draw(rng, [0.35, 0.45, 0.20], n_p)
    p_second = np.where(
        rng.random(n_p) < b.second_skill, rng.integers(0, len(SUPPORT_SKILLS), n_p), -1
    )
    p_second_level = 2 + _draw(rng, [0.6, 0.4], n_p)
    p_desired_support = rng.integers(0, len(SUPPORT_SKILLS), n_p)
    p_desired_sector = np.where(rng.random(n_p) < 0.4, rng.integers(0, len(sectors_on), n_p), -1)
    p_english_req = _draw(rng, [0.40, 0.35, 0.25], n_p)  # none, B1, B2
    p_local_req = rng.random(n_p) < b.local_language
    p_local_level = 2 + _draw(rng, [0.5, 0.5], n_p)  # A2 or B1
    p_working_req = rng.random(n_p) < 0.6
    p_local_desired = rng.random(n_p) < 0.6
    term = _draw(rng, [t[2] for t in PLACEMENT_TERMS], n_p)
    p_min = np.array([t[0] for t in PLACEMENT_TERMS])[term]
    p_max = np.array([t[1] for t in PLACEMENT_TERMS])[term]
    p_earliest = rng.integers(0, b.horizon_days, n_p)
    window = np.array([0, 14, 30, 45, 60])[_draw(rng, [0.3, 0.25, 0.25, 0.1, 0.1], n_p)]
    p_latest = p_earliest + window
    age_kind = _draw(rng, [0.88, 0.08, 0.04], n_p)  # none, youth (<= 29), specialist (>= 25)
    first_aid = rng.random(n_p) < 0.3
    psychosocial = rng.random(n_p) < 0.5
    lang_intensive = rng.random(n_p) < 0.5
    n_sdg_extra = rng.random((n_p, 2))
    partnership = rng.integers(0, len(PARTNERSHIP_TARGETS), n_p)
    beneficiaries = np.round(np.exp(rng.normal(6.0, 1.3, n_p))).astype(np.int64) + 20
    counterpart = rng.integers(0, len(COUNTERPARTS), n_p)
    assessed = rng.integers(-240, -30, n_p)
    title_pick = rng.integers(0, 2, n_p)

    # ---------------------------------------------------------------- volunteers
    nat = _draw(rng, [x.weight for x in NATIONALITIES], n_v)
    nat_codes = np.array([x.code for x in NATIONALITIES])
    gender = _draw(rng, [0.55, 0.43, 0.01, 0.01], n_v)
    age_days = np.round((21 + rng.gamma(2.0, 3.0, n_v)) * 365.25).astype(np.int64)
    birth = np.minimum(-age_days + rng.integers(0, 365, n_v), -19 * 366)
    has_birth = rng.random(n_v) < 0.97
    profile_of = np.array([list(ENGLISH_PROFILES).index(x.english) for x in NATIONALITIES])
    english = np.zeros(n_v, dtype=np.int64)
    u = rng.random(n_v)
    for k, probs in enumerate(ENGLISH_PROFILES.values()):
        sel = profile_of[nat] == k
        english[sel] = np.searchsorted(np.cumsum(probs), u[sel] * sum(probs), side="right")
    english = np.minimum(english, 7)
    regional: list[tuple[NDArray[np.bool_], str, I64]] = []
    for nats, lang, prob, lo, hi in REGIONAL_LANGUAGES:
        member = np.isin(nat_codes[nat], list(nats))
        sel = member & (rng.random(n_v) < prob)
        regional.append((sel, lang, rng.integers(lo, hi + 1, n_v)))
    learner = rng.random(n_v) < np.where(nat_codes[nat] == "CN", 0.12, 0.10)
    learner_lang = _draw(rng, [c.weight for c in hosts_on], n_v)
    learner_level = rng.integers(3, 6, n_v)
    sector_w = [s.weight for s in sectors_on]
    v_primary = _draw(rng, sector_w, n_v)
    v_primary_level = 2 + _draw(rng, [0.25, 0.35, 0.28, 0.12], n_v)
    v_secondary = np.where(rng.random(n_v) < 0.5, rng.integers(0, len(SECTORS), n_v), -1)
    v_secondary_level = 1 + _draw(rng, [0.2, 0.35, 0.3, 0.15], n_v)
    v_support = np.where(rng.random(n_v) < 0.6, rng.integers(0, len(SUPPORT_SKILLS), n_v), -1)
    v_support_level = 2 + _draw(rng, [0.4, 0.4, 0.2], n_v)
    trained = rng.random((n_v, len(TRAINING_MODULES))) < np.array([m[1] for m in TRAINING_MODULES])
    vterm = _draw(rng, [t[2] for t in VOLUNTEER_TERMS], n_v)
    v_min = np.array([t[0] for t in VOLUNTEER_TERMS])[vterm]
    v_max = np.array([t[1] for t in VOLUNTEER_TERMS])[vterm]
    v_from = rng.integers(-30, b.horizon_days, n_v)
    v_until = (
        v_from
        + np.ceil(v_min * 30.44).astype(np.int64)
        + _draw(rng, [0.2, 0.3, 0.3, 0.2], n_v) * 45
        + rng.integers(0, 15, n_v)
    )
    clearance = _draw(rng, [0.35, 0.35, 0.22, 0.08], n_v)
    n_excl = _draw(rng, [0.92, 0.056, 0.024], n_v)
    excl = rng.integers(0, len(hosts_on), (n_v, 2))

    # preferences: placements of the volunteer's own sector starting near their
    # availability (plausible, not guaranteed eligible), never in their own country.
    order_p = np.lexsort((p_earliest, p_sector))
    pkey = (p_sector[order_p] << 32) + p_earliest[order_p]
    p_bucket_start = np.searchsorted(p_sector[order_p], np.arange(len(sectors_on)))
    p_bucket_end = np.searchsorted(p_sector[order_p], np.arange(len(sectors_on)), side="right")
    n_pref = _draw(rng, [0.15, 0.10, 0.15, 0.20, 0.15, 0.25], n_v)
    pos = _near_in_bucket(
        rng,
        pkey,
        p_bucket_start[v_primary],
        p_bucket_end[v_primary],
        (v_primary << 32) + v_from + 20,
        25,
        5,
    )
    pref = np.where(pos >= 0, order_p[np.maximum(pos, 0)], -1)
    host_codes = np.array([c.code for c in hosts_on])
    pref[(pref >= 0) & (host_codes[p_country[np.maximum(pref, 0)]] == nat_codes[nat][:, None])] = -1
    pref = _unique_rows(pref)

    # host rankings: volunteers of the placement's sector available near its start
    order_v = np.lexsort((v_from, v_primary))
    vkey = (v_primary[order_v] << 32) + v_from[order_v]
    v_bucket_start = np.searchsorted(v_primary[order_v], np.arange(len(sectors_on)))
    v_bucket_end = np.searchsorted(v_primary[order_v], np.arange(len(sectors_on)), side="right")
    n_rank = _draw(rng, [0.40, 0.10, 0.10, 0.15, 0.10, 0.15], n_p)
    vpos = _near_in_bucket(
        rng,
        vkey,
        v_bucket_start[p_sector],
        v_bucket_end[p_sector],
        (p_sector << 32) + p_earliest - 20,
        40,
        5,
    )
    rank = np.where(vpos >= 0, order_v[np.maximum(vpos, 0)], -1)
    rank[(rank >= 0) & (nat_codes[nat[np.maximum(rank, 0)]] == host_codes[p_country][:, None])] = -1
    rank = _unique_rows(rank)

    # ---------------------------------------------------------------- documents
    vids = _ids("V", n_v, 6)
    pids = _ids("P", n_p, 5)
    hids = _ids("H", n_hosts, 4)
    genders = ("female", "male", "other", "undisclosed")
    module_codes = [m[0] for m in TRAINING_MODULES]
    v_from_s, v_until_s, birth_s = _dates(v_from), _dates(v_until), _dates(birth)
    volunteers: list[dict[str, Any]] = []
    for i in range(n_v):
        native = NATIONALITIES[nat[i]].native
        langs: dict[str, int] = {}
        if english[i] > 0:
            langs["en"] = int(english[i])
        for sel, lang, level in regional:
            if sel[i]:
                langs[lang] = max(langs.get(lang, 0), int(level[i]))
        if learner[i]:
            lang = hosts_on[learner_lang[i]].local
            langs[lang] = max(langs.get(lang, 0), int(learner_level[i]))
        langs[native] = 7
        skills = {sectors_on[v_primary[i]].skill: int(v_primary_level[i])}
        if v_secondary[i] >= 0:
            code = SECTORS[v_secondary[i]].skill
            skills[code] = max(skills.get(code, 0), int(v_secondary_level[i]))
        if v_support[i] >= 0:
            skills[SUPPORT_SKILLS[v_support[i]]] = int(v_support_level[i])
        rec: dict[str, Any] = {
            "id": vids[i],
            "nationality": str(nat_codes[nat[i]]),
            "gender": genders[gender[i]],
            "languages": {k: CEFR[lv] for k, lv in sorted(langs.items())},
            "skills": skills,
            "training": [m for m, done in zip(module_codes, trained[i], strict=True) if done],
            "available_from": v_from_s[i],
            "available_until": v_until_s[i],
            "min_months": int(v_min[i]),
            "max_months": int(v_max[i]),
            "security_clearance": int(clearance[i]),
        }
        if has_birth[i]:
            rec["birth_date"] = birth_s[i]
        prefs = [pids[j] for j in pref[i, : n_pref[i]] if j >= 0]
        if prefs:
            rec["preferences"] = prefs
        if n_excl[i]:
            ex = {host_codes[excl[i, k]] for k in range(n_excl[i])}
            rec["excluded_countries"] = sorted(str(c) for c in ex)
        volunteers.append(rec)

    e_s, l_s, a_s = _dates(p_earliest), _dates(p_latest), _dates(assessed)
    cefr_req = ("", "B1", "B2")
    placements: list[dict[str, Any]] = []
    for j in range(n_p):
        hc = hosts_on[p_country[j]]
        sector = sectors_on[p_sector[j]]
        req_skills: dict[str, int] = {}
        if p_has_req_skill[j]:
            req_skills[sector.skill] = int(p_req_level[j])
        if p_second[j] >= 0:
            req_skills[SUPPORT_SKILLS[p_second[j]]] = int(p_second_level[j])
        des_skills = {SUPPORT_SKILLS[p_desired_support[j]]: 3}
        if p_desired_sector[j] >= 0:
            des_skills.setdefault(sectors_on[p_desired_sector[j]].skill, 2)
        req_langs: dict[str, str] = {}
        des_langs: dict[str, str] = {}
        if p_english_req[j]:
            req_langs["en"] = cefr_req[p_english_req[j]]
        else:
            des_langs["en"] = "B2"
        if p_local_req[j]:
            req_langs[hc.local] = CEFR[p_local_level[j]]
        elif p_local_desired[j]:
            des_langs[hc.local] = "B1"
        if hc.working is not None:
            if p_working_req[j]:
                req_langs[hc.working] = "B1"
            else:
                des_langs.setdefault(hc.working, "B1")
        for code in req_langs:
            des_langs.pop(code, None)
        training: list[str] = []
        if p_security[j] >= 2:
            training.append("security")
        if sector.skill in ("nursing", "public-health") and first_aid[j]:
            training.append("first-aid")
        if sector.skill == "disaster-response" and psychosocial[j]:
            training.append("psychosocial")
        if p_local_req[j] and lang_intensive[j]:
            training.append("language-intensive")
        sdg = [sector.sdg[0]]
        if n_sdg_extra[j, 0] < 0.5:
            sdg.append(sector.sdg[1])
        if n_sdg_extra[j, 1] < 0.3:
            sdg.append(PARTNERSHIP_TARGETS[partnership[j]])
        rec = {
            "id": pids[j],
            "host": hids[p_host[j]],
            "title": sector.titles[title_pick[j]],
            "country": hc.code,
            "slots": int(p_slots[j]),
            "required_skills": req_skills,
            "desired_skills": des_skills,
            "required_languages": req_langs,
            "desired_languages": des_langs,
            "start_earliest": e_s[j],
            "start_latest": l_s[j],
            "min_months": int(p_min[j]),
            "max_months": int(p_max[j]),
            "priority": int(p_priority[j]),
            "sdg_targets": list(dict.fromkeys(sdg)),
            "security_level": int(p_security[j]),
            "needs_assessment": {
                "beneficiaries": int(beneficiaries[j]),
                "counterpart": COUNTERPARTS[counterpart[j]],
                "assessed_on": a_s[j],
            },
        }
        if training:
            rec["required_training"] = training
        if age_kind[j] == 1:
            rec["age_max"] = 29
        elif age_kind[j] == 2:
            rec["age_min"] = 25
        ranking = [vids[i] for i in rank[j, : n_rank[j]] if i >= 0]
        if ranking:
            rec["ranking"] = ranking
        placements.append(rec)

    doc: dict[str, Any] = {"volunteers": volunteers, "placements": placements}
    if rules:
        _add_groups(volunteers, seed)
        policy = rules_policy(seed)
        if policy:
            doc["policy"] = policy
    return doc


def _add_groups(volunteers: list[dict[str, Any]], seed: int) -> None:
    """Pair about 2% of the volunteers into couples sharing a `group` id.

    Drawn from a stream of its own so that the rest of the document does not change.
    """
    n = len(volunteers)
    n_pairs = n // 100
    if n_pairs == 0:
        return
    rng = np.random.default_rng([seed, n, 1])
    members = rng.choice(n, size=2 * n_pairs, replace=False)
    for k in range(n_pairs):
        gid = f"G{k + 1:0{max(5, len(str(n_pairs)))}d}"
        volunteers[members[2 * k]]["group"] = gid
        volunteers[members[2 * k + 1]]["group"] = gid


def write_round(doc: dict[str, Any], path: str | Path) -> Path:
    """Write a round document as compact JSON (what a partner's export would be)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"), ensure_ascii=False)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate one round document into a JSON file."""
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.generate", description="Generate a realistic round document."
    )
    ap.add_argument("--volunteers", type=int, required=True)
    ap.add_argument("--placements", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rules", action="store_true", help="add groups and the policy rules")
    ap.add_argument("--out", type=Path, required=True, help="output JSON file")
    args = ap.parse_args(argv)
    doc = generate_round(args.volunteers, args.placements, seed=args.seed, rules=args.rules)
    write_round(doc, args.out)
    print(f"wrote {args.out}: {args.volunteers} volunteers, {args.placements} placements")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
