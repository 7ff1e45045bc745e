"""The eligible pairs of a generated round, as the benchmarks hand them to the baselines."""

from __future__ import annotations

from volmatch.matching import compile_round, find_pairs, score_pairs
from volmatch.models import parse_round


def candidate_pairs(doc: dict[str, object]) -> tuple[object, object, object]:
    """The compiled round of `doc`, its eligible pairs and their scores."""
    c = compile_round(parse_round(doc))
    pairs = find_pairs(c)
    return c, pairs, score_pairs(c, pairs)
