"""Groups in stable mode (`matching.stable.couples`): placed together or left out
together, displaced couples free their slots, and a round without a stable matching
is reported with the couple that blocks it."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.matching.stable_oracle import (
    Lists,
    blocking_groups,
    blocking_pairs,
    build_lists,
    together,
)
from tests.matching.stable_rounds import doc, matching_of, solve, with_side
from tests.strategies import round_docs
from volmatch.matching.prepared import prepare
from volmatch.matching.stable import solve_stable
from volmatch.matching.to_result import build_result
from volmatch.matching.validate import validate_result
from volmatch.models import parse_round


def test_a_couple_is_placed_together_when_a_placement_takes_both() -> None:
    d = doc(
        [
            {"id": "A", "group": "G1", "preferences": ["P1"]},
            {"id": "B", "group": "G1", "preferences": ["P2"]},
            {"id": "S", "preferences": ["P2"]},
        ],
        [{"id": "P1", "slots": 1}, {"id": "P2", "slots": 3, "ranking": ["S"]}],
    )
    r, prep, match, info = solve(d)
    # P1 has one slot: the couple can only be together at P2, beside S
    assert match == {"A": "P2", "B": "P2", "S": "P2"}
    assert info["stable"] is True and info["groups"] == 1
    L = build_lists(r, prep)
    assert blocking_pairs(L, match) == [] and blocking_groups(L, match) == []


def test_a_couple_is_left_out_together_when_no_placement_takes_both() -> None:
    d = doc(
        [{"id": "A", "group": "G1"}, {"id": "B", "group": "G1"}, {"id": "S"}],
        [{"id": "P1", "slots": 2, "ranking": ["S", "A", "B"]}, {"id": "P2", "slots": 1}],
    )
    _r, _prep, match, info = solve(d)
    # P1 takes S first and then only one of the couple: the couple cannot fit anywhere
    assert "A" not in match and "B" not in match
    assert match["S"] in ("P1", "P2")
    assert info["stable"] is True


def test_a_displaced_couple_frees_its_slots_for_singles_who_passed_them() -> None:
    d = doc(
        [
            {"id": "A", "group": "G1", "preferences": ["P1"]},
            {"id": "B", "group": "G1", "preferences": ["P1"]},
            {"id": "S", "preferences": ["P1", "P2"]},
            {"id": "T", "preferences": ["P1", "P2"]},
        ],
        [
            {"id": "P1", "slots": 2, "ranking": ["A", "S", "B", "T"]},
            {"id": "P2", "slots": 2},
            {"id": "P3", "slots": 2, "ranking": ["A", "B"]},
        ],
    )
    r, prep, match, info = solve(d)
    L = build_lists(r, prep)
    assert blocking_pairs(L, match) == [] and blocking_groups(L, match) == []
    assert info["stable"] is True
    assert match["A"] == match["B"]


def test_a_couple_may_split_over_one_country_with_group_together_country() -> None:
    d = doc(
        [
            {"id": "A", "group": "G1", "preferences": ["P1"]},
            {"id": "B", "group": "G1", "preferences": ["P2"]},
        ],
        [
            {"id": "P1", "slots": 1},
            {"id": "P2", "slots": 1},
            {"id": "P3", "slots": 2, "country": "NP"},
        ],
        group_together="country",
    )
    _r, _prep, match, info = solve(d)
    # both first choices are in Kenya: the couple splits over them, not together at P3
    assert match == {"A": "P1", "B": "P2"}
    assert info["stable"] is True
    d["policy"]["group_together"] = "placement"
    _r, _prep, match, _info = solve(d)
    assert match == {"A": "P3", "B": "P3"}


def test_no_stable_matching_is_reported_with_the_blocking_couple() -> None:
    # Found by a random search and confirmed by brute force: no matching with the
    # couple together is stable. The couple G1 out: it blocks with P2 (P2 ranks V0 and
    # V1 above its holder V3); the couple at P2: V3 goes back to P0, which ranks V3
    # first, and the chain of displacements comes round again.
    d = doc(
        [
            {"id": "V0", "preferences": ["P1", "P0", "P2"], "group": "G1"},
            {"id": "V1", "preferences": ["P1"], "group": "G1"},
            {"id": "V2", "preferences": ["P0", "P2"]},
            {"id": "V3", "preferences": ["P2"]},
        ],
        [
            {"id": "P0", "slots": 1, "ranking": ["V3", "V1", "V2", "V0"]},
            {"id": "P1", "slots": 1, "ranking": ["V2", "V1", "V3", "V0"]},
            {"id": "P2", "slots": 2, "ranking": ["V0", "V2", "V1", "V3"]},
        ],
    )
    r, prep, match, info = solve(d)
    L = build_lists(r, prep)
    assert not any(not blocking_pairs(L, m) and not blocking_groups(L, m) for m in _with_couples(L))
    assert info["stable"] is False
    assert info["blocking_group_ids"] == ["G1"]
    assert match.get("V0") == match.get("V1")
    result = build_result(prep, solve_stable(prep), "stable")
    assert validate_result(r, result) == []
    assert result.status == "feasible"


def _with_couples(L: Lists) -> list[dict[str, str]]:
    """All matchings where the groups are together (brute force, tiny rounds)."""
    vols = list(L.vol)
    out = []
    for choice in itertools.product(*[[None, *L.vol[v]] for v in vols]):
        m = {v: p for v, p in zip(vols, choice, strict=True) if p is not None}
        load: dict[str, int] = {}
        for p in m.values():
            load[p] = load.get(p, 0) + 1
        if all(n <= L.slots[p] for p, n in load.items()) and all(
            together(L, m, ms) for ms in L.groups.values()
        ):
            out.append(m)
    return out


@settings(max_examples=40)
@given(
    round_docs(max_volunteers=8, max_placements=4, forbid=False),
    st.data(),
    st.sampled_from(["volunteers", "hosts"]),
    st.sampled_from(["placement", "country"]),
)
def test_groups_are_together_and_instability_is_reported_truthfully(
    d: dict[str, Any], data: st.DataObject, side: str, mode: str
) -> None:
    vols = d["volunteers"]
    if len(vols) >= 2:
        k = data.draw(st.integers(2, min(3, len(vols))))
        for v in data.draw(st.permutations(range(len(vols))))[:k]:
            vols[v]["group"] = "G1"
    d["policy"]["group_together"] = mode
    r = parse_round(with_side(d, side))
    prep = prepare(r)
    sol = solve_stable(prep)
    match = matching_of(prep, sol.chosen)
    L = build_lists(r, prep)
    for members in L.groups.values():
        assert together(L, match, members)
    info = sol.extra["stable"]
    bp, bg = blocking_pairs(L, match), blocking_groups(L, match)
    assert info["stable"] is (not bp and not bg)  # type: ignore[index]
    assert validate_result(r, build_result(prep, sol, "stable")) == []
