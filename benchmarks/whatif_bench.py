"""What-if benchmark: a 50-variant sweep over a 10,000 x 2,000 round.

Measures wall time of the whole scenario (base + variants) with 1 worker (in process),
2 local worker processes and a 2-worker Dask LocalCluster, checks that all three give
the same comparison, and measures what the reuse of the base's preparation saves per
kind of variant against a fresh `matching.prepare` in the same process.

    python -m benchmarks.whatif_bench [--volunteers 10000] [--placements 2000]
                                      [--variants 50] [--skip-dask]

Prints a table and writes `benchmarks/results/whatif-<V>x<P>.json`.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, write_results
from volmatch.matching import prepare
from volmatch.models import parse_round
from volmatch.scenarios.changes import apply_variant
from volmatch.scenarios.incremental import prepare_variant
from volmatch.scenarios.model import parse_scenario
from volmatch.scenarios.runner import run_scenario


def _sweep(n: int) -> dict[str, Any]:
    return {
        "name": f"priority weight sweep ({n} variants)",
        "base": {"round_id": "generated"},
        "sweeps": [
            {
                "name": "priority",
                "parameter": "policy.weights.priority",
                "range": {"start": 0, "stop": 20 * (n - 1), "step": 20},
            }
        ],
    }


def _reuse_cases() -> dict[str, Any]:
    return {
        "name": "reuse",
        "base": {"round_id": "generated"},
        "variants": [
            {"name": "weights-only", "changes": [{"policy": {"weights.priority": 400}}]},
            {
                "name": "one-country-relaxed",
                "changes": [
                    {
                        "update": "placements",
                        "where": {"country": "NP"},
                        "set": {"required_languages": {}},
                    }
                ],
            },
            {
                "name": "50-generated",
                "changes": [
                    {
                        "generate": "volunteers",
                        "count": 50,
                        "id_prefix": "GEN",
                        "choose": {"languages.fr": ["B1", "B2", "C1"]},
                    }
                ],
            },
            {"name": "international-off", "changes": [{"policy": {"international_only": False}}]},
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volunteers", type=int, default=10_000)
    ap.add_argument("--placements", type=int, default=2_000)
    ap.add_argument("--variants", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args(argv)

    base = parse_round(generate_round(args.volunteers, args.placements, seed=args.seed))
    scenario = parse_scenario(_sweep(args.variants))
    runs: list[dict[str, Any]] = []
    reference: str | None = None

    def record(label: str, workers: int, fn: Any) -> None:
        nonlocal reference
        t0 = time.perf_counter()
        cmp = fn()
        wall = time.perf_counter() - t0
        text = cmp.to_json()
        same = reference is None or text == reference
        reference = reference or text
        runs.append(
            {
                "runner": label,
                "workers": workers,
                "wall_s": round(wall, 2),
                "per_variant_s": round(wall / (args.variants + 1), 3),
                "same_as_first": same,
            }
        )
        print(f"  {label:<24} {wall:8.1f} s", flush=True)

    print(f"{args.variants}-variant sweep over {args.volunteers} x {args.placements}", flush=True)
    record("local, in process", 1, lambda: run_scenario(base, scenario, workers=1))
    record("local process pool", 2, lambda: run_scenario(base, scenario, workers=2))
    if not args.skip_dask:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            record(
                "dask LocalCluster", 2, lambda: run_scenario(base, scenario, client.get_executor())
            )

    # What reuse saves, per kind of variant, against a fresh prepare in this process.
    base_prep = prepare(base)
    reuse_rows: list[dict[str, Any]] = []
    for v in parse_scenario(_reuse_cases()).variants:
        r = apply_variant(base, v, 0)
        t0 = time.perf_counter()
        prepare(r)
        fresh = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, how = prepare_variant(base_prep, r)
        reused = time.perf_counter() - t0
        reuse_rows.append(
            {
                "variant": v.name,
                "path": how,
                "fresh_prepare_s": round(fresh, 3),
                "reused_prepare_s": round(reused, 3),
                "speedup": round(fresh / reused, 1) if reused else None,
            }
        )

    print()
    print(f"{'runner':<24} {'workers':>7} {'wall s':>8} {'s/round':>8} {'same':>5}")
    for row in runs:
        print(
            f"{row['runner']:<24} {row['workers']:>7} {row['wall_s']:>8} "
            f"{row['per_variant_s']:>8} {row['same_as_first']!s:>5}"
        )
    print()
    print(f"{'variant':<22} {'path':<12} {'fresh s':>8} {'reused s':>9} {'x':>6}")
    for row in reuse_rows:
        print(
            f"{row['variant']:<22} {row['path']:<12} {row['fresh_prepare_s']:>8} "
            f"{row['reused_prepare_s']:>9} {row['speedup']!s:>6}"
        )

    write_results(
        {
            "volunteers": args.volunteers,
            "placements": args.placements,
            "variants": args.variants,
            "seed": args.seed,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "runs": runs,
            "reuse": reuse_rows,
        },
        RESULTS / f"whatif-{args.volunteers}x{args.placements}.json",
    )
    return 0 if all(r["same_as_first"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
