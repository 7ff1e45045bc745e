"""Reserve lists in `solve`: the whole solve with and without them, in the same process.

    python -m benchmarks.reserves_bench                      # 10,000 x 2,000
    python -m benchmarks.reserves_bench --full               # adds 100,000 x 20,000
    python -m benchmarks.reserves_bench --sizes 1000x200 --repeat 1

For each size the round comes from `benchmarks.generate.generate_round` (pure policy);
`matching.solve_round` runs it `--repeat` times without reserve lists and with the
default five per placement (`--reserves 5` of the command line), alternating, and the
medians are compared: the ratio is what a coordinator's `volmatch solve` pays for them.
The `reserves` stage (`stats.seconds.reserves`) is reported too. Results: a table on the
terminal and `results/reserves-<timestamp>.json`, with the load average before and
after (the machine is shared).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.report import RESULTS, stamp, write_results

QUICK: tuple[tuple[int, int], ...] = ((10_000, 2_000),)
FULL: tuple[tuple[int, int], ...] = (*QUICK, (100_000, 20_000))
SIZE = 5
"""Reserves per placement: the command line's default."""


def run_size(nv: int, npl: int, repeat: int, seed: int) -> dict[str, Any]:
    from benchmarks.generate import generate_round
    from volmatch.matching import solve_round
    from volmatch.models import parse_round

    r = parse_round(generate_round(nv, npl, seed=seed))
    plain: list[float] = []
    listed: list[float] = []
    stage: list[float] = []
    lists = 0
    for _ in range(repeat):
        for size, times in ((0, plain), (SIZE, listed)):
            gc.collect()
            t0 = time.perf_counter()
            res = solve_round(r, reserves=size)
            times.append(time.perf_counter() - t0)
            if size:
                stage.append(float(res.stats["seconds"]["reserves"]))
                extra = res.model_extra or {}
                lists = sum(1 for x in extra["reserves"] if x["reserves"])
            del res
    a, b = statistics.median(plain), statistics.median(listed)
    return {
        "volunteers": nv,
        "placements": npl,
        "repeat": repeat,
        "solve_s": round(a, 3),
        "solve_with_reserves_s": round(b, 3),
        "ratio": round(b / a, 3),
        "reserves_stage_s": round(statistics.median(stage), 3),
        "stage_share": round(statistics.median(stage) / a, 3),
        "placements_with_reserves": lists,
        "runs_s": {"without": [round(x, 3) for x in plain], "with": [round(x, 3) for x in listed]},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="add 100,000 x 20,000")
    ap.add_argument("--sizes", help="comma-separated NVxNP, e.g. 1000x200")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    sizes = (
        [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
        if args.sizes
        else list(FULL if args.full else QUICK)
    )
    load_before = os.getloadavg()
    rows = []
    for nv, npl in sizes:
        row = run_size(nv, npl, args.repeat, args.seed)
        row["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        rows.append(row)
        print(
            f"{nv:>7} x {npl:<6} solve {row['solve_s']:>7.2f} s  with reserves "
            f"{row['solve_with_reserves_s']:>7.2f} s  ratio {row['ratio']:.3f}  reserves stage "
            f"{row['reserves_stage_s']:.3f} s ({row['stage_share']:.1%})  "
            f"load {row['loadavg_after']}",
            flush=True,
        )
    when = stamp()
    doc = {
        "benchmark": "reserves",
        "when": when,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "loadavg_before": [round(x, 2) for x in load_before],
        "rows": rows,
    }
    write_results(doc, args.out / f"reserves-{when}.json")


if __name__ == "__main__":
    main()
