"""Checks of a result document against the contract, through the oracle only."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.contract.oracle import (
    Round,
    best_total,
    eligible_pairs,
    failed_rules,
    forced_moves,
    lists,
    stable_matching,
)

TIE_CODES = frozenset({"tie", "open_tie", "tie_hard_rules", "open_tie_hard_rules"})


def check_hard_rules(doc: dict[str, Any], res: dict[str, Any]) -> None:
    """Assignments keep rules 1-9, each with the contract's score, start and length; one
    placement per volunteer, capacities kept, locks present, every unplaced volunteer and
    every open slot listed with a reason."""
    r = Round.of(doc)
    pairs = eligible_pairs(r)
    placed: dict[str, str] = {}
    fill: Counter[str] = Counter()
    for a in res["assignments"]:
        key = (a["volunteer"], a["placement"])
        assert key in pairs, f"{key} breaks a hard rule"
        want = pairs[key]
        assert a["volunteer"] not in placed, f"{a['volunteer']} placed twice"
        placed[a["volunteer"]] = a["placement"]
        fill[a["placement"]] += 1
        assert str(a["start"]) == want.start.isoformat(), (key, a["start"], want.start)
        assert a["months"] == want.months, (key, a["months"], want.months)
        if "continuity" not in a["breakdown"]:
            assert a["score"] == want.score, (key, a["score"], want.score)
            got = {k: v for k, v in a["breakdown"].items() if v}
            assert got == {k: v for k, v in want.breakdown.items() if v}, key
    for pid, n in fill.items():
        assert n <= r.slots[pid], f"{pid} over capacity"
    for vid, pid in r.locked.items():
        assert placed.get(vid) == pid, f"locked {vid}->{pid} missing"
    unmatched = {u["volunteer"]: u for u in res["unmatched_volunteers"]}
    assert set(unmatched) == {v["id"] for v in r.volunteers} - set(placed)
    for u in unmatched.values():
        assert u["reasons"] and all(u["reasons"]), u
        assert len(u.get("details", u["reasons"])) == len(u["reasons"]), u
    opened = {o["placement"]: o for o in res["open_slots"]}
    want_open = {pid: r.slots[pid] - fill[pid] for pid in r.slots if fill[pid] < r.slots[pid]}
    assert {k: o["open"] for k, o in opened.items()} == want_open
    for o in opened.values():
        assert o["reasons"] and all(o["reasons"]), o


def check_optimal(doc: dict[str, Any], res: dict[str, Any], *, costs: bool = True) -> None:
    """A pure round's `optimal` total is the independent optimum; each unplaced
    volunteer's and open slot's `cost` is an independent re-solve's drop."""
    r = Round.of(doc)
    pairs = eligible_pairs(r)
    best = best_total(r, pairs)
    assert res["objective"] == sum(a["score"] for a in res["assignments"])
    if res["status"] == "optimal":
        assert res["objective"] == best, (res["objective"], best)
    if not costs or res["status"] != "optimal":
        return
    assert best is not None
    for u in res["unmatched_volunteers"]:
        vid = u["volunteer"]
        forced = best_total(r, pairs, must_place={vid: None})
        if forced is None:
            assert u["cost"] is None, (vid, u)
            continue
        assert u["cost"] == best - forced, (vid, u["cost"], best - forced)
        at = best_total(r, pairs, must_place={vid: u["best_placement"]})
        assert at == forced, (vid, u["best_placement"])
        codes = {d["code"] for d in u["details"]}
        assert (u["cost"] == 0) == bool(codes & TIE_CODES), (vid, u["cost"], codes)
    fill = Counter(a["placement"] for a in res["assignments"])
    for o in res["open_slots"]:
        pid = o["placement"]
        forced = best_total(r, pairs, min_fill={pid: fill[pid] + 1})
        if forced is None:
            assert o["cost"] is None, (pid, o)
            continue
        assert o["cost"] == best - forced, (pid, o["cost"], best - forced)
        via = best_total(r, pairs, must_place={o["nearest"]: pid}, min_fill={pid: fill[pid] + 1})
        assert via == forced, (pid, o["nearest"], via, forced)
        codes = {d["code"] for d in o["details"]}
        assert (o["cost"] == 0) == bool(codes & TIE_CODES), (pid, o["cost"], codes)


def check_stable(doc: dict[str, Any], res: dict[str, Any]) -> None:
    """The stable result is the volunteer-optimal (or, with `stable_side: hosts`, the
    host-optimal) stable matching of the contract's lists."""
    r = Round.of(doc)
    want = stable_matching(r, eligible_pairs(r), r.policy.get("stable_side", "volunteers"))
    got = {(a["volunteer"], a["placement"]) for a in res["assignments"]}
    assert got == want, (sorted(got - want), sorted(want - got))


TIMINGS = frozenset({"seconds", "stages"})
"""Keys of the rules solver's report (`solver`) that hold timings, like `stats`."""


def _untimed(res: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in res.items() if k != "stats"}
    if isinstance(out.get("solver"), dict):
        out["solver"] = {k: v for k, v in out["solver"].items() if k not in TIMINGS}
    return out


def same_result(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal apart from timings."""
    return _untimed(a) == _untimed(b)


def check_policy_rules(doc: dict[str, Any], res: dict[str, Any]) -> None:
    """The hard policy rules as `docs/policy-rules.md` words them: groups placed whole and
    together, the nationality cap per placement, the cap per host, the budget, the moves."""
    r = Round.of(doc)
    pol = r.policy
    vol = {v["id"]: v for v in r.volunteers}
    plc = {p["id"]: p for p in r.placements}
    at = {a["volunteer"]: a["placement"] for a in res["assignments"]}
    groups: dict[str, list[str]] = {}
    for v in r.volunteers:
        if v.get("group"):
            groups.setdefault(v["group"], []).append(v["id"])
    by = "country" if pol.get("group_together") == "country" else "id"
    for g, members in groups.items():
        where = {plc[at[m]][by] if m in at else None for m in members}
        assert len(where) == 1, f"group {g} split: {where}"
    cap = pol.get("max_same_nationality_per_placement")
    if cap is not None:
        per = Counter((p, vol[v]["nationality"]) for v, p in at.items())
        assert max(per.values(), default=0) <= cap, per
    host_cap = pol.get("max_per_host")
    if host_cap is not None:
        per_host = Counter(plc[p]["host"] for p in at.values())
        assert max(per_host.values(), default=0) <= host_cap, per_host
    budget = pol.get("budget")
    if budget is not None:
        spent = sum(
            budget.get("cost", {}).get(plc[p]["country"], budget.get("default_cost", 0))
            for p in at.values()
        )
        assert spent <= budget["total"], (spent, budget)
    prev = {a["volunteer"]: a for a in doc.get("previous", [])}
    if pol.get("max_moves") is not None:
        moved = sum(at.get(v) != a["placement"] for v, a in prev.items())
        forced = forced_moves(r, {v: a["placement"] for v, a in prev.items()})
        assert moved <= max(pol["max_moves"], forced), (moved, pol["max_moves"], forced)
    for v, a in prev.items():
        if a.get("stage") in pol.get("frozen_stages", []):
            assert at.get(v) == a["placement"], f"frozen {v} moved"


def check_hard_rule_costs(doc: dict[str, Any], res: dict[str, Any]) -> None:
    """Stable mode and policy rules: the costs are those of the best round under the hard
    rules alone (`docs/contract.md`): an independent re-solve of that round."""
    r = Round.of(doc)
    pairs = eligible_pairs(r)
    best = best_total(r, pairs)
    if best is None:
        return
    for u in res["unmatched_volunteers"]:
        if u.get("cost") is None:
            continue
        forced = best_total(r, pairs, must_place={u["volunteer"]: None})
        assert forced is not None and u["cost"] == best - forced, (u, best, forced)


def check_reserves(doc: dict[str, Any], res: dict[str, Any], k: int) -> None:
    """Each placement's reserves: unplaced volunteers eligible for it, at most `k`, each
    `cost` the drop in the optimum if they take a slot there (pure rounds)."""
    r = Round.of(doc)
    pairs = eligible_pairs(r)
    best = best_total(r, pairs)
    unplaced = {u["volunteer"] for u in res["unmatched_volunteers"]}
    for row in res.get("reserves") or []:
        pid, entries = row["placement"], row["reserves"]
        assert len(entries) <= k, (pid, entries)
        for e in entries:
            vid = e["volunteer"]
            assert vid in unplaced and (vid, pid) in pairs, (pid, e)
            assert e["score"] == pairs[vid, pid].score, (pid, e)
            forced = best_total(r, pairs, must_place={vid: pid})
            want = None if forced is None or best is None else best - forced
            assert e["cost"] == want, (pid, e, want)


def check_audit(doc: dict[str, Any], res: dict[str, Any]) -> None:
    """`--audit` of a round without locks or groups: the blocking pairs of the result on
    the contract's lists, the optimum and the stable matching's total."""
    r = Round.of(doc)
    pairs = eligible_pairs(r)
    vlist, plist = lists(r, pairs)
    at = {a["volunteer"]: a["placement"] for a in res["assignments"]}
    held: dict[str, list[str]] = {p: [] for p in r.slots}
    for v, p in at.items():
        held[p].append(v)
    blocking = set()
    for v, p in pairs:
        if at.get(v) == p:
            continue
        mine = vlist[v]
        wants = v not in at or mine.index(p) < mine.index(at[v])
        theirs = plist[p]
        room = len(held[p]) < r.slots[p] or any(theirs.index(v) < theirs.index(h) for h in held[p])
        if wants and room:
            blocking.add((v, p))
    audit = res["stability"]
    assert audit["blocking_pairs"] == len(blocking), (audit, sorted(blocking))
    assert audit["blocking_volunteers"] == len({v for v, _ in blocking}), audit
    assert audit["blocking_placements"] == len({p for _, p in blocking}), audit
    assert audit["stable"] == (not blocking), audit
    assert audit["optimal_objective"] == best_total(r, pairs), audit
    stable = stable_matching(r, pairs, r.policy.get("stable_side", "volunteers"))
    assert audit["stable_objective"] == sum(pairs[x].score for x in stable), audit


RULE_NAMES = ("skills", "languages", "training", "length", "dates", "country", "security", "age")
"""The result's and `explain`'s names of hard rules 1-8 (9 is `forbidden`)."""


def rule_names(fails: list[int]) -> set[str]:
    """Names of the hard rules numbered in `fails`."""
    return {RULE_NAMES[k - 1] if k <= 8 else "forbidden" for k in fails}


def check_details(doc: dict[str, Any], res: dict[str, Any]) -> None:
    """The structured reasons the oracle can re-derive: counts of eligible placements and
    of full ones, rule counts, the closest pair's failed rules, the costs' numbers."""
    r = Round.of(doc)
    vol = {v["id"]: v for v in r.volunteers}
    plc = {p["id"]: p for p in r.placements}
    fill = Counter(a["placement"] for a in res["assignments"])
    for u in res["unmatched_volunteers"]:
        v = vol[u["volunteer"]]
        fails = {pid: failed_rules(r, v, p) for pid, p in plc.items()}
        ok = [pid for pid, f in fails.items() if not f]
        for d in u["details"]:
            code, q = d["code"], d["params"]
            if code == "eligible_for":
                assert q["count"] == len(ok), (u, ok)
                assert q["full"] == sum(fill[p] >= r.slots[p] for p in ok), (u, fill)
            elif code == "no_placement_accepts":
                assert not ok and q["placements"] == len(plc), u
            elif code == "rule_count":
                n = sum(q["rule"] in rule_names(f) for f in fails.values())
                assert (q["count"], q["total"]) == (n, len(plc)), (u, q, n)
            elif code == "closest_placement":
                assert set(q["rules"]) == rule_names(fails[q["placement"]]), (u, q)
            elif code in ("tie", "costs"):
                assert q.get("cost", 0) == u["cost"] and q["placement"] == u["best_placement"], u
    for o in res["open_slots"]:
        p = plc[o["placement"]]
        fails = {vid: failed_rules(r, v, p) for vid, v in vol.items()}
        ok = [vid for vid, f in fails.items() if not f]
        for d in o["details"]:
            code, q = d["code"], d["params"]
            if code == "nobody_eligible":
                assert not ok and q["pool"] == len(vol), o
            elif code == "rule_count":
                n = sum(q["rule"] in rule_names(f) for f in fails.values())
                assert (q["count"], q["total"]) == (n, len(vol)), (o, q, n)
            elif code == "closest_volunteer":
                assert set(q["rules"]) == rule_names(fails[q["volunteer"]]), (o, q)
            elif code == "few_eligible":
                assert q["eligible"] == len(ok) < r.slots[p["id"]], (o, ok)
            elif code in ("open_tie", "open_costs"):
                assert q.get("cost", 0) == o["cost"], o
