"""Memory per pair, and what the pair limit saves: peak RSS of preparing a round where
every volunteer qualifies for every placement (a dense round, the worst case) and of
building its advice base (the heaviest per-pair stage: pairs, scores, the residual
network and its prices), at growing sizes, each in a subprocess capped at `--cap-gb` of
address space (a run over it ends in a MemoryError, not the OOM killer). The last size,
50,000 x 10,000 (500 million pairs), runs at the default limit: its refusal is timed.

Bytes per pair are (peak - the process's RSS before preparing) / pairs. Table to stdout,
JSON to `benchmarks/results/pairs-memory-<timestamp>.json` with the 1-minute load.

    python -m benchmarks.pairs_memory_bench [--cap-gb 4] [--sizes 2000x500,4000x1000,8000x2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks.report import RESULTS, stamp, write_results

REFUSED_SIZE = (50_000, 10_000)
"""The tests' dense round (tests.helpers.big_round_and_result) that took a server down."""


def dense_round(nv: int, npl: int) -> dict[str, Any]:
    """The tests' large round (`tests.helpers.big_round_and_result`): every volunteer
    has one profile that every placement accepts."""
    from tests.helpers import big_round_and_result

    return big_round_and_result(nv, npl)[0]


def measure(nv: int, npl: int, cap_gb: float, unlimited: bool) -> dict[str, Any]:
    """One size in this process (run by `main` in a capped subprocess)."""
    import resource

    import numpy as np

    from volmatch.matching import prepare
    from volmatch.matching.advice import advice_base
    from volmatch.matching.pair_limit import set_pair_limit
    from volmatch.matching.pure import solve_pure
    from volmatch.models import TooManyPairs, parse_round

    cap = int(cap_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    def rss() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    if unlimited:
        set_pair_limit(10**12)
    r = parse_round(dense_round(nv, npl))
    out: dict[str, Any] = {"volunteers": nv, "placements": npl, "rss_before": rss()}
    t = time.process_time()
    try:
        prep = prepare(r)
        out["pairs"] = len(prep.pairs)
        out["rss_prepare"] = rss()
        out["cpu_prepare_s"] = round(time.process_time() - t, 2)
        chosen = np.sort(solve_pure(prep).chosen).astype(np.intp)
        out["rss_solve"] = rss()
        advice_base(prep, chosen, True)
        out["rss_advice"] = rss()
    except TooManyPairs as exc:
        out.update(refused=True, pairs=exc.pairs, limit=exc.limit)
    except MemoryError:
        out["memory_error"] = True
    out["cpu_s"] = round(time.process_time() - t, 2)
    out["rss_peak"] = rss()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cap-gb", type=float, default=4.0)
    ap.add_argument("--sizes", default="2000x500,4000x1000,8000x2000")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--unlimited", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        nv, npl = map(int, args.one.split("x"))
        print(json.dumps(measure(nv, npl, args.cap_gb, args.unlimited)))
        return
    runs = [(s, True) for s in args.sizes.split(",")] + [("x".join(map(str, REFUSED_SIZE)), False)]
    load = os.getloadavg()[0]
    rows = []
    for size, unlimited in runs:
        cmd = [sys.executable, "-m", "benchmarks.pairs_memory_bench", "--one", size]
        cmd += ["--cap-gb", str(args.cap_gb)] + (["--unlimited"] if unlimited else [])
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        row = (
            json.loads(done.stdout)
            if done.returncode == 0
            else {"size": size, "rc": done.returncode}
        )
        rows.append(row)
    mb = 2**20
    print(
        "| volunteers x placements | pairs | prepare MB | solve MB | advice MB "
        "| B/pair (advice) | CPU s | outcome |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = row.get("rss_before", 0)
        per = (row["rss_advice"] - base) / row["pairs"] if "rss_advice" in row else None
        outcome = (
            f"refused (limit {row['limit']:,})"
            if row.get("refused")
            else "MemoryError"
            if row.get("memory_error")
            else "built"
        )
        print(
            f"| {row.get('volunteers', 0):,} x {row.get('placements', 0):,} "
            f"| {row.get('pairs', 0):,} "
            f"| {row.get('rss_prepare', row.get('rss_peak', 0)) / mb:,.0f} "
            f"| {row.get('rss_solve', 0) / mb:,.0f} | {row.get('rss_advice', 0) / mb:,.0f} "
            f"| {'' if per is None else f'{per:.0f}'} | {row.get('cpu_s', '')} | {outcome} |"
        )
    load_after = os.getloadavg()[0]
    print(f"load {load:.1f} -> {load_after:.1f}")
    write_results(
        {"load_before": load, "load_after": load_after, "cap_gb": args.cap_gb, "runs": rows},
        RESULTS / f"pairs-memory-{stamp()}.json",
    )


if __name__ == "__main__":
    main()
