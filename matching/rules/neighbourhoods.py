"""Windows of the neighbourhood search: a few dozen placements, every volunteer eligible
for them, and the rest of the current assignment held fixed.

Windows grow from a placement where the current assignment loses points (a missing
gender, a `min_fill` shortfall, open slots that unplaced candidates could take) or
from one drawn at random, seeded; guided windows go where a guide (the bound's
choices) differs from the assignment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.eligibility import Pairs
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.models import Policy
from volmatch.models.codes import URGENT_PRIORITY

IntP = NDArray[np.intp]


WINDOW_VOLUNTEERS = 150
"""Volunteers a window aims at: CP-SAT with presolve solves such a window in well under
a second, usually to optimality."""
WINDOW_PLACEMENTS = 12
"""Placements at most in one window."""
GROUP_PLACES = 3
"""Places (placements, or host countries) a group brings its members' pairs from into
a window beyond the window's own placements: its best ones, where it would go."""
PER_GENDER = 5
"""Best candidates of each gender a window takes per placement."""


@dataclass
class Window:
    """A window of the search: the pairs it may change and the rest held fixed."""

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
        self._options: dict[int, tuple[IntP, IntP, IntP]] = {}

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

    def group_options(self, g: int, ps: IntP) -> IntP:
        """The pairs a group brings into a window of the placements `ps`: every
        member's pairs at the group's `GROUP_PLACES` best places (placements, or host
        countries under `group_together: country`) where all of them can go, by the
        members' best scores there summed, and (by country) in the countries of `ps`,
        so that a member can join a window's placement with the others elsewhere in
        its country. Every pair of every member made windows of couples 2,900
        variables at 10,000 x 2,000 (a fifth of a second each), most of them at
        places the group would never go."""
        best, idx, where = self._group_places(g)
        if self.prep.compiled.round.policy.group_together != "country":
            return best
        c = self.prep.compiled
        return np.union1d(best, idx[np.isin(where, c.country[ps])]).astype(np.intp)

    def _group_places(self, g: int) -> tuple[IntP, IntP, IntP]:
        """A group's pairs at its best places (see `group_options`), every member's
        pairs, and where each of those puts its volunteer (computed once a group)."""
        got = self._options.get(g)
        if got is not None:
            return got
        c, pairs, score = self.prep.compiled, self.prep.pairs, self.prep.scores.total
        members = self.group_members[g].tolist()
        own = [self.by_v[self.v_start[v] : self.v_start[v + 1]] for v in members]
        idx = np.concatenate(own) if own else np.zeros(0, dtype=np.intp)
        by_country = c.round.policy.group_together == "country"
        where = c.country[pairs.p[idx]] if by_country else pairs.p[idx]
        value: dict[int, int] = {}
        reach: dict[int, int] = {}
        start = 0
        for part in own:
            best: dict[int, int] = {}
            for w, sc in zip(
                where[start : start + len(part)].tolist(), score[part].tolist(), strict=True
            ):
                if sc > best.get(w, -(2**62)):
                    best[w] = sc
            start += len(part)
            for w, sc in best.items():
                value[w] = value.get(w, 0) + sc
                reach[w] = reach.get(w, 0) + 1
        places = sorted(
            (w for w, k in reach.items() if k == len(members)), key=lambda w: -value[w]
        )[:GROUP_PLACES]
        got = (idx[np.isin(where, places)].astype(np.intp), idx, where.astype(np.intp))
        self._options[g] = got
        return got

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
        return self._window(
            np.unique(ps).astype(np.intp), np.unique(np.concatenate(vols)), picked, at
        )

    def _window(self, ps: IntP, v_w: IntP, picked: IntP, at: IntP) -> Window:
        """The window of the placements `ps` and the volunteers `v_w`, groups made whole."""
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
            extra.append(self.group_options(g, ps))
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
        out = np.flatnonzero((c.priority >= URGENT_PRIORITY) & open_ & wanted)
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
    no volunteer joins: most pieces are one placement, and windows grown from
    candidates alone seldom bring a budget trade together). Returns (placements, the
    guide's volunteers there) per window."""
    pieces = _moved_pieces(prep, picked, guide)
    if not pieces:
        return []
    c, pairs = prep.compiled, prep.pairs
    cost = placement_costs(c, policy).astype(np.int64)
    load_now = np.bincount(pairs.p[picked], minlength=c.n_placements)
    load_guide = np.bincount(pairs.p[guide], minlength=c.n_placements)
    delta = {r: int(((load_guide[ps] - load_now[ps]) * cost[ps]).sum()) for r, ps in pieces.items()}
    order = sorted(pieces, key=lambda r: (delta[r], pieces[r][0]))
    if rng is not None:
        # other partners each round: shuffled within the spenders and the savers
        spend = [r for r in order if delta[r] > 0]
        save = [r for r in order if delta[r] <= 0]
        rng.shuffle(spend)
        rng.shuffle(save)
        order = save + spend
    return [_guided(ps, guide, pairs) for ps in _pack_ends(order, pieces, size)]


def _moved_pieces(prep: Prepared, picked: IntP, guide: IntP) -> dict[int, list[int]]:
    """The placements where the guide differs from `picked`, joined into pieces by each
    volunteer the guide moves between two of them (union-find): root -> placements."""
    c, pairs = prep.compiled, prep.pairs
    here = np.full(c.n_volunteers, -1, dtype=np.int64)
    there = np.full(c.n_volunteers, -1, dtype=np.int64)
    here[pairs.v[picked]] = pairs.p[picked]
    there[pairs.v[guide]] = pairs.p[guide]
    moved = np.flatnonzero(here != there)
    if len(moved) == 0:
        return {}
    root = np.arange(c.n_placements)

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
    return pieces


def _pack_ends(order: list[int], pieces: dict[int, list[int]], size: int) -> list[list[int]]:
    """The pieces packed `size` placements to a window (a piece larger than that makes
    a window of its own), taken alternately from both ends of `order`."""
    windows: list[list[int]] = []
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
            windows.append(current)
            current = []
        current.extend(pieces[r])
    if current:
        windows.append(current)
    return windows


def _guided(ps: list[int], guide: IntP, pairs: Pairs) -> tuple[IntP, IntP]:
    """A guided window: its placements, and the guide's volunteers there."""
    arr = np.array(sorted(ps), dtype=np.intp)
    vols = pairs.v[guide[np.isin(pairs.p[guide], arr)]].astype(np.intp)
    return arr, vols
