"""How promptly a solve stops when told to (a cancelled round or scenario run,
`matching.stop`), and how long the steps no stop can reach take.

Stopped: rounds whose solve would last its whole time limit (the demo round under
`SLOW_RULES`: one CP-SAT model at 250 volunteers, the windows' search at 300; and a
generated 10,000 x 2,000 round under the same rules, whose bound runs in a child
process), each told to stop `--after` seconds into `solve_round`: the seconds from the
stop to `Stopped` (median and worst of `--repeat`), against the time limit, which is
what a cancel waited for before. Not interruptible: the min-cost flow of a pure round
and the deferred acceptance of a stable one are single steps, looked at before and
after: their CPU seconds at `--size` bound a cancel's wait on such rounds.

Table to stdout, JSON to `benchmarks/results/cancel-<timestamp>.json` with the 1-minute
load average before and after (wall-clock figures: say the load beside them).

    python -m benchmarks.cancel_bench [--repeat 3] [--after 2] [--size 10000x2000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.report import RESULTS, stamp, write_results

SLOW_RULES = {"max_same_nationality_per_placement": 1, "max_per_host": 6, "gender_balance": True}
"""Rules under which the demo round's solve runs until its time limit (the search never
proves the optimum): 57 s of a 60 s limit at 250 volunteers (one CP-SAT model of every
pair), the windows' search at 300 (load 4 on 2 cores)."""
LARGE_RULES = {"max_same_nationality_per_placement": 1, "max_per_host": 40, "gender_balance": True}
"""The same kinds of rule on a generated round (hosts there hold more placements)."""


def slow_rules_document(volunteers: int = 300, time_limit_s: float = 120.0) -> dict[str, Any]:
    """The demo round (its first `volunteers`, rankings trimmed to them) under
    `SLOW_RULES`: a round whose solve lasts its whole time limit, to stop mid-solve.
    Up to 6,000 eligible pairs (230-250 volunteers) it is one CP-SAT model; beyond,
    the neighbourhood search of CP-SAT windows."""
    from volmatch.scenarios.demo import demo_round_path

    d: dict[str, Any] = json.loads(demo_round_path().read_text())
    d["volunteers"] = d["volunteers"][:volunteers]
    ids = {v["id"] for v in d["volunteers"]}
    for p in d["placements"]:
        if "ranking" in p:
            p["ranking"] = [v for v in p["ranking"] if v in ids]
    d["policy"] = {**d.get("policy", {}), **SLOW_RULES, "time_limit_s": time_limit_s}
    return d


def _stop_at(seconds: float) -> tuple[Callable[[], bool], float]:
    """A stop signal that says stop from `seconds` from now on, and that moment (the
    latency counts from it, not from the solve's first look after it)."""
    at = time.perf_counter() + seconds
    return (lambda: time.perf_counter() >= at), at


def _stopped_after(doc: dict[str, Any], after: float) -> float:
    """Seconds from the stop to `Stopped`, the stop said `after` s into the solve."""
    from volmatch.matching import Stopped, solve_round
    from volmatch.models import parse_round

    r = parse_round(doc)
    stop, at = _stop_at(after)
    try:
        solve_round(r, stop=stop)
    except Stopped:
        return time.perf_counter() - at
    raise AssertionError("the solve finished before it was told to stop")


def _step_cpu(doc: dict[str, Any], step: str) -> float:
    """CPU seconds of a round's one uninterruptible step (`pure` flow or `stable`)."""
    from volmatch.matching import prepare
    from volmatch.matching.pure import solve_pure
    from volmatch.matching.stable import solve_stable
    from volmatch.models import parse_round

    prep = prepare(parse_round(doc))
    c0 = time.process_time()
    (solve_pure if step == "pure" else solve_stable)(prep)
    return time.process_time() - c0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from benchmarks.generate import generate_round

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--after", type=float, default=2.0, help="seconds into the solve")
    ap.add_argument("--size", default="10000x2000", help="VOLUNTEERSxPLACEMENTS")
    args = ap.parse_args(argv)
    nv, np_ = (int(x) for x in args.size.split("x"))
    import volmatch.matching.rules  # noqa: F401  (CP-SAT's first import, not timed)

    load_before = round(os.getloadavg()[0], 2)
    large = generate_round(nv, np_, seed=1)
    large_rules = {**large, "policy": {**LARGE_RULES, "time_limit_s": 300}}
    stopped = [
        ("rules: one CP-SAT model (demo, 250 volunteers)", slow_rules_document(250, 60), 60),
        ("rules: windows' search (demo, 300 volunteers)", slow_rules_document(300, 120), 120),
        (f"rules: bound in a child process ({args.size})", large_rules, 300),
    ]
    rows: list[dict[str, Any]] = []
    for name, doc, limit in stopped:
        # the large round prepares for a few seconds before its solve: said later
        after = args.after + (3.0 if doc is large_rules else 0.0)
        got = [_stopped_after(doc, after) for _ in range(args.repeat)]
        rows.append(
            {
                "case": name,
                "time_limit_s": limit,
                "said_at_s": after,
                "stopped_after_s_median": round(statistics.median(got), 3),
                "stopped_after_s_max": round(max(got), 3),
            }
        )
    steps = [(f"pure: min-cost flow ({args.size})", "pure"), (f"stable ({args.size})", "stable")]
    for name, step in steps:
        cpu = [_step_cpu(large, step) for _ in range(args.repeat)]
        rows.append({"case": name, "uninterruptible_cpu_s_max": round(max(cpu), 3)})
    out = {
        "rows": rows,
        "repeat": args.repeat,
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    print(f"{'case':<52} {'limit s':>8} {'stop at s':>9} {'stopped after s':>22}")
    for row in rows:
        if "stopped_after_s_median" in row:
            after_s = f"{row['stopped_after_s_median']} (max {row['stopped_after_s_max']})"
            print(f"{row['case']:<52} {row['time_limit_s']:>8} {row['said_at_s']:>9} {after_s:>22}")
        else:
            cpu_s = f"{row['uninterruptible_cpu_s_max']} CPU s"
            print(f"{row['case']:<52} {'':>8} {'':>9} {cpu_s:>22}")
    print(f"load {load_before} -> {out['load_avg_1m_after']} on {out['cpus']} cores")
    write_results(out, RESULTS / f"cancel-{stamp()}.json")
    return out


if __name__ == "__main__":
    main()
