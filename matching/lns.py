"""Large-neighbourhood search for rounds with policy rules.

On large rounds one CP-SAT model over every candidate pair does not get past its
presolve in the time a coordinator waits (measured: > 6 s at 70,000 pairs). A *window*
does: a few dozen placements, every volunteer eligible for them, and the rest of the
current assignment held fixed. CP-SAT re-optimises the window exactly under every rule
(the global ones, budget, shares and caps, see the fixed part as constants), and the
result is kept when the objective tiers are no worse. Windows start where the current
assignment loses points: placements missing a gender, short of their `min_fill`,
or with open slots that unplaced candidates could take; then at random, seeded.

Acceptance is decided on values computed here from the assignment itself
(`tier_values`), never from the solver's view, so a window can only make the round
better by the measure the result reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.constraints.coverage import URGENT
from volmatch.matching.constraints.fairness import SCALE
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies
from volmatch.matching.prepared import Prepared
from volmatch.models import Policy

IntP = NDArray[np.intp]

WINDOW_VOLUNTEERS = 150
"""Volunteers a window aims at: CP-SAT with presolve solves such a window in well under
a second, usually to optimality."""
WINDOW_PLACEMENTS = 12
"""Placements at most in one window."""
PER_GENDER = 5
"""Best candidates of each gender a window takes per placement."""


def tier_names(policy: Policy) -> list[str]:
    """The objective tiers in the order they are optimised (as `rules._build` sets them)."""
    names = ["min_fill"] if policy.min_fill else []
    return names + list(policy.objective)


@dataclass
class Evaluator:
    """Each tier's value for an assignment, counted on arrays."""

    prep: Prepared
    policy: Policy
    prev_pair: dict[int, int]

    def __post_init__(self) -> None:
        c, pairs = self.prep.compiled, self.prep.pairs
        self.need = np.zeros(c.n_placements, dtype=np.int64)
        for level, k in self.policy.min_fill.items():
            at = c.priority == level
            self.need[at] = np.minimum(k, c.capacity[at])
        self.applies = balance_applies(c, pairs) if self.policy.gender_balance else None
        self.prev_idx = np.array([i for i in self.prev_pair.values() if i >= 0], dtype=np.intp)
        if self.policy.fairness_by == "nationality":
            has_pair = np.zeros(c.n_volunteers, dtype=np.bool_)
            has_pair[pairs.v] = True
            self.fair_size = np.bincount(c.nationality[has_pair], minlength=len(c.countries))
        else:
            self.fair_size = np.bincount(c.host, weights=c.capacity, minlength=len(c.hosts)).astype(
                np.int64
            )

    def penalties(self, picked: IntP) -> dict[str, int]:
        """Points each soft rule costs (as `rules._penalty_values`)."""
        policy = self.policy
        out: dict[str, int] = {}
        if self.applies is not None:
            out["gender_balance"] = int(self.gender_misses(picked).sum()) * (
                policy.gender_balance_penalty
            )
        if self.prev_pair and policy.move_cost:
            kept = np.isin(self.prev_idx, picked).sum()
            out["moves"] = (len(self.prev_pair) - int(kept)) * policy.move_cost
        return out

    def breaches(self, picked: IntP, locked: IntP) -> list[str]:
        """The hard rules `picked` breaks (empty: every one holds)."""
        c, pairs, policy = self.prep.compiled, self.prep.pairs, self.policy
        pv, pp = pairs.v[picked], pairs.p[picked]
        out = []
        if len(np.unique(pv)) < len(pv):
            out.append("one placement per volunteer")
        if (np.bincount(pp, minlength=c.n_placements) > c.capacity).any():
            out.append("slots")
        if len(np.setdiff1d(locked, picked)):
            out.append("locked")
        at = np.full(c.n_volunteers, -1, dtype=np.int64)
        at[pv] = pp
        g = c.group
        if (g >= 0).any():
            key = (
                at
                if policy.group_together == "placement"
                else np.where(at >= 0, c.country[np.maximum(at, 0)], -1)
            )
            for members in _groups(g):
                if len(np.unique(key[members])) > 1:
                    out.append("groups")
                    break
        nat = c.nationality[pv].astype(np.int64)
        n_nat = len(c.countries)
        cap = policy.max_same_nationality_per_placement
        if cap is not None and len(pp) and np.bincount(pp * n_nat + nat).max() > cap:
            out.append("nationality_per_placement")
        share = policy.max_nationality_share_per_country
        if share is not None and len(pp):
            co = c.country[pp].astype(np.int64)
            per_c = np.bincount(co, minlength=n_nat)
            per_cn = np.bincount(co * n_nat + nat, minlength=n_nat * n_nat).reshape(n_nat, n_nat)
            limit = round(share * 100) * per_c[:, None] + 100 * policy.nationality_share_allowance
            if (100 * per_cn > limit).any():
                out.append("nationality_share")
        if (
            policy.max_per_host is not None
            and len(pp)
            and np.bincount(c.host[pp]).max() > policy.max_per_host
        ):
            out.append("max_per_host")
        if (
            policy.budget is not None
            and int(placement_costs(c, policy)[pp].sum()) > policy.budget.total
        ):
            out.append("budget")
        if policy.max_moves is not None and self.prev_pair:
            moved = len(self.prev_pair) - int(np.isin(self.prev_idx, picked).sum())
            if moved > policy.max_moves:
                out.append("max_moves")
        return out

    def gender_misses(self, picked: IntP) -> NDArray[np.int64]:
        """Per placement, genders the balance rule misses."""
        c, pairs = self.prep.compiled, self.prep.pairs
        assert self.applies is not None
        load = np.bincount(pairs.p[picked], minlength=c.n_placements)
        applies = self.applies & (load >= 2)
        miss = np.zeros(c.n_placements, dtype=np.int64)
        for g in BALANCED_GENDERS:
            at = pairs.p[picked][c.gender[pairs.v[picked]] == g]
            miss += applies & (np.bincount(at, minlength=c.n_placements) == 0)
        return miss

    def shortfall(self, picked: IntP) -> NDArray[np.int64]:
        """Per placement, volunteers missing to its `min_fill`."""
        got = np.bincount(self.prep.pairs.p[picked], minlength=self.prep.compiled.n_placements)
        short: NDArray[np.int64] = np.maximum(self.need - got, 0)
        return short

    def value(self, name: str, picked: IntP) -> int:
        c, pairs = self.prep.compiled, self.prep.pairs
        if name == "min_fill":
            return -int(self.shortfall(picked).sum())
        if name == "urgent_coverage":
            return int((c.priority[pairs.p[picked]] >= URGENT).sum())
        if name == "fairness":
            key = (
                c.nationality[pairs.v[picked]]
                if self.policy.fairness_by == "nationality"
                else (c.host[pairs.p[picked]])
            )
            got = np.bincount(key, minlength=len(self.fair_size))
            some = self.fair_size > 0
            if not some.any():
                return SCALE
            return int((SCALE * got[some] // self.fair_size[some]).min())
        total = int(self.prep.scores.total[picked].sum())
        return total - sum(self.penalties(picked).values())

    def values(self, picked: IntP) -> list[int]:
        return [self.value(n, picked) for n in tier_names(self.policy)]


def _groups(g: NDArray[np.int32] | NDArray[np.int64]) -> list[IntP]:
    """Members of each group of two or more."""
    order = np.argsort(g, kind="stable")
    order = order[g[order] >= 0]
    cuts = np.flatnonzero(np.diff(g[order])) + 1
    return [m for m in np.split(order, cuts) if len(m) > 1]


@dataclass
class Window:
    free: IntP
    """Pairs the window may change (indices into the round's pairs)."""
    fixed: IntP
    """Chosen pairs held as they are."""
    current: IntP
    """The whole current assignment (the window's starting point)."""


class Neighbourhoods:
    """Windows around a current assignment."""

    def __init__(self, prep: Prepared, locked: IntP, prev_pair: dict[int, int]) -> None:
        c, pairs = prep.compiled, prep.pairs
        self.prep = prep
        self.by_p = np.lexsort((-prep.scores.total, pairs.p))  # best candidates first
        self.p_start = np.searchsorted(pairs.p[self.by_p], np.arange(c.n_placements + 1))
        self.by_v = np.argsort(pairs.v, kind="stable")
        self.v_start = np.searchsorted(pairs.v[self.by_v], np.arange(c.n_volunteers + 1))
        self.prev_of = np.full(c.n_volunteers, -1, dtype=np.intp)
        for v, i in prev_pair.items():
            self.prev_of[v] = i
        self.group_members: dict[int, IntP] = {}
        g = c.group
        for gid in np.unique(g[g >= 0]).tolist():
            self.group_members[gid] = np.flatnonzero(g == gid)
        self.locked_v = np.zeros(c.n_volunteers, dtype=np.bool_)
        self.locked_v[pairs.v[locked]] = True
        self.cap = c.round.policy.max_same_nationality_per_placement

    def best_candidates(self, cand: IntP) -> IntP:
        """A placement's best candidates of each gender (`cand` best first); under a
        cap per nationality, no more of one nationality than the cap lets in, so that
        the window can fill the placement with people it may take together."""
        c, pairs = self.prep.compiled, self.prep.pairs
        gender = c.gender[pairs.v[cand]]
        cap = self.cap
        parts = [cand[:0]]
        for g in np.unique(gender).tolist():
            mine = cand[gender == g]
            if cap is not None and len(mine) > PER_GENDER:
                nat = c.nationality[pairs.v[mine]].astype(np.int64)
                order = np.argsort(nat, kind="stable")
                sn = nat[order]
                occ = np.empty(len(mine), dtype=np.int64)
                occ[order] = np.arange(len(mine)) - np.searchsorted(sn, sn, side="left")
                mine = mine[occ < cap]
            parts.append(mine[:PER_GENDER])
        return np.concatenate(parts)

    def pairs_of_placements(self, ps: IntP) -> IntP:
        parts = [self.by_p[self.p_start[p] : self.p_start[p + 1]] for p in ps.tolist()]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)

    def window(self, seed: int, picked: IntP, rng: np.random.Generator) -> Window:
        """Placements grown from `seed` through the current placements of their best
        candidates (so that swaps and chains fit in); volunteers: those placed there
        and each placement's best candidates of each gender."""
        c, pairs = self.prep.compiled, self.prep.pairs
        at = np.full(c.n_volunteers, -1, dtype=np.intp)
        at[pairs.v[picked]] = picked
        chosen_places = [seed]
        seen = {seed}
        vols: list[IntP] = []
        k = 0
        n_vols = 0
        while k < len(chosen_places) and n_vols < WINDOW_VOLUNTEERS:
            p = chosen_places[k]
            k += 1
            cand = self.by_p[self.p_start[p] : self.p_start[p + 1]]  # best score first
            best = self.best_candidates(cand)
            occupants = picked[pairs.p[picked] == p]
            mine = np.concatenate([pairs.v[best], pairs.v[occupants]])
            vols.append(mine)
            n_vols += len(mine)
            elsewhere = at[pairs.v[best]]
            their = pairs.p[elsewhere[elsewhere >= 0]]
            nxt = [q for q in dict.fromkeys(their.tolist()) if q not in seen]
            if len(nxt) > 3:
                nxt = nxt[:1] + [nxt[i] for i in sorted(rng.choice(len(nxt) - 1, 2) + 1)]
            for q in nxt:
                if q not in seen and len(chosen_places) < WINDOW_PLACEMENTS:
                    seen.add(q)
                    chosen_places.append(q)
        ps = np.array(sorted(chosen_places[:k]), dtype=np.intp)
        return self._window(ps, np.unique(np.concatenate(vols)), picked, at)

    def window_for(self, ps: IntP, more: IntP, picked: IntP) -> Window:
        """The window of the placements `ps`: those placed there, each one's best
        candidates of each gender, and the volunteers `more`."""
        c, pairs = self.prep.compiled, self.prep.pairs
        at = np.full(c.n_volunteers, -1, dtype=np.intp)
        at[pairs.v[picked]] = picked
        vols: list[IntP] = [more.astype(np.intp)]
        for p in ps.tolist():
            cand = self.by_p[self.p_start[p] : self.p_start[p + 1]]
            vols.append(pairs.v[self.best_candidates(cand)].astype(np.intp))
        vols.append(pairs.v[picked[np.isin(pairs.p[picked], ps)]].astype(np.intp))
        return self._window(np.unique(ps).astype(np.intp), np.unique(np.concatenate(vols)),
                            picked, at)

    def _window(self, ps: IntP, v_w: IntP, picked: IntP, at: IntP) -> Window:
        c, pairs = self.prep.compiled, self.prep.pairs
        # whole groups, or their constraints would see half a group
        gs = np.unique(c.group[v_w][c.group[v_w] >= 0]).tolist()
        if gs:
            v_w = np.union1d(v_w, np.concatenate([self.group_members[g] for g in gs]))
        in_w = np.zeros(c.n_volunteers, dtype=np.bool_)
        in_w[v_w] = True
        into = self.pairs_of_placements(ps)
        extra = [into[in_w[pairs.v[into]]], at[v_w], self.prev_of[v_w]]
        for g in gs:  # group members' own options, so a group can move as one
            for v in self.group_members[g].tolist():
                extra.append(self.by_v[self.v_start[v] : self.v_start[v + 1]])
        more = np.concatenate(extra)
        free = np.unique(more[more >= 0]).astype(np.intp)
        fixed = picked[~in_w[pairs.v[picked]]]
        return Window(free=free, fixed=fixed.astype(np.intp), current=picked)


def seeds(ev: Evaluator, picked: IntP, name: str) -> list[int]:
    """Placements where the tier `name` loses points in the current assignment."""
    prep = ev.prep
    c, pairs = prep.compiled, prep.pairs
    load = np.bincount(pairs.p[picked], minlength=c.n_placements)
    placed = np.zeros(c.n_volunteers, dtype=np.bool_)
    placed[pairs.v[picked]] = True
    open_ = load < c.capacity
    wanted = np.zeros(c.n_placements, dtype=np.bool_)
    wanted[pairs.p[~placed[pairs.v]]] = True  # an unplaced volunteer is eligible there
    if name == "min_fill":
        out = np.flatnonzero(ev.shortfall(picked) > 0)
    elif name == "urgent_coverage":
        out = np.flatnonzero((c.priority >= URGENT) & open_ & wanted)
    elif name == "fairness":
        out = np.zeros(0, dtype=np.intp)
    else:
        parts = []
        if ev.applies is not None:
            parts.append(np.flatnonzero(ev.gender_misses(picked) > 0))
        parts.append(np.flatnonzero(open_ & wanted))
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)
        _, first = np.unique(out, return_index=True)
        out = out[np.sort(first)]
    return [int(p) for p in out.tolist()]


def guided_groups(
    prep: Prepared,
    policy: Policy,
    picked: IntP,
    guide: IntP,
    size: int,
    rng: np.random.Generator | None = None,
) -> list[tuple[IntP, IntP]]:
    """Windows where a guide (the placement-by-placement bound's choices) differs from
    the current assignment: placements joined when the guide moves a volunteer between
    them, these pieces then packed `size` placements to a window, pieces that spend
    more of the budget beside pieces that spend less (the budget ties placements that
    no volunteer joins: measured at 10,000 x 2,000, most pieces are one placement, and
    windows grown from candidates alone never brought a budget trade together).
    Returns (placements, the guide's volunteers there) per window."""
    c, pairs = prep.compiled, prep.pairs
    n_p = c.n_placements
    here = np.full(c.n_volunteers, -1, dtype=np.int64)
    there = np.full(c.n_volunteers, -1, dtype=np.int64)
    here[pairs.v[picked]] = pairs.p[picked]
    there[pairs.v[guide]] = pairs.p[guide]
    moved = np.flatnonzero(here != there)
    if len(moved) == 0:
        return []
    # union-find over placements, joined by each moved volunteer's two placements
    root = np.arange(n_p)

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = int(root[x])
        return x

    touched = set()
    for v in moved.tolist():
        a, b = int(here[v]), int(there[v])
        for x in (a, b):
            if x >= 0:
                touched.add(x)
        if a >= 0 and b >= 0:
            ra, rb = find(a), find(b)
            if ra != rb:
                root[ra] = rb
    pieces: dict[int, list[int]] = {}
    for p in sorted(touched):
        pieces.setdefault(find(p), []).append(p)
    cost = placement_costs(c, policy).astype(np.int64)
    load_now = np.bincount(pairs.p[picked], minlength=n_p)
    load_guide = np.bincount(pairs.p[guide], minlength=n_p)
    delta = {
        r: int(((load_guide[ps] - load_now[ps]) * cost[ps]).sum()) for r, ps in pieces.items()
    }
    order = sorted(pieces, key=lambda r: (delta[r], pieces[r][0]))
    if rng is not None:
        # other partners each round: shuffled within the spenders and the savers
        spend = [r for r in order if delta[r] > 0]
        save = [r for r in order if delta[r] <= 0]
        rng.shuffle(spend)
        rng.shuffle(save)
        order = save + spend
    windows: list[tuple[IntP, IntP]] = []
    lo, hi = 0, len(order) - 1
    current: list[int] = []
    take_low = True
    while lo <= hi:
        r = order[lo] if take_low else order[hi]
        if take_low:
            lo += 1
        else:
            hi -= 1
        take_low = not take_low
        if current and len(current) + len(pieces[r]) > size:
            windows.append(_guided(current, guide, pairs))
            current = []
        current.extend(pieces[r])
    if current:
        windows.append(_guided(current, guide, pairs))
    return windows


def _guided(ps: list[int], guide: IntP, pairs: Any) -> tuple[IntP, IntP]:
    arr = np.array(sorted(ps), dtype=np.intp)
    vols = pairs.v[guide[np.isin(pairs.p[guide], arr)]].astype(np.intp)
    return arr, vols


SolveWindow = Callable[[Window, list[str], str, float], "tuple[IntP, bool] | None"]
"""(window, tiers to keep no worse, tier to maximise, seconds) -> the window's chosen
free pairs and whether that is proven best for the whole round (a window without fixed
pairs solved to optimality), or None when CP-SAT found nothing."""

GUIDED_PLACEMENTS = 12
GUIDED_ROUNDS = 3
"""Times the guide's remaining differences are packed anew after a round of them
gained anything."""

STALE_WINDOWS = 20
"""Windows in a row without any gain after which a tier is left (at least; more on
rounds with many placements)."""


def improve(
    prep: Prepared,
    policy: Policy,
    picked: IntP,
    locked: IntP,
    prev_pair: dict[int, int],
    solve_window: SolveWindow,
    deadline: float,
    floors: dict[str, int] | None = None,
    guide: IntP | None = None,
    fresh_guide: Callable[[], IntP | None] | None = None,
) -> tuple[IntP, dict[str, int], dict[str, object]]:
    """Improve `picked` window by window until `deadline` (a perf_counter() value).

    Tiers before the last are first improved where they lose points (each with a
    share of the time), then kept at least at `floors` while the last tier is
    improved. A tier is left early when a window held the whole round and was solved
    to optimality, or after many windows without gain (small rounds finish well
    before the clock, so their results do not depend on it). `guide` (an assignment,
    or nearly one, worth more) sets the last tier's first windows: where it differs;
    `fresh_guide` may offer a newer one when those are done. Returns the new
    assignment, the floors and statistics.
    """
    ev = Evaluator(prep, policy, prev_pair)
    names = tier_names(policy)
    hood = Neighbourhoods(prep, locked, prev_pair)
    rng = np.random.default_rng(policy.seed)
    current = np.sort(picked).astype(np.intp)
    values = ev.values(current)
    floors = dict(floors or {})
    stats = {"windows": 0, "accepted": 0, "improved": 0}
    start = time.perf_counter()
    stale_limit = max(STALE_WINDOWS, 2 * prep.compiled.n_placements)
    for k, name in enumerate(names):
        last = k == len(names) - 1
        if name in floors and not last:
            continue  # CP-SAT already optimised this tier
        if last:
            until = deadline
        else:
            until = min(deadline, time.perf_counter() + 0.2 * max(0.0, deadline - start))
        tried: set[int] = set()
        queue = seeds(ev, current, name)
        guided: list[tuple[IntP, IntP]] = []
        if last and guide is not None:
            guided = guided_groups(prep, policy, current, guide, GUIDED_PLACEMENTS)
        rounds, gained = 0, False
        stale = 0
        while time.perf_counter() < until - 0.1 and stale < stale_limit:
            if last and not guided and fresh_guide is not None:
                newer = fresh_guide()
                if newer is not None and newer is not guide:
                    guide, rounds = newer, 0
                    stats["guides"] = stats.get("guides", 1) + 1
                    guided = guided_groups(prep, policy, current, guide, GUIDED_PLACEMENTS)
            if not guided and gained and guide is not None and rounds < GUIDED_ROUNDS:
                # what is left of the difference, packed anew
                rounds, gained = rounds + 1, False
                guided = guided_groups(prep, policy, current, guide, GUIDED_PLACEMENTS, rng)
            if guided:
                ps, vols = guided.pop(0)
                win = hood.window_for(ps, vols, current)
                stats["guided"] = stats.get("guided", 0) + 1
            else:
                if not queue:
                    if not last:
                        break
                    queue = [p for p in seeds(ev, current, name) if p not in tried] or [
                        int(rng.integers(prep.compiled.n_placements))
                    ]
                seed = queue.pop(0)
                if seed in tried and not last:
                    continue
                tried.add(seed)
                win = hood.window(seed, current, rng)
            floor_list = [floors.get(n, values[j]) for j, n in enumerate(names[:k])]
            remaining = until - time.perf_counter()
            got = solve_window(win, names[:k], name, min(remaining, 2.0))
            stats["windows"] += 1
            stale += 1
            if got is None:
                continue
            free, whole = got
            cand = np.sort(np.concatenate([win.fixed, free])).astype(np.intp)
            new = ev.values(cand)
            keeps = all(new[j] >= floor_list[j] for j in range(k))
            if keeps and new[k] >= values[k]:
                stats["accepted"] += 1
                if new[k] > values[k]:
                    stats["improved"] += 1
                    stale = 0
                    gained = True
                current, values = cand, new
                if not last:
                    queue = [p for p in seeds(ev, current, name) if p not in tried]
            if whole:
                break
        if not last:
            best = values[k]
            tol = 0.0 if name == "min_fill" else policy.objective_tolerance
            floors[name] = best - int(abs(best) * tol)
    return current, floors, dict(stats)
