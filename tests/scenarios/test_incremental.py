"""Incremental preparation of a variant: it equals a fresh preparation, and a
weights-only variant is only re-scored."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.scenarios.helpers import make_variant
from volmatch.matching import prepare
from volmatch.scenarios.changes import apply_variant
from volmatch.scenarios.demo import demo_round_path
from volmatch.scenarios.incremental import prepare_variant


def _same_prepared(a: Any, b: Any) -> None:
    for f in ("v", "p", "start", "months"):
        assert np.array_equal(getattr(a.pairs, f), getattr(b.pairs, f)), f
    assert np.array_equal(a.scores.total, b.scores.total)
    for k, comp in a.scores.components.items():
        assert np.array_equal(comp, b.scores.components[k]), k


_DEMO_CHANGES: list[dict[str, Any]] = [
    {"policy": {"weights.priority": 400}},
    {"policy": {"international_only": False}},
    {"update": "placements", "where": {"country": "NP"}, "set": {"required_languages.en": "A2"}},
    {"remove": "placements", "where": {"country": "MM"}},
    {"remove": "volunteers", "where": {"nationality": "KH"}},
    {"generate": "volunteers", "count": 20, "choose": {"languages.fr": ["B1", "C1"]}},
    {"update": "volunteers", "where": {"skills.teaching": ">= 3"}, "set": {"max_months": 18}},
    {"update": "volunteers", "sample": 30, "set": {"security_clearance": 3}},
]


@pytest.fixture(scope="module")
def demo_prepared() -> Any:
    from volmatch.models import load_round

    return prepare(load_round(demo_round_path()))


@pytest.mark.parametrize("change", _DEMO_CHANGES, ids=lambda c: next(iter(c)))
def test_incremental_preparation_equals_a_fresh_one(
    demo_prepared: Any, change: dict[str, Any]
) -> None:
    r = apply_variant(demo_prepared.compiled.round, make_variant(change), 0)
    reused, _ = prepare_variant(demo_prepared, r)
    _same_prepared(reused, prepare(r))


def test_weights_only_variants_are_only_rescored(demo_prepared: Any) -> None:
    r = apply_variant(demo_prepared.compiled.round, make_variant(_DEMO_CHANGES[0]), 0)
    reused, how = prepare_variant(demo_prepared, r)
    assert how == "rescored"
    assert reused.pairs is demo_prepared.pairs


@given(
    picks=st.lists(st.integers(0, 299), min_size=1, max_size=25, unique=True),
    level=st.sampled_from(["A1", "B1", "B2", "C2"]),
    clearance=st.integers(0, 3),
    placements=st.lists(st.integers(0, 95), max_size=6, unique=True),
    slots=st.integers(1, 3),
)
def test_incremental_equals_fresh_for_random_edits(
    demo_prepared: Any,
    picks: list[int],
    level: str,
    clearance: int,
    placements: list[int],
    slots: int,
) -> None:
    base = demo_prepared.compiled.round
    vids = [base.volunteers[i].id for i in picks]
    changes: list[dict[str, Any]] = [
        {
            "update": "volunteers",
            "ids": vids,
            "set": {"languages.en": level, "security_clearance": clearance},
        }
    ]
    if placements:
        changes.append(
            {
                "update": "placements",
                "ids": [base.placements[i].id for i in placements],
                "set": {"slots": slots, "required_languages.en": level},
            }
        )
    r = apply_variant(base, make_variant(*changes), 0)
    reused, how = prepare_variant(demo_prepared, r)
    assert how == "incremental"
    _same_prepared(reused, prepare(r))


def test_a_variant_over_the_pair_limit_is_refused(demo_prepared: Any) -> None:
    """The base within the pair limit, a variant adding volunteers over it: refused
    before its pairs are joined (incrementally) or made (a fresh search)."""
    from volmatch.matching.pair_limit import set_pair_limit
    from volmatch.models import TooManyPairs

    change = {"generate": "volunteers", "count": 20, "choose": {"languages.fr": ["B1", "C1"]}}
    r = apply_variant(demo_prepared.compiled.round, make_variant(change), 0)
    _, how = prepare_variant(demo_prepared, r)
    n = len(prepare(r).pairs)
    assert how == "incremental" and n > len(demo_prepared.pairs)
    old = set_pair_limit(len(demo_prepared.pairs))
    try:
        with pytest.raises(TooManyPairs):
            prepare_variant(demo_prepared, r)
        set_pair_limit(n)
        assert len(prepare_variant(demo_prepared, r)[0].pairs) == n
    finally:
        set_pair_limit(old)
