"""Check every claim a result's reasons make, without the code that made them.

The explanations (`matching.explain`, `matching.regret`) say things a coordinator will
read out: "P060 is full", "4 of 96 placements fail the rule 'dates'", "placing V003
anywhere lowers the round's best total by at least 300 points: V188 leaves P060 ...".
This module re-derives each claim from the round and the result alone: eligibility pair
by pair through `matching.validate` (plain Python), the scores from the scoring module,
the optimum by a fresh min-cost flow, and, with `resolve`, every cost by re-solving the
round with the choice forced (scipy's MILP): the independent oracle of the tests, like
`validate.py` is for assignments. A vacancy chain is checked by applying it to the
result: the round it describes must keep every hard rule and lose exactly the cost.

A backfill proposal (`matching.lifecycle.document`) is the result of the backfill round,
which bars declined volunteers and withdrawn needs by forbidding their pairs; its reasons
say so in codes of their own (`declined_offer`, `closest_declined`, `pairwise_declined`,
`closest_withdrawn`, `rule_count_withdrawn`, ...). Given `BackfillFacts` (the round as
published, whose `forbidden` pairs are the coordinator's, who declined which offer, the
needs withdrawn), the checker verifies those against the coordinator's records, and
that no reason left over calls a decline or a withdrawal the coordinator's forbid.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volmatch.matching.flow import max_score_assignment
from volmatch.matching.prepared import prepare
from volmatch.matching.validate import pair_violations
from volmatch.models import Result, Round
from volmatch.models.reasons import HARD_RULES, TEMPLATES, text_of


@dataclass
class _Round:
    """The facts of a round and its result that claims are checked against."""

    r: Round
    result: Result
    vids: list[str]
    pids: list[str]
    score: dict[tuple[str, str], int]
    """Every eligible pair's score."""
    at: dict[str, str]
    """Volunteer -> placement in the result."""
    fill: Counter[str]
    slots: dict[str, int]
    locked: dict[str, str]
    violations: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.volunteer = {v.id: v for v in self.r.volunteers}
        self.placement = {p.id: p for p in self.r.placements}

    def broken(self, v: str, p: str) -> list[str]:
        """The hard rules the pair breaks, by `validate.pair_violations` (cached)."""
        key = (v, p)
        if key not in self.violations:
            self.violations[key] = pair_violations(self.r, self.volunteer[v], self.placement[p])
        return self.violations[key]


def _facts(r: Round, result: Result) -> _Round:
    prep = prepare(r)
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    score = {
        (c.volunteer_ids[v], c.placement_ids[p]): int(s)
        for v, p, s in zip(pairs.v.tolist(), pairs.p.tolist(), scores.total.tolist(), strict=True)
    }
    at = {a.volunteer: a.placement for a in result.assignments}
    return _Round(
        r=r,
        result=result,
        vids=[v.id for v in r.volunteers],
        pids=[p.id for p in r.placements],
        score=score,
        at=at,
        fill=Counter(at.values()),
        slots={p.id: p.slots for p in r.placements},
        locked={k.volunteer: k.placement for k in r.policy.locked},
    )


def optimum(
    f: _Round, forced: Mapping[str, str] | None = None, min_fill: tuple[str, int] | None = None
) -> int | None:
    """The best total under the hard rules and the locks, optionally with more pairs
    forced or a placement filled to at least a number (None: impossible). A plain flow
    without extras; scipy's MILP with them."""
    fixed = {**f.locked, **(forced or {})}
    items = sorted(f.score.items())
    if not fixed and min_fill is None:
        vi = {v: i for i, v in enumerate(f.vids)}
        pi = {p: i for i, p in enumerate(f.pids)}
        pv = np.array([vi[v] for (v, _), _ in items], dtype=np.int64)
        pp = np.array([pi[p] for (_, p), _ in items], dtype=np.int64)
        w = np.array([s for _, s in items], dtype=np.int64)
        cap = np.array([f.slots[p] for p in f.pids], dtype=np.int64)
        return max_score_assignment(len(f.vids), cap, pv, pp, w).objective
    return _milp(f, items, fixed, min_fill)


def _milp(
    f: _Round,
    items: list[tuple[tuple[str, str], int]],
    fixed: Mapping[str, str],
    min_fill: tuple[str, int] | None,
) -> int | None:
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    n = len(items)
    for v, p in fixed.items():
        if (v, p) not in f.score:
            return None
    if n == 0:
        return None if min_fill and min_fill[1] > 0 else 0
    vi = {v: i for i, v in enumerate(f.vids)}
    pi = {p: i for i, p in enumerate(f.pids)}
    rows_v = [vi[v] for (v, _), _ in items]
    rows_p = [pi[p] for (_, p), _ in items]
    cols = np.arange(n)
    cons = [
        LinearConstraint(
            coo_matrix((np.ones(n), (rows_v, cols)), shape=(len(f.vids), n)), -np.inf, 1
        ),
        LinearConstraint(
            coo_matrix((np.ones(n), (rows_p, cols)), shape=(len(f.pids), n)),
            -np.inf,
            np.array([f.slots[p] for p in f.pids], dtype=float),
        ),
    ]
    lo = np.array([1.0 if fixed.get(v) == p else 0.0 for (v, p), _ in items])
    if min_fill is not None:
        mask = np.array([[1.0 if p == min_fill[0] else 0.0 for (_, p), _ in items]])
        cons.append(LinearConstraint(mask, min_fill[1], np.inf))
    w = -np.array([s for _, s in items], dtype=float)
    res = milp(w, constraints=cons, integrality=np.ones(n), bounds=Bounds(lo, np.ones(n)))
    return None if res.status != 0 else round(-res.fun)


@dataclass(frozen=True)
class BackfillFacts:
    """What the reasons of a backfill proposal speak of, as the coordinator recorded it
    (not as the backfill round encodes it): the round as published, whose `forbidden`
    pairs are the coordinator's; volunteer -> the placement of the offer they declined
    (or let expire); the placements their hosts withdrew."""

    published: Round
    declined: Mapping[str, str]
    withdrawn: Set[str] = frozenset()


_BACKFILL_VOLUNTEER_CODES = frozenset(
    {"declined_offer", "closest_withdrawn", "closest_withdrawn_and", "rule_count_withdrawn"}
)
_BACKFILL_PLACEMENT_CODES = frozenset(
    {"withdrawn_by_host", "closest_declined", "closest_declined_and"}
)


class ClaimChecker:
    """Checks the reasons of a result; `problems()` lists every false or unchecked claim.

    `resolve`: also re-solve the round for every cost claimed (exact and slow: for small
    rounds and tests). `backfill`: `result` is a backfill proposal of round `r` (the
    backfill round), and these are the records its own codes are checked against."""

    def __init__(
        self,
        r: Round,
        result: Result,
        resolve: bool = False,
        backfill: BackfillFacts | None = None,
    ) -> None:
        self.f = _facts(r, result)
        self.resolve = resolve
        self.backfill = backfill
        self.problems_found: list[str] = []
        self._opt: int | None = None
        self._coordinator: dict[tuple[str, str], list[str]] = {}

    @property
    def best(self) -> int:
        """The best total under the hard rules (and the locks)."""
        if self._opt is None:
            self._opt = optimum(self.f) or 0
        return self._opt

    def bad(self, who: str, code: str, why: str) -> None:
        self.problems_found.append(f"{who}: {code}: {why}")

    def problems(self) -> list[str]:
        res = self.f.result
        for u in res.unmatched_volunteers:
            self._texts(u.volunteer, u.reasons, u.details)
            for d in u.details:
                self._volunteer_claim(u.volunteer, d["code"], d["params"], u.cost)
            self._cost_of_volunteer(u.volunteer, u.cost, u.best_placement)
        for o in res.open_slots:
            self._texts(o.placement, o.reasons, o.details)
            for d in o.details:
                self._placement_claim(o.placement, d["code"], d["params"], o.cost)
            self._cost_of_slot(o.placement, o.cost)
        return self.problems_found

    # -- every reason -----------------------------------------------------------------

    def _texts(self, who: str, texts: list[str], details: list[Any]) -> None:
        if not texts:
            self.bad(who, "-", "no reason given")
        if details and [text_of(d) for d in details] != texts:
            self.bad(who, "-", "the sentences are not those of the parts")
        for d in details:
            if d["code"] not in TEMPLATES:
                self.bad(who, d["code"], "unknown code")

    def _eligible(self, v: str) -> list[str]:
        return [p for p in self.f.pids if (v, p) in self.f.score]

    def _agree(self, v: str, p: str) -> bool:
        """Eligible by the scoring module's pairs and by validate.py alike."""
        eligible = (v, p) in self.f.score
        if eligible == bool(self.f.broken(v, p)):
            self.bad(f"{v}->{p}", "-", "the pair's eligibility differs between two checks")
        return eligible

    # -- volunteers -------------------------------------------------------------------

    def _volunteer_claim(self, v: str, code: str, q: dict[str, Any], cost: int | None) -> None:
        f = self.f
        eligible = [p for p in f.pids if self._agree(v, p)]
        checks: dict[str, bool] = {}
        if code == "no_placements":
            checks["no placements"] = not f.pids
        elif code == "no_placement_accepts":
            checks["count"] = q["placements"] == len(f.pids)
            checks["none eligible"] = not eligible
        elif code.startswith("all_fail_"):
            rule = {
                "all_fail_languages": "languages",
                "all_fail_dates": "dates",
                "all_fail_country": "country",
                "all_fail_security": "security",
                "all_fail_length": "length",
            }.get(code, q.get("rule", ""))
            checks["every placement fails"] = all(rule in f.broken(v, p) for p in f.pids)
        elif code == "rule_count" and q["side"] == "placements":
            n = sum(q["rule"] in self._broken_as_said(v, p) for p in f.pids)
            checks["count"] = n == q["count"] and q["total"] == len(f.pids)
            checks["rule text"] = q["rule_text"] == HARD_RULES[q["rule"]]
        elif code == "closest_placement":
            checks["fails exactly those rules"] = f.broken(v, q["placement"]) == q["rules"]
            checks["a forbid is the coordinator's"] = self._forbid_is_theirs(
                v, q["placement"], q["rules"]
            )
        elif code in _BACKFILL_VOLUNTEER_CODES:
            checks.update(self._backfill_volunteer(v, code, q))
        elif code == "policy_training_missing":
            have = f.volunteer[v].training
            want = [repr(m) for m in f.r.policy.required_training if m not in have]
            checks["modules"] = want == q["modules"]
        elif code == "eligible_for":
            full = sum(f.fill[p] >= f.slots[p] for p in eligible)
            checks["counts"] = (q["count"], q["full"]) == (len(eligible), full)
        elif code in ("tie", "costs", "tie_hard_rules", "costs_hard_rules"):
            self._placing(v, code, q, cost)
        elif code == "slots_locked":
            checks["every slot locked"] = (
                all(
                    sum(1 for lv, lp in f.locked.items() if lp == p) >= f.slots[p] for p in eligible
                )
                and sorted(eligible) == q["placements"]
            )
        elif code == "policy_rules":
            checks["rules"] = q["rules"] == (f.result.model_extra or {}).get("rules", {}).get(
                "active"
            )
        elif code in ("group_unplaceable", "group_unplaceable_country"):
            members = sorted(x.id for x in f.r.volunteers if x.group == q["group"])
            checks["members"] = v in members and sorted(q["volunteers"]) == members
            checks["count"] = q["count"] == len(members)
        elif code in (
            "stable_full",
            "stable_group_locked",
            "stable_group_no_room",
            "stable_group_outranked",
            "solver",
        ):
            self._stable_volunteer(v, code, q, eligible)
        else:
            self.bad(v, code, "no check for this claim")
        for what, ok in checks.items():
            if not ok:
                self.bad(v, code, what)

    def _placing(self, v: str, code: str, q: dict[str, Any], cost: int | None) -> None:
        f = self.f
        p = q["placement"]
        ok = q["volunteer"] == v and f.score.get((v, p)) == q["score"]
        claimed = 0 if code.startswith("tie") else q["cost"]
        if not ok or claimed != cost:
            self.bad(v, code, "names the wrong volunteer, score or cost")
        if "hop_parts" in q:
            exact = f.result.objective == self.best and f.result.status == "optimal"
            if not exact:
                self.bad(v, code, "tells a chain though the result is not the best round")
            moved = self._apply(q["hop_parts"], {v: p})
            if moved is None:
                self.bad(v, code, "its chain is not a valid round")
            elif moved != self.best - claimed:
                self.bad(v, code, f"its chain gives {moved}, not {self.best - claimed}")

    def _cost_of_volunteer(self, v: str, cost: int | None, best: str | None) -> None:
        f = self.f
        if not self.resolve:
            return
        options = [optimum(f, forced={v: p}) for p in self._eligible(v)]
        reach = [o for o in options if o is not None]
        want = None if not reach else self.best - max(reach)
        if cost != want:
            self.bad(v, "cost", f"is {cost}, a re-solve gives {want}")
        if best is not None and optimum(f, forced={v: best}) != self.best - (cost or 0):
            self.bad(v, "best_placement", "does not reach the cost")

    def _apply(self, hops: list[dict[str, Any]], arrive: dict[str, str]) -> int | None:
        """The total of the result's round (taken as the best round under the hard rules)
        after the hops and the arrivals: None if that round breaks a rule."""
        f = self.f
        at = {a.volunteer: a.placement for a in f.result.assignments}
        if f.result.objective != self.best:
            return None
        at.update(arrive)
        for h in hops:
            q = h["params"]
            if h["code"] == "hop_moves":
                if at.get(q["volunteer"]) != q["frm"]:
                    return None
                at[q["volunteer"]] = q["to"]
            elif h["code"] == "hop_leaves":
                if at.get(q["volunteer"]) != q["frm"]:
                    return None
                del at[q["volunteer"]]
            elif h["code"] == "hop_enters":
                if q["volunteer"] in at and q["volunteer"] not in arrive:
                    return None
                at[q["volunteer"]] = q["to"]
            elif h["code"] != "hop_was_open":
                return None
            for key in ("score_from", "score_to"):
                if key in q:
                    p = q["frm"] if key == "score_from" else q["to"]
                    if f.score.get((q["volunteer"], p)) != q[key]:
                        return None
        load = Counter(at.values())
        if any(load[p] > f.slots[p] for p in load):
            return None
        if any(at.get(lv) != lp for lv, lp in f.locked.items()):
            return None
        if any((v, p) not in f.score for v, p in at.items()):
            return None
        return sum(f.score[(v, p)] for v, p in at.items())

    # -- placements -------------------------------------------------------------------

    def _placement_claim(self, p: str, code: str, q: dict[str, Any], cost: int | None) -> None:
        f = self.f
        eligible = [v for v in f.vids if self._agree(v, p)]
        checks: dict[str, bool] = {}
        if code == "no_volunteers":
            checks["no volunteers"] = not f.vids
        elif code == "nobody_eligible":
            checks["nobody"] = not eligible and q["pool"] == len(f.vids)
        elif code in ("nobody_speaks", "nobody_has_skills"):
            rule = "languages" if code == "nobody_speaks" else "skills"
            checks["every volunteer fails"] = all(rule in f.broken(v, p) for v in f.vids)
        elif code == "rule_count" and q["side"] == "volunteers":
            n = sum(q["rule"] in self._broken_as_said(v, p) for v in f.vids)
            checks["count"] = n == q["count"] and q["total"] == len(f.vids)
        elif code == "pairwise_only":
            near = [v for v in f.vids if not set(f.broken(v, p)) - {"dates", "age", "forbidden"}]
            checks["count"] = len(near) == q["count"]
            checks["counts per rule"] = self._pairwise_parts(p, near, q["rule_parts"])
        elif code == "closest_volunteer":
            checks["fails exactly those rules"] = f.broken(q["volunteer"], p) == q["rules"]
            checks["a forbid is the coordinator's"] = self._forbid_is_theirs(
                q["volunteer"], p, q["rules"]
            )
        elif code in _BACKFILL_PLACEMENT_CODES:
            checks.update(self._backfill_placement(p, code, q))
        elif code == "few_eligible":
            checks["counts"] = (q["eligible"], q["slots"]) == (len(eligible), f.slots[p])
            checks["fewer"] = len(eligible) < f.slots[p]
        elif code == "nobody_left":
            checks["nobody"] = cost is None
            if self.resolve:
                checks["re-solve"] = optimum(f, min_fill=(p, f.fill[p] + 1)) is None
        elif code in ("open_tie", "open_costs"):
            claimed = 0 if code == "open_tie" else q["cost"]
            moved = self._apply(q["hop_parts"], {})
            checks["cost"] = claimed == cost
            checks["chain is a valid round"] = moved is not None
            checks["chain's total"] = moved == self.best - claimed
            hops = q["hop_parts"]
            checks["fills this placement"] = bool(hops) and hops[0]["params"].get("to") == p
        elif code in ("open_tie_hard_rules", "open_costs_hard_rules"):
            claimed = 0 if code == "open_tie_hard_rules" else q["cost"]
            checks["score"] = f.score.get((q["volunteer"], p)) == q["score"]
            checks["cost"] = claimed == cost
            checks["slots"] = q["slots"] == f.slots[p]
            if self.resolve:
                more = optimum(f, min_fill=(p, q["best_fill"] + 1))
                checks["a best round fills that many"] = (
                    optimum(f, min_fill=(p, q["best_fill"])) == self.best
                )
                checks["re-solve"] = more is not None and self.best - more == claimed
        elif code == "nobody_left_hard_rules":
            checks["nobody"] = cost is None
            if self.resolve:
                checks["re-solve"] = optimum(f, min_fill=(p, q["best_fill"] + 1)) is None
        elif code == "filled_under_hard_rules":
            checks["slots"] = q["slots"] == f.slots[p]
            if self.resolve:
                checks["re-solve"] = optimum(f, min_fill=(p, f.slots[p])) == self.best
        elif code in ("kept_out_by_rules", "kept_out_or_gap"):
            left = [v for v in eligible if v not in f.at]
            checks["count"] = q["count"] == len(left)
            checks["names"] = set(q["volunteers"]) <= set(left)
            if code == "kept_out_by_rules":
                checks["proven"] = f.result.status == "optimal"
        elif code == "slots_filled":
            checks["counts"] = (q["filled"], q["slots"]) == (f.fill[p], f.slots[p])
        elif code == "stable_open":
            self._stable_open(p, q, eligible)
        else:
            self.bad(p, code, "no check for this claim")
        for what, ok in checks.items():
            if not ok:
                self.bad(p, code, what)

    def _cost_of_slot(self, p: str, cost: int | None) -> None:
        if not self.resolve:
            return
        more = optimum(self.f, min_fill=(p, self.f.fill[p] + 1))
        if self.f.result.status == "optimal" and self.f.result.objective == self.best:
            want = None if more is None else self.best - more
            if cost != want:
                self.bad(p, "cost", f"is {cost}, a re-solve gives {want}")

    # -- backfill proposals -------------------------------------------------------------

    def _by_coordinator(self, v: str, p: str) -> list[str]:
        """The hard rules the pair breaks in the round as published (where the forbidden
        pairs are the coordinator's), or in the round at hand outside a backfill."""
        if self.backfill is None:
            return self.f.broken(v, p)
        key = (v, p)
        if key not in self._coordinator:
            r0 = self.backfill.published
            self._coordinator[key] = pair_violations(r0, self.f.volunteer[v], self.f.placement[p])
        return self._coordinator[key]

    def _barred(self, v: str, p: str) -> bool:
        """Whether the pair is forbidden in the round at hand only as the backfill's bar
        (its volunteer declined, its need was withdrawn), not by the coordinator."""
        b = self.backfill
        if b is None or "forbidden" not in self.f.broken(v, p):
            return False
        if "forbidden" in self._by_coordinator(v, p):
            return False
        return v in b.declined or p in b.withdrawn

    def _declined(self, v: str) -> bool:
        return self.backfill is not None and v in self.backfill.declined

    def _broken_as_said(self, v: str, p: str) -> list[str]:
        """The rules the reasons may say the pair breaks: those of the round at hand,
        without the backfill's bars (said in codes of their own)."""
        broken = self.f.broken(v, p)
        return [x for x in broken if x != "forbidden"] if self._barred(v, p) else broken

    def _forbid_is_theirs(self, v: str, p: str, rules: list[str]) -> bool:
        """A reason that says the coordinator forbade the pair: they did."""
        return "forbidden" not in rules or "forbidden" in self._by_coordinator(v, p)

    def _pairwise_parts(self, p: str, near: list[str], parts: list[dict[str, Any]]) -> bool:
        """The counts of `pairwise_only`: per pair-wise rule, how many of the `near`
        volunteers fail it (a forbid only where the coordinator's), and how many of them
        declined (the backfill's bar, `pairwise_declined`)."""
        want: Counter[str] = Counter()
        declined = 0
        for v in near:
            for rule in self._broken_as_said(v, p):
                want[rule] += 1
            declined += self._barred(v, p) and self._declined(v)
        got: Counter[str] = Counter()
        said_declined = 0
        for d in parts:
            if d["code"] == "pairwise_fail":
                got[d["params"]["rule"]] += d["params"]["count"]
                if d["params"]["rule_text"] != HARD_RULES[d["params"]["rule"]]:
                    return False
            elif d["code"] == "pairwise_declined":
                said_declined += d["params"]["count"]
            else:
                return False
        return got == want and said_declined == declined

    def _backfill_volunteer(self, v: str, code: str, q: dict[str, Any]) -> dict[str, bool]:
        f, b = self.f, self.backfill
        if b is None:
            return {"said outside a backfill": False}
        if code == "declined_offer":
            return {
                "declined there": b.declined.get(v) == q["placement"],
                "left unplaced": v not in f.at,
            }
        if code == "rule_count_withdrawn":
            # withdrawn needs the volunteer could otherwise take (the coordinator's
            # forbids are counted under 'forbidden')
            n = sum(p in b.withdrawn and not self._by_coordinator(v, p) for p in f.pids)
            return {"count": (q["count"], q["total"]) == (n, len(f.pids))}
        p = q["placement"]
        rules = q.get("rules", [])
        checks = {
            "withdrawn": p in b.withdrawn,
            "barred only by the withdrawal": self._barred(v, p),
            "fails exactly those rules": self._by_coordinator(v, p) == rules,
        }
        if code == "closest_withdrawn_and":
            checks["rules named"] = bool(rules) and _parts_name(q["failure_parts"], rules)
        return checks

    def _backfill_placement(self, p: str, code: str, q: dict[str, Any]) -> dict[str, bool]:
        f, b = self.f, self.backfill
        if b is None:
            return {"said outside a backfill": False}
        if code == "withdrawn_by_host":
            return {"withdrawn": p in b.withdrawn, "holds nobody": f.fill[p] == 0}
        v = q["volunteer"]
        rules = q.get("rules", [])
        # `forbidden` among the rules: the coordinator forbade the pair as well
        checks = {
            "declined there": b.declined.get(v) == q["placement"],
            "left unplaced": v not in f.at,
            "fails exactly those rules": self._by_coordinator(v, p) == rules,
        }
        if code == "closest_declined":
            checks["barred only by the decline"] = self._barred(v, p)
        else:
            checks["rules named"] = bool(rules) and _parts_name(q["failure_parts"], rules)
        return checks

    # -- stable mode ------------------------------------------------------------------

    def _ranked(self, owner: str, side: str) -> list[str]:
        """The contract's stable-mode list of a volunteer (`side` "v") or placement."""
        f = self.f
        if side == "v":
            vol = f.volunteer[owner]
            others = [p for p in f.pids if (owner, p) in f.score]
            listed = [p for p in vol.preferences if p in others]
            rest = sorted(
                (p for p in others if p not in listed), key=lambda p: (-f.score[(owner, p)], p)
            )
            return listed + rest
        pl = f.placement[owner]
        others = [v for v in f.vids if (v, owner) in f.score]
        listed = [v for v in pl.ranking if v in others]
        rest = sorted(
            (v for v in others if v not in listed), key=lambda v: (-f.score[(v, owner)], v)
        )
        return listed + rest

    def _stable_volunteer(self, v: str, code: str, q: dict[str, Any], eligible: list[str]) -> None:
        f = self.f
        if code != "stable_full":
            return  # group notes and solver notes: records only
        if q["count"] != len(eligible):
            self.bad(v, code, "count")
        for part in q["rank_parts"]:
            r = part["params"]
            p = r["placement"]
            if part["code"] == "stable_locked":
                held = sum(1 for lp in f.locked.values() if lp == p)
                if held < f.slots[p]:
                    self.bad(v, code, f"{p} is not locked full")
                continue
            ranked = self._ranked(p, "p")
            holders = [x for x in ranked if f.at.get(x) == p and f.locked.get(x) != p]
            worst = max((ranked.index(x) for x in holders), default=-1) + 1
            if (ranked.index(v) + 1, len(ranked), worst) != (
                r["rank_nth"],
                r["size"],
                r["worst_nth"],
            ):
                self.bad(v, code, f"ranks at {p}")
            if f.fill[p] < f.slots[p]:
                self.bad(v, code, f"{p} is not full")

    def _stable_open(self, p: str, q: dict[str, Any], eligible: list[str]) -> None:
        f = self.f
        others = [v for v in eligible if f.at.get(v) != p]
        if q["count"] != len(others):
            self.bad(p, "stable_open", "count")
        for part in q["holder_parts"]:
            r = part["params"]
            if part["code"] != "stable_holds":
                continue
            v = r["volunteer"]
            ranked = self._ranked(v, "v")
            if f.at.get(v) != r["placement"] or (
                ranked.index(r["placement"]) + 1,
                ranked.index(p) + 1,
            ) != (r["held_nth"], r["rank_nth"]):
                self.bad(p, "stable_open", f"what {v} holds")


def _parts_name(parts: list[dict[str, Any]], rules: list[str]) -> bool:
    """The failure parts of a closest-record reason explain exactly its rules (one part
    per rule; a country part says which way the country fails)."""
    named = [d["code"].removeprefix("fails_") for d in parts]
    named = ["country" if x.startswith("country_") else x for x in named]
    named = ["age" if x == "age_no_birth_date" else x for x in named]
    return named == rules


def check_claims(
    r: Round, result: Result, resolve: bool = False, backfill: BackfillFacts | None = None
) -> list[str]:
    """Every claim of the result's reasons that does not hold (empty: all true).
    `backfill`: `result` is a backfill proposal of `r`, its records (`BackfillFacts`)."""
    return ClaimChecker(r, result, resolve, backfill).problems()
