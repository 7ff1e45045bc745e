"""Advice for one need or one volunteer, warm and cold, at the ladder's largest size.

    python -m benchmarks.advice_bench [--volunteers 100000] [--placements 20000] [--needs 20]

Generates a round, prepares and solves it once (the warm state the service keeps per
round version), then times, per need of a sample: the feasibility of the need as a
draft (per-rule counts, smallest changes, availability), the top-10 by exact regret for
a need of the round, for the need as a draft (one new slot, and three) and for a
volunteer. Cold:
compiling the stored round and the feasibility of one draft, against the round's own
compile + eligibility. Baselines in the same process: every hard rule checked on every
volunteer for one need (`check_rules`, what a feasibility count costs without the
requirement split), and one full re-solve of the flow with one pair forced (what one
regret costs without the residual network). Prints a table and writes JSON to
benchmarks/results/advice-<size>.json with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, write_results
from volmatch.matching import check_rules, compile_round, find_pairs, prepare
from volmatch.matching.advice import (
    advice_base,
    advise_placement,
    recommend_for_draft,
    recommend_for_placement,
    recommend_for_volunteer,
)
from volmatch.matching.feasibility import feasibility
from volmatch.matching.flow import max_score_assignment
from volmatch.matching.solve import solve_prepared
from volmatch.models import parse_round

MULTI_SLOTS = 3
"""Slots of the multi-slot drafts: each slot filled costs a residual network build."""
MULTI_SAMPLE = 3
"""Multi-slot drafts timed: seconds each at 100,000 volunteers."""


def _median_ms(fn: object, items: list[object]) -> float:
    times = []
    for x in items:
        t0 = time.perf_counter()
        fn(x)  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--volunteers", type=int, default=100_000)
    ap.add_argument("--placements", type=int, default=20_000)
    ap.add_argument("--needs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    r = parse_round(generate_round(args.volunteers, args.placements, seed=args.seed))
    t0 = time.perf_counter()
    c0 = compile_round(r)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    find_pairs(c0)
    t_elig = time.perf_counter() - t0
    t0 = time.perf_counter()
    c1 = compile_round(r)
    draft0 = c1.placements[0].model_copy(update={"id": "DRAFT"})
    feasibility(c1, draft0)
    t_cold = time.perf_counter() - t0
    del c0, c1
    t0 = time.perf_counter()
    prep = prepare(r)
    sol = solve_prepared(prep)
    base = advice_base(prep, sol.chosen, exact=True)
    t_warmup = time.perf_counter() - t0
    c = prep.compiled
    rng = np.random.default_rng(args.seed)
    needs = rng.choice(c.n_placements, size=min(args.needs, c.n_placements), replace=False)
    vols = rng.choice(c.n_volunteers, size=min(args.needs, c.n_volunteers), replace=False)
    drafts = [c.placements[int(p)].model_copy(update={"id": f"D{int(p)}"}) for p in needs]
    # warm the caches a first request builds (calendar, open demand)
    advise_placement(base, drafts[0], recommend=False)
    rows = {
        "feasibility of a draft (ms)": _median_ms(
            lambda d: advise_placement(base, d, recommend=False), drafts
        ),
        "top-10 for a need of the round (ms)": _median_ms(
            lambda p: recommend_for_placement(base, int(p), 10), list(needs)
        ),
        "top-10 for a draft need (ms)": _median_ms(
            lambda d: recommend_for_draft(base, d, feasibility(c, d).eligible, 10), drafts
        ),
        "top-10 for a draft need of 3 slots (ms)": _median_ms(
            lambda d: recommend_for_draft(base, d, feasibility(c, d).eligible, 10),
            [d.model_copy(update={"slots": MULTI_SLOTS}) for d in drafts[:MULTI_SAMPLE]],
        ),
        "top-10 for a volunteer (ms)": _median_ms(
            lambda v: recommend_for_volunteer(base, int(v), 10), list(vols)
        ),
        "baseline: check_rules on the pool for one need (ms)": _median_ms(
            lambda p: check_rules(c, np.arange(c.n_volunteers), int(p)), list(needs[:5])
        ),
    }
    pairs, scores = prep.pairs, prep.scores
    k = int(np.flatnonzero(np.isin(pairs.p, needs))[0])  # a sampled need with a candidate
    t0 = time.perf_counter()
    keep = (pairs.v != pairs.v[k]) & ~((pairs.p == pairs.p[k]) & (np.arange(len(pairs)) == k))
    cap = c.capacity.copy()
    cap[pairs.p[k]] -= 1
    max_score_assignment(c.n_volunteers, cap, pairs.v[keep], pairs.p[keep], scores.total[keep])
    rows["baseline: one re-solve with a pair forced (ms)"] = 1000 * (time.perf_counter() - t0)
    rows["cold: compile + feasibility of a draft (ms)"] = 1000 * t_cold
    rows["round's own compile + eligibility (ms)"] = 1000 * (t_compile + t_elig)
    rows["warm-up: prepare + solve + residual network (s)"] = t_warmup
    load = os.getloadavg()
    t = Table(
        title=f"{args.volunteers:,} x {args.placements:,} ({len(pairs):,} pairs); "
        f"load average {load[0]:.1f}"
    )
    t.add_column("measure")
    t.add_column("value", justify="right")
    for name, value in rows.items():
        t.add_row(name, f"{value:,.1f}")
    Console().print(t)
    write_results(
        {"rows": rows, "pairs": len(pairs), "loadavg": load, "needs": len(needs)},
        RESULTS / f"advice-{args.volunteers}x{args.placements}.json",
    )


if __name__ == "__main__":
    main()
