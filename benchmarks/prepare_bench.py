"""Eligibility and scoring alone, at the ladder's largest size by default.

    python -m benchmarks.prepare_bench [--volunteers 100000] [--placements 20000] [--repeat 3]

Generates a round, validates it once, then for each repeat compiles it, finds the
eligible pairs and scores them, and reports each stage (the issue's target: eligibility
plus scoring under 5 s at 100,000 x 20,000). Prints a table and writes JSON to
benchmarks/results/prepare-<size>.json.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, write_results
from volmatch.matching import compile_round, find_pairs, score_pairs
from volmatch.models import parse_round


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--volunteers", type=int, default=100_000)
    ap.add_argument("--placements", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    r = parse_round(generate_round(args.volunteers, args.placements, seed=args.seed))
    rows = []
    for k in range(args.repeat):
        t0 = time.perf_counter()
        c = compile_round(r)
        t1 = time.perf_counter()
        pairs = find_pairs(c)
        t2 = time.perf_counter()
        score_pairs(c, pairs)
        t3 = time.perf_counter()
        rows.append(
            {
                "run": k + 1,
                "compile": t1 - t0,
                "eligibility": t2 - t1,
                "scoring": t3 - t2,
                "eligibility+scoring": t3 - t1,
                "pairs": len(pairs),
            }
        )
    t = Table(title=f"{args.volunteers:,} x {args.placements:,}: seconds per stage")
    for col in ("run", "compile", "eligibility", "scoring", "eligibility+scoring", "pairs"):
        t.add_column(col, justify="right")
    for row in rows:
        t.add_row(
            *(
                f"{row[c]:.2f}" if isinstance(row[c], float) else f"{row[c]:,}"
                for c in (
                    "run",
                    "compile",
                    "eligibility",
                    "scoring",
                    "eligibility+scoring",
                    "pairs",
                )
            )
        )
    Console().print(t)
    write_results(rows, RESULTS / f"prepare-{args.volunteers}x{args.placements}.json")


if __name__ == "__main__":
    main()
