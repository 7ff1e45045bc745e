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

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.neighbourhoods import Neighbourhoods, Window, guided_groups, seeds
from volmatch.matching.rules.objective import tier_names
from volmatch.models import Policy

IntP = NDArray[np.intp]


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
