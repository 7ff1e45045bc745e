"""Backfill (`matching.lifecycle.backfill`): frozen people never move, no hard rule is
broken, and for the pure policy the proposal's total is the independent optimum with the
frozen set (scipy's assignment solver on the expanded slots)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from tests.helpers import doc, plc, vol
from tests.matching.stable_oracle import blocking_pairs, build_lists
from tests.strategies import round_docs
from volmatch.matching import prepare, solve_round
from volmatch.matching.claims import BackfillFacts, check_claims
from volmatch.matching.lifecycle import backfill_round, propose_backfill
from volmatch.matching.lifecycle.backfill import _cold, _warm
from volmatch.matching.lifecycle.document import backfill_document
from volmatch.matching.lifecycle.standing import pending_pairs, read_standing
from volmatch.matching.validate import pair_violations, rule_violations
from volmatch.models import InvalidBackfill, parse_round
from volmatch.models.lifecycle import BackfillProposal
from volmatch.models.reasons import text_of


def _lsa(c: Any, pairs: Any, scores: Any, frozen_pairs: Any, out: set[int]) -> int:
    cap = c.capacity.copy()
    fixed = 0
    frozen_v = set()
    for v, p in frozen_pairs:
        cap[p] -= 1
        frozen_v.add(v)
        fixed += next(
            int(s)
            for a, b, s in zip(pairs.v, pairs.p, scores.total, strict=True)
            if a == v and b == p
        )
    slots = [pi for pi in range(c.n_placements) for _ in range(int(cap[pi]))]
    free = [v for v in range(c.n_volunteers) if v not in frozen_v and v not in out]
    if not slots or not free:
        return fixed
    score = {
        (int(v), int(p)): int(s) for v, p, s in zip(pairs.v, pairs.p, scores.total, strict=True)
    }
    w = np.array([[score.get((v, p), 0) for p in slots] for v in free], dtype=np.int64)
    rows, cols = linear_sum_assignment(w, maximize=True)
    return fixed + int(w[rows, cols].sum())


def _check(r: Any, prop: BackfillProposal, offers: dict[str, str]) -> None:
    """No hard rule broken, capacity kept, frozen where they were, declined out."""
    vols = {v.id: v for v in r.volunteers}
    pls = {p.id: p for p in r.placements}
    load: dict[str, int] = {}
    seen = set()
    for v, p in prop.assignment:
        assert v not in seen
        seen.add(v)
        assert pair_violations(r, vols[v], pls[p]) == [], (v, p)
        load[p] = load.get(p, 0) + 1
    assert all(load[p] <= pls[p].slots for p in load)
    at = dict(prop.assignment)
    for v in prop.frozen:
        assert at[v] == offers[v]
    assert not set(prop.declined) & set(at)


@st.composite
def backfills(draw: st.DrawFn) -> tuple[dict[str, Any], list[str], list[str] | None]:
    d = draw(round_docs(max_volunteers=9, max_placements=5))
    return d, draw(st.randoms(use_true_random=False)), draw(st.booleans())


@settings(max_examples=30)
@given(backfills())
def test_backfill_keeps_frozen_breaks_no_rule_and_is_optimal(
    case: tuple[dict[str, Any], Any, bool],
) -> None:
    d, rnd, everyone_accepts = case
    r = parse_round(d)
    published = solve_round(r)
    offers = {a.volunteer: a.placement for a in published.assignments}
    ids = sorted(offers)
    declined = [v for v in ids if rnd.random() < 0.4]
    rest = [v for v in ids if v not in declined]
    accepted = None if everyone_accepts else [v for v in rest if rnd.random() < 0.5]
    prep = prepare(r)
    prop = propose_backfill(prep, offers, declined=declined, accepted=accepted)
    _check(r, prop, offers)
    frozen = set(rest if accepted is None else accepted)
    assert set(prop.frozen) == frozen
    c = prep.compiled
    want = _lsa(
        c,
        prep.pairs,
        prep.scores,
        [(c.vindex[v], c.pindex[offers[v]]) for v in frozen],
        {c.vindex[v] for v in declined},
    )
    assert prop.total == want == prop.objective == prop.bound
    assert prop.status == "optimal"
    # every reason of the proposal's document is true (the independent checker)
    _, res = backfill_document(prep, offers, declined=declined, accepted=accepted)
    br = backfill_round(prep, offers, declined=declined, accepted=accepted)
    down = {v: offers[v] for v in declined}
    assert check_claims(br, res, backfill=BackfillFacts(published=r, declined=down)) == []
    # a new offer only where something changes: pending offers kept unless the total rises
    moved = {m.volunteer for m in prop.moves}
    at = dict(prop.assignment)
    for v in rest:
        if v not in frozen and v not in moved:
            assert at[v] == offers[v]


@settings(max_examples=15)
@given(backfills())
def test_backfill_with_max_moves_keeps_the_limit(case: tuple[dict[str, Any], Any, bool]) -> None:
    d, rnd, _ = case
    d.setdefault("policy", {}).update(max_moves=0, time_limit_s=5, rule_costs=False)
    r = parse_round(d)
    published = solve_round(r)
    offers = {a.volunteer: a.placement for a in published.assignments}
    ids = sorted(offers)
    declined = [v for v in ids if rnd.random() < 0.4]
    accepted = [v for v in ids if v not in declined and rnd.random() < 0.5]
    prep = prepare(r)
    prop = propose_backfill(prep, offers, declined=declined, accepted=accepted)
    _check(r, prop, offers)
    assert prop.moves == ()
    br = backfill_round(prep, offers, declined=declined, accepted=accepted, withdrawn=())
    assert {(a.volunteer, a.placement) for a in br.previous} <= set(prop.assignment)


@settings(max_examples=30)
@given(backfills(), st.sampled_from([0, 50, 400, 2000]))
def test_the_warm_start_finds_the_full_flows_optimum(
    case: tuple[dict[str, Any], Any, bool], move_cost: int
) -> None:
    d, rnd, _ = case
    r = parse_round(d)
    prep = prepare(r)
    offers = {a.volunteer: a.placement for a in solve_round(r).assignments}
    ids = sorted(offers)
    declined = [v for v in ids if rnd.random() < 0.4]
    accepted = [v for v in ids if v not in declined and rnd.random() < 0.5]
    st_ = read_standing(prep, offers, declined, accepted, [])
    keep = pending_pairs(prep, st_)
    keep = keep[keep >= 0]
    scale = len(st_.pending_v) + 1
    weight = prep.scores.total * scale
    weight[keep] += move_cost * scale + 1
    warm = _warm(prep, st_, weight, keep)
    assert warm is not None  # the published optimum is optimal for the backfill
    assert len(set(prep.pairs.v[warm].tolist())) == len(warm)
    fill = np.bincount(prep.pairs.p[warm], minlength=prep.compiled.n_placements)
    assert (fill <= prep.compiled.capacity).all()
    assert set(st_.frozen_pairs.tolist()) <= set(warm.tolist())
    assert int(weight[warm].sum()) == int(weight[_cold(prep, st_, weight)].sum())


def test_offers_that_are_not_the_optimum_go_to_the_full_flow() -> None:
    r = _chain_round()
    prep = prepare(r)
    offers = {"V3": "P2"}  # V1 left unplaced though P1 is free: not optimal
    st_ = read_standing(prep, offers, [], [], [])
    weight = prep.scores.total * 2
    assert _warm(prep, st_, weight, pending_pairs(prep, st_)) is None
    prop = propose_backfill(prep, offers, accepted=[])
    assert prop.total == prop.bound and len(prop.assignment) == 2


# -- hand-made cases --------------------------------------------------------------------


def _chain_round() -> Any:
    """P1 wants teaching 4 (only V1 and V2 have it); P2 takes anyone. V3 is unplaced."""
    vols = [
        vol("V1", skills={"teaching": 5}),
        vol("V2", skills={"teaching": 4}),
        vol("V3", skills={"teaching": 1}),
    ]
    pls = [
        plc("P1", required_skills={"teaching": 4}, desired_skills={"teaching": 5}, priority=5),
        plc("P2", desired_skills={"teaching": 4}, priority=1),
    ]
    return parse_round(doc(vols, pls))


def test_a_decline_makes_a_vacancy_chain_through_a_pending_offer() -> None:
    r = _chain_round()
    offers = {a.volunteer: a.placement for a in solve_round(r).assignments}
    assert offers == {"V1": "P1", "V2": "P2"}
    prop = propose_backfill(prepare(r), offers, declined=["V1"], accepted=[])
    assert dict(prop.assignment) == {"V2": "P1", "V3": "P2"}
    assert [(m.volunteer, m.frm, m.to) for m in prop.moves] == [("V2", "P2", "P1")]
    assert (
        "vacancy chain" in prop.moves[0].reason
        and "V3 takes the slot at P2" in prop.moves[0].reason
    )
    assert {(o.volunteer, o.placement) for o in prop.new_offers} == {("V2", "P1"), ("V3", "P2")}


def test_an_accepted_offer_is_never_moved_to_fill_a_better_slot() -> None:
    r = _chain_round()
    offers = {"V1": "P1", "V2": "P2"}
    prop = propose_backfill(prepare(r), offers, declined=["V1"])  # V2 counts as accepted
    assert dict(prop.assignment) == {"V2": "P2"}
    assert prop.moves == () and prop.new_offers == ()
    assert prop.total_change == 0


def test_move_cost_keeps_a_pending_offer_where_the_chain_gains_less() -> None:
    r = _chain_round()
    prep = prepare(r)
    offers = {"V1": "P1", "V2": "P2"}
    free = propose_backfill(prep, offers, declined=["V1"], accepted=[])
    gain = free.total - propose_backfill(prep, offers, declined=["V1"]).total
    assert gain > 0
    d = doc(
        [
            vol("V1", skills={"teaching": 5}),
            vol("V2", skills={"teaching": 4}),
            vol("V3", skills={"teaching": 1}),
        ],
        [
            plc("P1", required_skills={"teaching": 4}, desired_skills={"teaching": 5}, priority=5),
            plc("P2", desired_skills={"teaching": 4}, priority=1),
        ],
        move_cost=gain + 1,
    )
    costly = propose_backfill(prepare(parse_round(d)), offers, declined=["V1"], accepted=[])
    assert costly.moves == ()
    assert dict(costly.assignment) == {"V2": "P2"}


def test_a_withdrawn_need_frees_its_accepted_volunteer() -> None:
    r = _chain_round()
    prop = propose_backfill(prepare(r), {"V1": "P1", "V2": "P2"}, withdrawn=["P1"])
    assert dict(prop.assignment) == {"V1": "P2"} or dict(prop.assignment) == {"V2": "P2"}
    assert "P1" not in dict(prop.assignment).values()
    assert prop.withdrawn == ("P1",)


def test_bad_ids_name_record_and_field() -> None:
    r = _chain_round()
    with pytest.raises(InvalidBackfill) as e:
        propose_backfill(
            prepare(r),
            {"V1": "P1", "V2": "P2"},
            declined=["V9", "V3"],
            accepted=["V1", "V2"],
            withdrawn=["P7"],
        )
    text = str(e.value)
    assert "declined V9: volunteer: unknown volunteer 'V9'" in text
    assert "declined V3: volunteer: V3 holds no offer to decline" in text
    assert "withdrawn P7: placement: unknown placement 'P7'" in text
    assert len(e.value.errors) == 3
    with pytest.raises(InvalidBackfill, match="both accepted and declined"):
        propose_backfill(prepare(r), {"V1": "P1"}, declined=["V1"], accepted=["V1"])


def test_the_backfill_round_solves_to_the_same_total() -> None:
    r = _chain_round()
    prep = prepare(r)
    offers = {"V1": "P1", "V2": "P2"}
    prop = propose_backfill(prep, offers, declined=["V1"], accepted=[])
    br = backfill_round(prep, offers, declined=["V1"], accepted=[], withdrawn=())
    res = solve_round(br)
    assert res.objective == prop.total
    assert rule_violations(br, res) == []


# -- stable mode ------------------------------------------------------------------------


@settings(max_examples=20)
@given(backfills(), st.sampled_from([None, 0, 1]))
def test_stable_backfill_keeps_frozen_breaks_no_rule_and_is_stable(
    case: tuple[dict[str, Any], Any, bool], max_moves: int | None
) -> None:
    d, rnd, everyone_accepts = case
    d.setdefault("policy", {}).update(mode="stable", max_moves=max_moves)
    r = parse_round(d)
    offers = {a.volunteer: a.placement for a in solve_round(r).assignments}
    ids = sorted(offers)
    declined = [v for v in ids if rnd.random() < 0.4]
    rest = [v for v in ids if v not in declined]
    accepted = None if everyone_accepts else [v for v in rest if rnd.random() < 0.5]
    prep = prepare(r)
    prop = propose_backfill(prep, offers, declined=declined, accepted=accepted)
    _check(r, prop, offers)
    assert set(prop.frozen) == set(rest if accepted is None else accepted)
    at = dict(prop.assignment)
    moved = {m.volunteer for m in prop.moves}
    assert moved == {v for v in rest if v not in prop.frozen and at.get(v) != offers[v]}
    if max_moves is not None:
        assert len(prop.moves) <= max_moves
    br = backfill_round(prep, offers, declined=declined, accepted=accepted)
    sub = solve_round(br)
    assert rule_violations(br, sub) == []
    _, res = backfill_document(prep, offers, declined=declined, accepted=accepted)
    down = {v: offers[v] for v in declined}
    assert check_claims(br, res, backfill=BackfillFacts(published=r, declined=down)) == []
    if max_moves is None:
        # the volunteer-optimal stable matching of the backfill round, and stable in it
        assert set(prop.assignment) == {(a.volunteer, a.placement) for a in sub.assignments}
        lists = build_lists(br, prepare(br))
        assert blocking_pairs(lists, at) == []
        # removing people never makes the others worse off: a pending move is a step up
        ranked = build_lists(r, prep).vol
        for m in prop.moves:
            assert m.to is not None
            assert ranked[m.volunteer].index(m.to) < ranked[m.volunteer].index(m.frm)


def test_stable_backfill_makes_the_vacancy_chain_within_max_moves() -> None:
    base = _chain_round()
    stable = base.model_copy(update={"policy": base.policy.model_copy(update={"mode": "stable"})})
    offers = {a.volunteer: a.placement for a in solve_round(stable).assignments}
    assert offers == {"V1": "P1", "V2": "P2"}
    prop = propose_backfill(prepare(stable), offers, declined=["V1"], accepted=[])
    assert dict(prop.assignment) == {"V2": "P1", "V3": "P2"}
    assert [(m.volunteer, m.frm, m.to) for m in prop.moves] == [("V2", "P2", "P1")]
    held = stable.model_copy(update={"policy": stable.policy.model_copy(update={"max_moves": 0})})
    prop = propose_backfill(prepare(held), offers, declined=["V1"], accepted=[])
    assert dict(prop.assignment) == {"V2": "P2"} and prop.moves == ()
    assert prop.new_offers == ()  # nobody else may take P1 (teaching 4 required)
    _, res = backfill_document(prepare(held), offers, declined=["V1"], accepted=[])
    assert [o.placement for o in res.open_slots] == ["P1"]


def test_an_open_slot_after_a_decline_says_declined_not_the_coordinator_forbade() -> None:
    # the backfill bars V1 (who declined P1) by forbidding V1's pairs; the open slot read
    # that as "the coordinator forbade this volunteer at P1"
    r = parse_round(doc([vol("V1")], [plc("P1"), plc("P2", required_skills={"wash": 2})]))
    _, res = backfill_document(prepare(r), {"V1": "P1"}, declined=["V1"], accepted=[])
    slots = {o.placement: o for o in res.open_slots}
    assert slots["P1"].reasons[-1] == "closest: V1, who declined the offer at P1, or let it expire"
    assert slots["P1"].details[-1] == {
        "code": "closest_declined",
        "params": {"volunteer": "V1", "placement": "P1"},
    }
    assert slots["P1"].reasons[1] == (
        "1 volunteer(s) meet every requirement but the pair-wise rules: "
        "1 declined their offer, or let it expire"
    )
    # at P2 V1 also lacks the skill: both are said, and no forbid
    assert slots["P2"].details[-1]["code"] == "closest_declined_and"
    assert slots["P2"].details[-1]["params"]["rules"] == ["skills"]
    assert not any("forbade" in s or "forbidden" in s for o in slots.values() for s in o.reasons)


def test_an_open_slot_after_a_decline_of_a_forbidden_pair_says_both() -> None:
    # the coordinator forbade V1 at P1 after the offer, and V1 declined it: both are true
    r = parse_round(
        doc([vol("V1")], [plc("P1")], forbidden=[{"volunteer": "V1", "placement": "P1"}])
    )
    _, res = backfill_document(prepare(r), {"V1": "P1"}, declined=["V1"], accepted=[])
    (slot,) = res.open_slots
    assert slot.reasons[-1] == (
        "closest: V1, who declined the offer at P1, or let it expire, and fails forbidden: "
        "the coordinator forbade this volunteer at P1"
    )
    assert "1 fail 'forbidden'" in slot.reasons[1] and "declined" not in slot.reasons[1]


def test_an_unplaced_volunteer_after_a_withdrawal_says_withdrawn_not_forbidden() -> None:
    # the backfill bars the withdrawn P1's pairs by forbidding them; V2's reasons read
    # that as "the coordinator forbade this volunteer at P1"
    r = parse_round(doc([vol("V1"), vol("V2")], [plc("P1"), plc("P2", required_skills={"w": 2})]))
    _, res = backfill_document(prepare(r), {"V1": "P1"}, accepted=[], withdrawn=["P1"])
    (v2,) = [u for u in res.unmatched_volunteers if u.volunteer == "V2"]
    assert "closest: P1, withdrawn by the host" in v2.reasons
    assert "1 of 2 placements were withdrawn by the host" in v2.reasons
    assert not any("forbade" in s or "forbidden" in s for s in v2.reasons)
    assert [text_of(d) for d in v2.details] == v2.reasons


# -- the round's locks after publication ---------------------------------------------------


def _locked_chain(**policy: Any) -> Any:
    """`_chain_round` with V1 locked at P1, where the optimum puts them anyway."""
    d = doc(
        [
            vol("V1", skills={"teaching": 5}),
            vol("V2", skills={"teaching": 4}),
            vol("V3", skills={"teaching": 1}),
        ],
        [
            plc("P1", required_skills={"teaching": 4}, desired_skills={"teaching": 5}, priority=5),
            plc("P2", desired_skills={"teaching": 4}, priority=1),
        ],
        locked=[{"volunteer": "V1", "placement": "P1"}],
        **policy,
    )
    return parse_round(d)


@pytest.mark.parametrize("mode", ["optimal", "stable"])
def test_a_locked_volunteer_who_declines_is_backfilled(mode: str) -> None:
    """A lock holds only until its volunteer declines: the freed slot is re-matched as
    any other (it used to be refused: 'V1 is locked by the round's policy')."""
    r = _locked_chain(mode=mode)
    prep = prepare(r)
    offers = {a.volunteer: a.placement for a in solve_round(r).assignments}
    assert offers == {"V1": "P1", "V2": "P2"}
    prop = propose_backfill(prep, offers, declined=["V1"], accepted=[])
    assert dict(prop.assignment) == {"V2": "P1", "V3": "P2"}
    assert prop.declined == ("V1",) and prop.frozen == ()
    assert {(o.volunteer, o.placement) for o in prop.new_offers} == {("V2", "P1"), ("V3", "P2")}
    _check(r, prop, offers)
    br = backfill_round(prep, offers, declined=["V1"], accepted=[])
    assert all(k.volunteer != "V1" for k in br.policy.locked)
    assert solve_round(br).objective == prop.total or mode == "stable"
    # the proposal as a document says V1 declined, and its assignment keeps every rule
    _, res = backfill_document(prep, offers, declined=["V1"], accepted=[], reserves=2)
    [v1] = [u for u in res.unmatched_volunteers if u.volunteer == "V1"]
    assert "declined the offer at P1" in v1.reasons[0]
    assert rule_violations(br, res) == []


def test_a_locked_volunteer_who_stays_is_still_frozen() -> None:
    """Another's decline leaves the lock holding: V1 is frozen even with no acceptance."""
    r = _locked_chain()
    prop = propose_backfill(prepare(r), {"V1": "P1", "V2": "P2"}, declined=["V2"], accepted=[])
    assert prop.frozen == ("V1",)
    assert dict(prop.assignment) == {"V1": "P1", "V3": "P2"}


def test_a_lock_at_a_withdrawn_need_holds_nobody() -> None:
    """The host withdrew P1: its locked volunteer is free for the backfill, not kept at
    a need that is gone."""
    r = _locked_chain()
    prop = propose_backfill(prepare(r), {"V1": "P1", "V2": "P2"}, withdrawn=["P1"], accepted=[])
    assert "P1" not in dict(prop.assignment).values()
    assert "V1" not in prop.frozen and prop.withdrawn == ("P1",)
    assert dict(prop.assignment) == {"V2": "P2"}  # V2's pending offer stands (move_cost)
    assert [(m.volunteer, m.frm, m.to) for m in prop.moves] == [("V1", "P1", None)]


# -- stopping ----------------------------------------------------------------------------


def test_a_rules_backfill_stops_mid_search_when_told() -> None:
    """A backfill under policy rules that would search for its 60 s limit stops within
    a second or two of its stop signal (the service's proposal was superseded): no
    proposal, `Stopped`. A pure backfill looks at the signal before its one flow."""
    import time

    from benchmarks.cancel_bench import slow_rules_document
    from volmatch.matching import Stopped

    prep = prepare(parse_round(slow_rules_document(volunteers=250, time_limit_s=60)))
    at = time.monotonic() + 1.0
    with pytest.raises(Stopped):
        propose_backfill(prep, {}, accepted=[], stop=lambda: time.monotonic() >= at)
    assert time.monotonic() - at < STOPPED_WITHIN_S
    with pytest.raises(Stopped):
        propose_backfill(prepare(_chain_round()), {"V1": "P1"}, declined=["V1"], stop=lambda: True)


STOPPED_WITHIN_S = 5.0
"""Seconds from the stop signal to `Stopped` the test allows (0.1-0.6 s on 2 cores)."""
