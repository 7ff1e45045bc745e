"""The engine's side of the lifecycle, read against a stored document: the prepared
round, pair lookups (score, start, months of a volunteer at a placement), reserve lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from volmatch.matching import prepare
from volmatch.matching.dates import from_days
from volmatch.matching.prepared import Prepared
from volmatch.matching.previous import pair_index
from volmatch.models import parse_round


@dataclass(frozen=True)
class PairTerms:
    """What an offer of this pair says: its score, start and length."""

    score: int
    start: dt.date
    months: int


def prepared(document: dict[str, Any]) -> Prepared:
    """The round of a stored document, compiled, its eligible pairs scored."""
    return prepare(parse_round(document))


def pair_indices(prep: Prepared, pairs: list[tuple[str, str]]) -> np.ndarray:
    """Index into `prep.pairs` of each (volunteer, placement); -1 where not eligible."""
    c = prep.compiled
    v = np.array([c.vindex[a] for a, _ in pairs], dtype=np.int64)
    p = np.array([c.pindex[b] for _, b in pairs], dtype=np.int64)
    return pair_index(c, prep.pairs, v, p)


def pair_terms(prep: Prepared, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], PairTerms]:
    """Score, start and months of each eligible (volunteer, placement)."""
    at = pair_indices(prep, pairs)
    out: dict[tuple[str, str], PairTerms] = {}
    for pair, i in zip(pairs, at.tolist(), strict=True):
        if i >= 0:
            out[pair] = PairTerms(
                int(prep.scores.total[i]),
                from_days(int(prep.pairs.start[i])),
                int(prep.pairs.months[i]),
            )
    return out


def reserves(prep: Prepared, assignments: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every placement's ranked reserve list for the published assignment (the engine's
    `reserve_lists`), as JSON."""
    from volmatch.matching.lifecycle import reserve_lists

    at = pair_indices(prep, assignments)
    chosen = np.sort(at[at >= 0]).astype(np.intp)
    return [r.as_dict() for r in reserve_lists(prep, chosen)]
