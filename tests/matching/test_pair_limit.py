"""The pair limit (`matching.pair_limit`): a round with more candidate pairs than the
limit is refused before any per-pair array is built, whether its placements are searched
in one range or split between threads, and with the count it has; under the limit the
pairs are exactly those found without it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tests.helpers import doc, plc, vol
from volmatch.matching import CompiledRound, compile_round, dense_pairs, find_pairs, prepare
from volmatch.matching.eligibility import check_pair_limit
from volmatch.matching.pair_limit import PAIR_LIMIT_SETTING, pair_limit, set_pair_limit
from volmatch.matching.parallel import find_pair_parts, join_pairs
from volmatch.models import InvalidRound, TooManyPairs, parse_round


@pytest.fixture(name="limit")
def limit_fixture() -> Iterator[None]:
    """Put the process's limit back after the test."""
    old = pair_limit()
    yield
    set_pair_limit(old)


def _round(nv: int = 40, npl: int = 7) -> CompiledRound:
    """Every volunteer qualifies for every placement but the French-speaking ones."""
    vols = [vol(f"V{k}") for k in range(nv)]
    pls = [plc(f"P{k}", slots=3) for k in range(npl - 2)] + [
        plc(f"F{k}", required_languages={"fr": "B2"}) for k in range(2)
    ]
    return compile_round(parse_round(doc(vols, pls)))


def test_under_the_limit_the_pairs_are_all_found(limit: None) -> None:
    c = _round()
    assert check_pair_limit(c) == 40 * 5
    set_pair_limit(40 * 5)
    pairs = find_pairs(c)
    dense = dense_pairs(c)
    assert len(pairs) == 200
    assert np.array_equal(pairs.v, dense.v) and np.array_equal(pairs.p, dense.p)


def test_over_the_limit_the_round_is_refused_with_its_count(limit: None) -> None:
    set_pair_limit(199)
    c = _round()
    with pytest.raises(TooManyPairs) as info:
        find_pairs(c)
    assert (info.value.pairs, info.value.limit) == (200, 199)
    assert isinstance(info.value, InvalidRound)  # an input error: CLI exit 2, API 422
    message = str(info.value.errors[0])
    assert "200 candidate" in message and "199" in message and PAIR_LIMIT_SETTING in message
    set_pair_limit(1)
    with pytest.raises(TooManyPairs):
        prepare(parse_round(doc([vol("V1"), vol("V2")], [plc("P1")])))
    set_pair_limit(199)
    with pytest.raises(TooManyPairs):
        check_pair_limit(c)
    assert check_pair_limit(c, limit=200) == 200


def test_the_count_spans_every_range_of_a_split_round(
    limit: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Split between threads, each range under the limit and the round over it is
    refused with the whole count; under it the joined pieces are the one-pass pairs."""
    from volmatch.matching import parallel

    monkeypatch.setattr(parallel, "PARALLEL_FROM", 1)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1, 2}, raising=False)
    c = _round(60, 9)
    assert parallel.workers(c) == 3
    set_pair_limit(60 * 7 - 1)
    with pytest.raises(TooManyPairs) as info:
        find_pair_parts(c)
    assert info.value.pairs == 60 * 7
    set_pair_limit(60 * 7)
    whole = join_pairs(find_pair_parts(c))
    one = find_pairs(c)
    assert np.array_equal(whole.v, one.v) and np.array_equal(whole.p, one.p)


def test_the_limit_is_positive(limit: None) -> None:
    with pytest.raises(ValueError, match="positive"):
        set_pair_limit(0)
