"""Stable mode (`matching.stable.solver`): no blocking pair, volunteer/host optimality
against brute force, capacities, locks and input order."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.matching.stable_oracle import (
    Lists,
    all_matchings,
    blocking_pairs,
    build_lists,
)
from tests.matching.stable_rounds import doc, matching_of, solve, with_side
from tests.strategies import round_docs
from volmatch.matching.prepared import prepare
from volmatch.matching.pure import solve_pure
from volmatch.matching.stable import solve_stable
from volmatch.matching.to_result import build_result
from volmatch.matching.validate import validate_result
from volmatch.models import parse_round


@settings(max_examples=30)
@given(round_docs(max_volunteers=12, max_placements=6), st.sampled_from(["volunteers", "hosts"]))
def test_stable_result_has_no_blocking_pair_and_is_valid(d: dict[str, Any], side: str) -> None:
    r = parse_round(with_side(d, side))
    prep = prepare(r)
    sol = solve_stable(prep)
    L = build_lists(r, prep)
    match = matching_of(prep, sol.chosen)
    assert blocking_pairs(L, match) == []
    assert sol.extra["stable"]["stable"] is True  # type: ignore[index]
    result = build_result(prep, sol, "stable")
    assert validate_result(r, result) == []
    load: dict[str, int] = {}
    for p in match.values():
        load[p] = load.get(p, 0) + 1
    assert all(n <= L.slots[p] + 0 for p, n in load.items())
    assert sol.objective == sum(a.score for a in result.assignments)
    assert sol.bound >= solve_pure(prep).objective


def _best_partner(L: Lists, stable: list[dict[str, str]], v: str, best: bool) -> str | None:
    """v's best (or worst) partner over all stable matchings (None = always unmatched)."""
    partners = {m.get(v) for m in stable}
    # rural hospitals: a volunteer is matched in every stable matching or in none
    assert len(partners) == 1 or None not in partners
    if partners == {None}:
        return None
    ranked = sorted((p for p in partners if p is not None), key=L.vol[v].index)
    return ranked[0] if best else ranked[-1]


@settings(max_examples=40)
@given(
    round_docs(max_volunteers=5, max_placements=3, forbid=False),
    st.sampled_from(["volunteers", "hosts"]),
)
def test_each_volunteer_gets_its_best_stable_partner_by_brute_force(
    d: dict[str, Any], side: str
) -> None:
    r = parse_round(with_side(d, side))
    prep = prepare(r)
    L = build_lists(r, prep)
    stable = [m for m in all_matchings(L) if not blocking_pairs(L, m)]
    assert stable  # Gale-Shapley: one always exists without groups
    got = matching_of(prep, solve_stable(prep).chosen)
    assert got in stable
    # volunteer-proposing: best stable partner; host-proposing: worst (lattice)
    for v in L.vol:
        assert got.get(v) == _best_partner(L, stable, v, best=(side == "volunteers"))


@settings(max_examples=25)
@given(round_docs(max_volunteers=10, max_placements=5), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(d: dict[str, Any], rnd: random.Random) -> None:
    shuffled = copy.deepcopy(d)
    rnd.shuffle(shuffled["volunteers"])
    rnd.shuffle(shuffled["placements"])
    for side in ("volunteers", "hosts"):
        a = solve(with_side(d, side))[2]
        b = solve(with_side(shuffled, side))[2]
        assert a == b


def test_locked_pairs_are_kept_and_take_a_slot() -> None:
    d = doc(
        [{"id": "A"}, {"id": "B"}, {"id": "C"}],
        [{"id": "P1", "slots": 2, "ranking": ["B", "C"]}, {"id": "P2"}],
        locked=[{"volunteer": "A", "placement": "P1"}],
    )
    r, prep, match, info = solve(d)
    assert match["A"] == "P1"
    # one slot left at P1: the host's first choice B takes it, C goes to P2
    assert match["B"] == "P1" and match["C"] == "P2"
    assert info["stable"] is True
    assert validate_result(r, build_result(prep, solve_stable(prep), "stable")) == []


@pytest.mark.parametrize("side", ["volunteers", "hosts"])
def test_a_round_with_no_pairs_gives_an_empty_stable_result(side: str) -> None:
    d = doc([{"id": "A", "training": []}], [{"id": "P1"}], stable_side=side)
    _r, _prep, match, info = solve(d)
    assert match == {} and info["stable"] is True


@settings(max_examples=30)
@given(
    round_docs(max_volunteers=10, max_placements=5, forbid=False),
    st.data(),
    st.sampled_from(["volunteers", "hosts"]),
)
def test_a_lock_is_honoured_and_the_rest_is_stable(
    d: dict[str, Any], data: st.DataObject, side: str
) -> None:
    prep0 = prepare(parse_round(d))
    if len(prep0.pairs) == 0:
        return
    k = data.draw(st.integers(0, len(prep0.pairs) - 1))
    c0 = prep0.compiled
    v, p = c0.volunteer_ids[int(prep0.pairs.v[k])], c0.placement_ids[int(prep0.pairs.p[k])]
    d["policy"]["locked"] = [{"volunteer": v, "placement": p}]
    r = parse_round(with_side(d, side))
    prep = prepare(r)
    sol = solve_stable(prep)
    match = matching_of(prep, sol.chosen)
    assert match[v] == p
    L = build_lists(r, prep)
    assert blocking_pairs(L, match) == []
    assert validate_result(r, build_result(prep, sol, "stable")) == []
