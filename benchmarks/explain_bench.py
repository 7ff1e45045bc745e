"""The explain stage with exact costs against the explain stage before them, in one process.

    git worktree add --detach /tmp/before 4cabc0c       # the last commit before issue 20
    python -m benchmarks.explain_bench --before /tmp/before [--volunteers 100000]
        [--placements 20000] [--repeat 3]

The issue's target: reasons with exact costs add at most 50% to the explain stage of
the code before them. Both versions load the same generated round, solve it (the pure
policy: the same optimum), then dress the solution as a result `--repeat` times each,
alternating; each run reports the explain stage (`stats.seconds.explain`, wall time: the
stage the ladder reports) and the process CPU time of the whole `build_result`. The
code before issue 20 used the old top-level package names (`matching`, `models`), so
it is imported from the `--before` checkout under those names beside `volmatch`.
Prints a table and writes JSON to benchmarks/results/explain-<size>.json.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.generate import generate_round

RESULTS = Path(__file__).resolve().parent / "results"


def _load(before: Path) -> tuple[Any, Any]:
    """(old, new): modules with `load_round`, `prepare`, `solve_prepared`, `build_result`."""
    from volmatch.matching import prepared, solve, to_result
    from volmatch.models import load

    # the code before issue 20 by its old top-level names, from the checkout: imported
    # by name because those names are not ours any more (PyPI's `matching` is installed)
    sys.path.insert(0, str(before))
    old_solve = importlib.import_module("matching.solve")
    old_load = importlib.import_module("models.load")
    assert Path(old_solve.__file__).is_relative_to(before), "not the checkout's code"

    class Old:
        load_round = staticmethod(old_load.load_round)
        prepare = staticmethod(old_solve.prepare)
        solve_prepared = staticmethod(old_solve.solve_prepared)
        build_result = staticmethod(old_solve.build_result)

    class New:
        load_round = staticmethod(load.load_round)
        prepare = staticmethod(prepared.prepare)
        solve_prepared = staticmethod(solve.solve_prepared)
        build_result = staticmethod(to_result.build_result)

    return Old, New


def _run(code: Any, prep: Any, sol: Any) -> dict[str, float]:
    gc.collect()
    c0 = time.process_time()
    res = code.build_result(prep, sol, "optimal")
    cpu = time.process_time() - c0
    out = {"explain": prep.timings["explain"], "build_cpu": cpu}
    del res
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--before",
        type=Path,
        required=True,
        help="a checkout of the commit before issue 20 (4cabc0c)",
    )
    ap.add_argument("--volunteers", type=int, default=100_000)
    ap.add_argument("--placements", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    old, new = _load(args.before.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "round.json"
        doc = generate_round(args.volunteers, args.placements, seed=args.seed)
        path.write_text(json.dumps(doc), encoding="utf-8")
        del doc
        versions = {}
        for name, code in (("before", old), ("now", new)):
            prep = code.prepare(code.load_round(path))
            sol = code.solve_prepared(prep)
            versions[name] = (code, prep, sol)
    objectives = {k: v[2].objective for k, v in versions.items()}
    runs: dict[str, list[dict[str, float]]] = {"before": [], "now": []}
    for _ in range(args.repeat):
        for name, (code, prep, sol) in versions.items():
            runs[name].append(_run(code, prep, sol))
    best = {k: min(r["explain"] for r in v) for k, v in runs.items()}
    cpu = {k: min(r["build_cpu"] for r in v) for k, v in runs.items()}
    # the machine is shared: the fastest run shows the code, the median the load it ran under
    median = {k: statistics.median(r["explain"] for r in v) for k, v in runs.items()}
    load = os.getloadavg()
    t = Table(
        title=f"{args.volunteers:,} x {args.placements:,}: the explain stage, "
        f"fastest of {args.repeat} (load {load[0]:.1f})"
    )
    for col in ("version", "objective", "explain s", "build_result CPU s", "all explain s"):
        t.add_column(col, justify="right")
    for name in runs:
        t.add_row(
            name,
            f"{objectives[name]:,}",
            f"{best[name]:.2f}",
            f"{cpu[name]:.2f}",
            " ".join(f"{r['explain']:.2f}" for r in runs[name]),
        )
    Console().print(t)
    ratio = best["now"] / best["before"]
    Console().print(
        f"explain stage now / before: {ratio:.2f}x fastest, "
        f"{median['now'] / median['before']:.2f}x median (target: at most 1.5x)"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"explain-{args.volunteers}x{args.placements}.json"
    out.write_text(
        json.dumps(
            {
                "volunteers": args.volunteers,
                "placements": args.placements,
                "objectives": objectives,
                "runs": runs,
                "fastest_explain": best,
                "fastest_build_cpu": cpu,
                "ratio": ratio,
                "median_explain": median,
                "median_ratio": median["now"] / median["before"],
                "loadavg": load,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
