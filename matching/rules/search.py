"""Large-neighbourhood search for large rounds with policy rules.

One CP-SAT model over every candidate pair of a large round does not get past its
presolve in the time a coordinator waits; a window (`matching.rules.neighbourhoods`)
does. CP-SAT re-optimises the window exactly under every rule (the global ones,
budget, shares and caps, see the fixed part as constants), and the result is kept when
the objective tiers, counted by `matching.rules.evaluate`, are no worse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.group_moves import group_moves
from volmatch.matching.rules.host_chains import host_chain_moves
from volmatch.matching.rules.local import Local, Move, View, run_moves
from volmatch.matching.rules.nationality_exchanges import nationality_moves
from volmatch.matching.rules.neighbourhoods import Neighbourhoods, Window, guided_groups, seeds
from volmatch.matching.rules.objective import tier_names
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Policy

IntP = NDArray[np.intp]


SolveWindow = Callable[[Window, list[str], str, float], "tuple[IntP, bool] | None"]
"""(window, tiers to keep no worse, tier to maximise, seconds) -> the window's chosen
free pairs and whether that is proven best for the whole round (a window without fixed
pairs solved to optimality), or None when CP-SAT found nothing."""
GUIDED_PLACEMENTS = 12
"""Placements a guided window packs (as many as a window grown from a seed holds)."""
GUIDED_ROUNDS = 3
"""Times the guide's remaining differences are packed anew after a round of them
gained anything."""
STALE_WINDOWS = 20
"""Windows in a row without any gain after which a tier is left (at least; more on
rounds with many placements)."""
EARLY_TIER_SHARE = 0.2
"""Share of the time left that each tier before the last gets, so that the last
(usually the score) keeps most of it."""
STOP_MARGIN = 0.1
"""Seconds before a tier's deadline after which no window starts (a window takes
about that long)."""
WINDOW_SECONDS = 2.0
"""Wall clock one window may take at most (its effort limit usually stops it first)."""
STALL_WINDOWS = 8
"""Windows in a row without gain after which the search switches neighbourhood: the
local moves of the coupling rules (groups, host caps, nationality caps), then a
restart from a perturbed incumbent. Fewer switch before the windows had a fair try."""
LOCAL_PASSES = 3
"""Passes of one local neighbourhood at most per switch (a pass offers its moves on
the assignment it found; later passes find what earlier moves made room for)."""
RESTARTS = 3
"""Restarts from a perturbed incumbent per tier at most: each costs the windows that
repair it, and past a few the best found seldom changes."""
PERTURB_SHARE = 0.03
"""Share of the placed volunteers (not locked, in no group, with no previous pair) a
restart takes out, for the windows to place anew: enough to leave the incumbent's
basin, few enough that the windows repair it before the clock."""
PERTURB_MIN = 2
"""Volunteers a restart takes out at least."""
PERTURB_MAX = 40
"""Volunteers a restart takes out at most: about what a few windows place anew, so
that a large round's restart is repaired before its clock runs out."""

FRESH_STARTS = 2
"""Guides that come after the start whose greedy repair is offered as a start: the
bound's flow and then the placements' choices (each worth a repair, up to a second of
greedy under load for groups); later choices differ from those in a few placements,
which the windows fix."""

LocalHood = Callable[[Local, View], list[Move]]
"""A local neighbourhood: the moves it offers on an assignment."""


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
    fresh_start: Callable[[IntP], IntP | None] | None = None,
    watch: StopWatch = NO_STOP,
) -> tuple[IntP, dict[str, int], dict[str, object]]:
    """Improve `picked` window by window until `deadline` (a perf_counter() value).

    Tiers before the last are first improved where they lose points (each with a
    share of the time), then kept at least at `floors` while the last tier is
    improved. A tier is left early when a window held the whole round and was solved
    to optimality, or after many windows without gain (small rounds finish well
    before the clock, so their results do not depend on it). `guide` (an assignment,
    or nearly one, worth more) sets the last tier's first windows: where it differs;
    `fresh_guide` may offer a newer one when those are done; `fresh_start` repairs
    the first guide that comes when the search began without one, and that repair
    replaces the assignment when it is better (`FRESH_STARTS`). Returns the new
    assignment, the floors and statistics; raises `Stopped` between two windows (or
    local moves) once `watch` says stop.
    """
    search = _Search(
        prep, policy, picked, locked, prev_pair, solve_window, floors, guide, fresh_guide
    )
    search.fresh_start = fresh_start
    search.watch = watch
    start = time.perf_counter()
    names = search.names
    for k, name in enumerate(names):
        last = k == len(names) - 1
        if name in search.floors and not last:
            continue  # CP-SAT already optimised this tier
        if last:
            until = deadline
        else:
            until = min(
                deadline, time.perf_counter() + EARLY_TIER_SHARE * max(0.0, deadline - start)
            )
        search.run_tier(k, until)
        if not last:
            best = search.values[k]
            tol = 0.0 if name == "min_fill" else policy.objective_tolerance
            search.floors[name] = best - int(abs(best) * tol)
    return search.current, search.floors, dict(search.stats)


@dataclass
class _Tier:
    """One tier's search so far."""

    k: int
    """The tier's position in the order."""
    name: str
    last: bool
    """Whether this is the last tier (which runs until the deadline)."""
    queue: list[int]
    """Placements to grow the next windows from."""
    tried: set[int] = field(default_factory=set)
    """Placements windows were grown from already."""
    guided: list[tuple[IntP, IntP]] = field(default_factory=list)
    """Guided windows still to solve: (placements, the guide's volunteers there)."""
    rounds: int = 0
    """Times the guide's differences were packed anew."""
    gained: bool = False
    """Whether a window gained since the guide's differences were last packed."""
    stale: int = 0
    """Windows in a row without gain."""
    switched: int = 0
    """The stale count at which the search last switched neighbourhood without gain
    (the next switch waits `STALL_WINDOWS` more)."""
    restarts: int = 0
    """Restarts from a perturbed incumbent so far."""
    incumbent: tuple[IntP, list[int]] | None = None
    """The best assignment before the last restart (None: no restart running)."""


class _Search:
    """The state of one search: the current assignment, its tier values and floors,
    the guide, and the statistics."""

    def __init__(
        self,
        prep: Prepared,
        policy: Policy,
        picked: IntP,
        locked: IntP,
        prev_pair: dict[int, int],
        solve_window: SolveWindow,
        floors: dict[str, int] | None,
        guide: IntP | None,
        fresh_guide: Callable[[], IntP | None] | None,
    ) -> None:
        self.prep, self.policy, self.solve_window = prep, policy, solve_window
        self.ev = Evaluator(prep, policy, prev_pair)
        self.names = tier_names(policy)
        self.hood = Neighbourhoods(prep, locked, prev_pair)
        self.rng = np.random.default_rng(policy.seed)
        self.current = np.sort(picked).astype(np.intp)
        self.values = self.ev.values(self.current)
        self.floors = dict(floors or {})
        self.stats = {"windows": 0, "accepted": 0, "improved": 0}
        self.guide, self.fresh_guide = guide, fresh_guide
        self.stale_limit = max(STALE_WINDOWS, 2 * prep.compiled.n_placements)
        self.prev_v = np.array(sorted(prev_pair), dtype=np.intp)
        self.locked = np.asarray(locked, dtype=np.intp)
        self._local: Local | None = None
        self.fresh_start: Callable[[IntP], IntP | None] | None = None
        self.watch: StopWatch = NO_STOP
        self.fresh_starts = 0
        # the local neighbourhoods of the rules this round has
        self.hoods: list[tuple[str, LocalHood]] = []
        if (prep.compiled.group >= 0).any():
            self.hoods.append(("group_moves", group_moves))
        if policy.max_per_host is not None:
            self.hoods.append(("host_chains", host_chain_moves))
        if policy.max_same_nationality_per_placement is not None:
            self.hoods.append(("nationality_exchanges", nationality_moves))

    def run_tier(self, k: int, until: float) -> None:
        """Improve tier k (the earlier ones kept at their floors) until `until`."""
        name = self.names[k]
        last = k == len(self.names) - 1
        tier = _Tier(k, name, last, seeds(self.ev, self.current, name))
        if last and self.guide is not None:
            tier.guided = self._guided_windows(self.guide)
        while time.perf_counter() < until - STOP_MARGIN and tier.stale < self.stale_limit:
            self.watch.check()
            if last:
                self._fresh_start(tier)
            if tier.stale >= tier.switched + STALL_WINDOWS:
                tier.switched = tier.stale
                self._switch(tier, until - STOP_MARGIN)
                continue
            win = self._next_window(tier)
            if win == "stop":
                break
            if isinstance(win, Window) and self._try(tier, win, until):
                break
        self._back_to_incumbent(tier)

    def _fresh_start(self, tier: _Tier) -> None:
        """Before each window of the last tier, while a fresh start is still to be
        offered: the guide that has come since the start, repaired and taken when
        better (`_start_from`), and guiding the windows from then on. Waiting for the
        guided windows to run out first left the repair to the last seconds."""
        if self.fresh_start is None or self.fresh_starts >= FRESH_STARTS:
            return
        newer = self.fresh_guide() if self.fresh_guide is not None else None
        if newer is None or newer is self.guide:
            return
        self.guide, tier.rounds = newer, 0
        self.stats["guides"] = self.stats.get("guides", 1) + 1
        self._start_from(tier, newer)
        tier.guided = self._guided_windows(self.guide)

    def _start_from(self, tier: _Tier, guide: IntP) -> None:
        """The repair of a guide that came after the start (`fresh_start`), kept when
        it keeps every hard rule and the earlier tiers' floors and is better on this
        tier (at most `FRESH_STARTS` times)."""
        if self.fresh_start is None or self.fresh_starts >= FRESH_STARTS:
            return
        self.fresh_starts += 1
        cand = self.fresh_start(guide)
        if cand is None:
            return  # no time left for a repair
        vals = self.ev.values(cand)
        floors = [self.floors.get(m, self.values[j]) for j, m in enumerate(self.names[: tier.k])]
        if any(vals[j] < floors[j] for j in range(tier.k)) or vals[tier.k] <= self.values[tier.k]:
            return
        if self.ev.breaches(cand, self.locked):
            return
        self.stats["fresh_starts"] = self.stats.get("fresh_starts", 0) + 1
        self._keep(cand, vals)
        tier.stale = tier.switched = 0
        tier.gained = True

    def _back_to_incumbent(self, tier: _Tier) -> None:
        """After restarts, the best of the incumbent and the current assignment on
        this tier (both keep the earlier tiers' floors)."""
        if tier.incumbent is not None and tier.incumbent[1][tier.k] > self.values[tier.k]:
            self.current, self.values = tier.incumbent
        tier.incumbent = None

    @property
    def local(self) -> Local:
        """The round seen for local moves, built when the windows first stall (its
        sorts of every pair cost a large round's search time it may never need)."""
        if self._local is None:
            self._local = Local(self.prep, self.policy, self.ev, self.locked)
        return self._local

    def _keep(self, picked: IntP, values: list[int]) -> None:
        """Make `picked` the current assignment."""
        self.current, self.values = picked, values

    def _switch(self, tier: _Tier, until: float) -> None:
        """The windows stalled: the local neighbourhoods of the coupling rules in turn,
        each until it gains no more; when none gains, a restart from the incumbent
        perturbed (up to `RESTARTS` per tier), with the guide's differences packed
        anew so that the windows go where the bound and the incumbent disagree."""
        for name, hood in self.hoods:
            counts: dict[str, int] = {}
            picked, values, kept = run_moves(
                self.local,
                self.current,
                hood,
                self.values,
                LOCAL_PASSES,
                until,
                counts,
                self.watch.stopped,
            )
            self.watch.check()
            self.stats[f"{name}_offered"] = self.stats.get(f"{name}_offered", 0) + counts.get(
                "offered", 0
            )
            if kept:
                self.stats[name] = self.stats.get(name, 0) + kept
                self._keep(picked, values)
                tier.stale = tier.switched = 0
                tier.gained = True
                return
        if tier.restarts >= RESTARTS:
            return
        tier.restarts += 1
        self._back_to_incumbent(tier)
        tier.incumbent = (self.current, self.values)
        perturbed = self._perturbed(tier)
        if perturbed is None:
            tier.incumbent = None
            return
        self.stats["restarts"] = self.stats.get("restarts", 0) + 1
        self._keep(perturbed, self.ev.values(perturbed))
        tier.stale = tier.switched = 0
        tier.tried.clear()
        tier.queue = seeds(self.ev, self.current, tier.name)
        newer = self.fresh_guide() if self.fresh_guide is not None else None
        if newer is not None:
            self.guide = newer
        if self.guide is not None:
            tier.rounds = 0
            tier.guided = self._guided_windows(self.guide, self.rng)

    def _perturbed(self, tier: _Tier) -> IntP | None:
        """The incumbent with a few volunteers taken out (`PERTURB_SHARE`), drawn
        from those that leaving breaks no rule for, where the guide places them
        elsewhere when it does; None when every draw breaks a rule or an earlier
        tier's floor."""
        pairs = self.prep.pairs
        pv = pairs.v[self.current]
        free = ~self.local.fixed_v[pv] & ~self.local.grouped[pv] & ~np.isin(pv, self.prev_v)
        if self.guide is not None:
            # where the bound and the incumbent disagree: the guide places them elsewhere
            there = np.full(self.prep.compiled.n_volunteers, -1, dtype=np.int64)
            there[pairs.v[self.guide]] = pairs.p[self.guide]
            differs = free & (there[pv] != pairs.p[self.current])
            if differs.any():
                free = differs
        pool = np.flatnonzero(free)
        n = min(PERTURB_MAX, max(PERTURB_MIN, int(PERTURB_SHARE * len(self.current))))
        while n >= 1 and len(pool):
            out = self.rng.choice(pool, size=min(n, len(pool)), replace=False)
            cand = np.delete(self.current, out).astype(np.intp)
            vals = self.ev.values(cand)
            floors = [
                self.floors.get(m, self.values[j]) for j, m in enumerate(self.names[: tier.k])
            ]
            keeps = all(vals[j] >= floors[j] for j in range(tier.k))
            if keeps and not self.ev.breaches(cand, self.local.locked):
                return cand
            n //= 2
        return None

    def _guided_windows(
        self, guide: IntP, rng: np.random.Generator | None = None
    ) -> list[tuple[IntP, IntP]]:
        return guided_groups(self.prep, self.policy, self.current, guide, GUIDED_PLACEMENTS, rng)

    def _next_window(self, tier: _Tier) -> Window | Literal["stop", "skip"]:
        """The next window: a guided one while there are, else one grown from the next
        seed placement ("stop": an early tier has no seed left; "skip": the seed was
        tried already)."""
        if tier.last and not tier.guided and self.fresh_guide is not None:
            newer = self.fresh_guide()
            if newer is not None and newer is not self.guide:
                self.guide, tier.rounds = newer, 0
                self.stats["guides"] = self.stats.get("guides", 1) + 1
                self._start_from(tier, newer)
                tier.guided = self._guided_windows(self.guide)
        if (
            not tier.guided
            and tier.gained
            and self.guide is not None
            and tier.rounds < GUIDED_ROUNDS
        ):
            # what is left of the difference, packed anew
            tier.rounds, tier.gained = tier.rounds + 1, False
            tier.guided = self._guided_windows(self.guide, self.rng)
        if tier.guided:
            ps, vols = tier.guided.pop(0)
            self.stats["guided"] = self.stats.get("guided", 0) + 1
            return self.hood.window_for(ps, vols, self.current)
        if not tier.queue:
            if not tier.last:
                return "stop"
            tier.queue = [
                p for p in seeds(self.ev, self.current, tier.name) if p not in tier.tried
            ] or [int(self.rng.integers(self.prep.compiled.n_placements))]
        seed = tier.queue.pop(0)
        if seed in tier.tried and not tier.last:
            return "skip"
        tier.tried.add(seed)
        return self.hood.window(seed, self.current, self.rng)

    def _try(self, tier: _Tier, win: Window, until: float) -> bool:
        """Solve a window and keep its result when no tier gets worse; returns whether
        the window held the whole round and was solved to optimality (nothing left)."""
        k, names, values = tier.k, self.names, self.values
        floor_list = [self.floors.get(n, values[j]) for j, n in enumerate(names[:k])]
        remaining = until - time.perf_counter()
        got = self.solve_window(win, names[:k], tier.name, min(remaining, WINDOW_SECONDS))
        self.stats["windows"] += 1
        tier.stale += 1
        if got is None:
            return False
        free, whole = got
        cand = np.sort(np.concatenate([win.fixed, free])).astype(np.intp)
        new = self.ev.values(cand)
        keeps = all(new[j] >= floor_list[j] for j in range(k))
        if keeps and new[k] >= values[k]:
            self.stats["accepted"] += 1
            if new[k] > values[k]:
                self.stats["improved"] += 1
                tier.stale = 0
                tier.gained = True
            self._keep(cand, new)
            if not tier.last:
                tier.queue = [
                    p for p in seeds(self.ev, self.current, tier.name) if p not in tier.tried
                ]
        return whole
