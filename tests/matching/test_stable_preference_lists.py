"""Both sides' ranked lists (`matching.stable.preference_lists`) as the contract orders
them, and the fast path the reasons use giving the same lists."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import volmatch.matching.stable.preference_lists as preference_lists
from tests.matching.stable_oracle import build_lists
from tests.matching.stable_rounds import doc
from tests.strategies import round_docs
from volmatch.matching.prepared import prepare
from volmatch.matching.stable import rankings
from volmatch.matching.stable.preference_lists import fast_rankings
from volmatch.models import parse_round


def test_rankings_put_explicit_lists_first_then_score_then_id() -> None:
    d = doc(
        [{"id": "A", "preferences": ["P3"]}, {"id": "B"}],
        [{"id": "P1"}, {"id": "P2", "priority": 5}, {"id": "P3", "ranking": ["B"]}],
    )
    r = parse_round(d)
    prep = prepare(r)
    rk = rankings(prep)
    L = build_lists(r, prep)
    c = prep.compiled
    for v, want in L.vol.items():
        vi = c.vindex[v]
        got = [
            c.placement_ids[int(prep.pairs.p[i])]
            for i in rk.vorder[rk.vstart[vi] : rk.vstart[vi + 1]].tolist()
        ]
        assert got == want
    assert L.vol["A"][0] == "P3" and L.vol["A"][1] == "P2"  # named first, then priority
    assert L.pl["P3"][0] == "B"


@settings(max_examples=40)
@given(round_docs(max_volunteers=12, max_placements=7), st.booleans())
def test_fast_rankings_equal_the_rankings(d: dict[str, Any], packed: bool) -> None:
    prep = prepare(parse_round(d))
    with pytest.MonkeyPatch.context() as m:
        if not packed:  # the general path, where the packed keys would not fit
            m.setattr(preference_lists, "order_by_index", lambda *_: None)
        fast = fast_rankings(prep)
    slow = rankings(prep)
    for name in ("vorder", "vstart", "vrank", "porder", "pstart", "prank"):
        assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
