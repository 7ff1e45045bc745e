"""Stable mode: no blocking pair, volunteer/host optimality against brute force,
capacities, locks, input order, couples, and the stability audit."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import round_docs
from tests.test_stable_oracle import (
    Lists,
    all_matchings,
    blocking_groups,
    blocking_pairs,
    build_lists,
    together,
)
from volmatch.matching.prepared import Prepared, prepare
from volmatch.matching.pure import solve_pure
from volmatch.matching.stable import (
    LIST_CAP,
    rankings,
    solve_stable,
    stability_audit,
)
from volmatch.matching.to_result import build_result
from volmatch.matching.validate import validate_result
from volmatch.models import Round, parse_round

BASE_V: dict[str, Any] = {
    "nationality": "CN",
    "training": ["pre-deployment"],
    "available_from": "2027-01-01",
    "available_until": "2028-12-31",
}
BASE_P: dict[str, Any] = {
    "host": "H1",
    "country": "KE",
    "start_earliest": "2027-02-01",
    "start_latest": "2027-06-01",
}


def doc(vols: list[dict[str, Any]], pls: list[dict[str, Any]], **policy: Any) -> dict[str, Any]:
    return {
        "volunteers": [{**BASE_V, **v} for v in vols],
        "placements": [{**BASE_P, **p} for p in pls],
        "policy": {"mode": "stable", **policy},
    }


def with_side(d: dict[str, Any], side: str) -> dict[str, Any]:
    d = copy.deepcopy(d)
    d.setdefault("policy", {})["stable_side"] = side
    return d


def matching_of(prep: Prepared, chosen: np.ndarray) -> dict[str, str]:
    c = prep.compiled
    return {
        c.volunteer_ids[int(prep.pairs.v[i])]: c.placement_ids[int(prep.pairs.p[i])]
        for i in chosen.tolist()
    }


def solve(d: dict[str, Any]) -> tuple[Round, Prepared, dict[str, str], dict[str, Any]]:
    r = parse_round(d)
    prep = prepare(r)
    sol = solve_stable(prep)
    return r, prep, matching_of(prep, sol.chosen), sol.extra["stable"]  # type: ignore[return-value]


# -- the contract's rankings -------------------------------------------------------------


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
        got = [c.placement_ids[int(prep.pairs.p[i])]
               for i in rk.vorder[rk.vstart[vi]:rk.vstart[vi + 1]].tolist()]
        assert got == want
    assert L.vol["A"][0] == "P3" and L.vol["A"][1] == "P2"  # named first, then priority
    assert L.pl["P3"][0] == "B"


# -- properties on random rounds ---------------------------------------------------------


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
@given(round_docs(max_volunteers=5, max_placements=3, forbid=False),
       st.sampled_from(["volunteers", "hosts"]))
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


# -- locks -------------------------------------------------------------------------------


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


# -- groups (couples) --------------------------------------------------------------------


def test_a_couple_is_placed_together_when_a_placement_takes_both() -> None:
    d = doc(
        [{"id": "A", "group": "G1", "preferences": ["P1"]},
         {"id": "B", "group": "G1", "preferences": ["P2"]},
         {"id": "S", "preferences": ["P2"]}],
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
        [{"id": "A", "group": "G1"}, {"id": "B", "group": "G1"},
         {"id": "S"}],
        [{"id": "P1", "slots": 2, "ranking": ["S", "A", "B"]},
         {"id": "P2", "slots": 1}],
    )
    _r, _prep, match, info = solve(d)
    # P1 takes S first and then only one of the couple: the couple cannot fit anywhere
    assert "A" not in match and "B" not in match
    assert match["S"] in ("P1", "P2")
    assert info["stable"] is True


def test_a_displaced_couple_frees_its_slots_for_singles_who_passed_them() -> None:
    d = doc(
        [{"id": "A", "group": "G1", "preferences": ["P1"]},
         {"id": "B", "group": "G1", "preferences": ["P1"]},
         {"id": "S", "preferences": ["P1", "P2"]},
         {"id": "T", "preferences": ["P1", "P2"]}],
        [{"id": "P1", "slots": 2, "ranking": ["A", "S", "B", "T"]},
         {"id": "P2", "slots": 2}, {"id": "P3", "slots": 2, "ranking": ["A", "B"]}],
    )
    r, prep, match, info = solve(d)
    L = build_lists(r, prep)
    assert blocking_pairs(L, match) == [] and blocking_groups(L, match) == []
    assert info["stable"] is True
    assert match["A"] == match["B"]


def test_a_couple_may_split_over_one_country_with_group_together_country() -> None:
    d = doc(
        [{"id": "A", "group": "G1", "preferences": ["P1"]},
         {"id": "B", "group": "G1", "preferences": ["P2"]}],
        [{"id": "P1", "slots": 1}, {"id": "P2", "slots": 1},
         {"id": "P3", "slots": 2, "country": "NP"}],
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
        [{"id": "V0", "preferences": ["P1", "P0", "P2"], "group": "G1"},
         {"id": "V1", "preferences": ["P1"], "group": "G1"},
         {"id": "V2", "preferences": ["P0", "P2"]},
         {"id": "V3", "preferences": ["P2"]}],
        [{"id": "P0", "slots": 1, "ranking": ["V3", "V1", "V2", "V0"]},
         {"id": "P1", "slots": 1, "ranking": ["V2", "V1", "V3", "V0"]},
         {"id": "P2", "slots": 2, "ranking": ["V0", "V2", "V1", "V3"]}],
    )
    r, prep, match, info = solve(d)
    L = build_lists(r, prep)
    assert not any(
        not blocking_pairs(L, m) and not blocking_groups(L, m) for m in _with_couples(L)
    )
    assert info["stable"] is False
    assert info["blocking_group_ids"] == ["G1"]
    assert match.get("V0") == match.get("V1")
    result = build_result(prep, solve_stable(prep), "stable")
    assert validate_result(r, result) == []
    assert result.status == "feasible"


def _with_couples(L: Lists) -> list[dict[str, str]]:
    """All matchings where the groups are together (brute force, tiny rounds)."""
    import itertools

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
@given(round_docs(max_volunteers=8, max_placements=4, forbid=False),
       st.data(), st.sampled_from(["volunteers", "hosts"]),
       st.sampled_from(["placement", "country"]))
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


# -- the audit ---------------------------------------------------------------------------


def _costly_round() -> dict[str, Any]:
    # Both like P1 best; P1 prefers A, but B has no other option: the optimum sends A to
    # P2 and B to P1 (both placed), the stable matching keeps A at P1 and leaves B out.
    return doc(
        [{"id": "A", "preferences": ["P1", "P2"]}, {"id": "B", "preferences": ["P1"]}],
        [{"id": "P1", "ranking": ["A", "B"]},
         {"id": "P2", "country": "NP", "required_skills": {"ict": 1}}],
    ) | {}


def test_audit_counts_blocking_pairs_of_an_optimal_result_and_the_price() -> None:
    d = _costly_round()
    d["volunteers"][0]["skills"] = {"ict": 2}
    d["policy"]["mode"] = "optimal"
    r = parse_round(d)
    prep = prepare(r)
    opt = solve_pure(prep)
    audit = stability_audit(prep, opt)
    assert matching_of(prep, opt.chosen) == {"A": "P2", "B": "P1"}
    assert audit["blocking_pairs"] == 1
    assert audit["blocking_volunteer_ids"] == ["A"]
    assert audit["blocking_placement_ids"] == ["P1"]
    assert audit["stable"] is False
    stable = solve_stable(prep)
    assert audit["optimal_objective"] == opt.objective
    assert audit["stable_objective"] == stable.objective
    assert audit["price_of_stability"] == opt.objective - stable.objective > 0
    assert audit["optimal_placed"] == 2 and audit["stable_placed"] == 1


@settings(max_examples=30)
@given(round_docs(max_volunteers=10, max_placements=5))
def test_audit_agrees_with_the_independent_checker(d: dict[str, Any]) -> None:
    r = parse_round(d)
    prep = prepare(r)
    L = build_lists(r, prep)
    for sol in (solve_pure(prep), solve_stable(prep)):
        audit = stability_audit(prep, sol)
        bp = blocking_pairs(L, matching_of(prep, sol.chosen))
        assert audit["blocking_pairs"] == len(bp)
        assert audit["blocking_volunteers"] == len({v for v, _ in bp})
        assert audit["blocking_volunteer_ids"] == sorted({v for v, _ in bp})[:LIST_CAP]
        assert audit["price_of_stability"] >= 0
        assert sol.bound >= audit["optimal_objective"] >= sol.objective


def test_solve_round_in_stable_mode_with_audit_via_the_cli(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from volmatch.api.cli import app

    d = _costly_round()
    d["volunteers"][0]["skills"] = {"ict": 2}
    path = tmp_path / "round.json"
    path.write_text(json.dumps(d))
    out = tmp_path / "result.json"
    res = CliRunner().invoke(app, ["solve", str(path), "--audit", "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert result["mode"] == "stable" and result["status"] == "feasible"
    assert result["stable"]["stable"] is True
    assert result["stability"]["blocking_pairs"] == 0
    assert result["stability"]["price_of_stability"] > 0
    # the audit tightens the bound to the min-cost-flow optimum
    assert result["bound"] == result["stability"]["optimal_objective"]
    assert [a["volunteer"] for a in result["assignments"]] == ["A"]


@pytest.mark.parametrize("side", ["volunteers", "hosts"])
def test_a_round_with_no_pairs_gives_an_empty_stable_result(side: str) -> None:
    d = doc([{"id": "A", "training": []}], [{"id": "P1"}], stable_side=side)
    _r, _prep, match, info = solve(d)
    assert match == {} and info["stable"] is True


def test_stable_reasons_speak_of_ranks_not_of_the_total_score() -> None:
    from volmatch.matching.stable import stable_reasons
    from volmatch.models.reasons import text_of

    d = doc(
        [{"id": "A", "preferences": ["P1", "P2"], "skills": {"ict": 2}},
         {"id": "B", "preferences": ["P1"]}, {"id": "C", "training": []}],
        [{"id": "P1", "ranking": ["A", "B"]},
         {"id": "P2", "slots": 2, "required_skills": {"ict": 1}}],
    )
    _r, prep, match, _info = solve(d)
    assert match == {"A": "P1"}
    c = prep.compiled
    why_v, why_p = stable_reasons(prep, solve_stable(prep).chosen)
    # B: P1 is full with A, whom it ranks higher; C has no eligible placement (left to
    # the core's explanations)
    assert set(why_v) == {c.vindex["B"]}
    (part,) = why_v[c.vindex["B"]]
    reason = text_of(part)
    assert part["code"] == "stable_full"
    assert "P1 ranks this volunteer 2nd of 2" in reason
    assert "lowest-ranked holder is its 1st" in reason
    # P2 keeps both slots open: A holds P1, its first choice
    assert set(why_p) == {c.pindex["P2"]}
    assert "A holds P1 (their 1st choice; this is their 2nd)" in text_of(why_p[c.pindex["P2"]][0])


@settings(max_examples=30)
@given(round_docs(max_volunteers=10, max_placements=5, forbid=False), st.data(),
       st.sampled_from(["volunteers", "hosts"]))
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
