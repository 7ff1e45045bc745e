"""What the field-size limits (`models/limits.py`) cost the loader: a generated round's
JSON validated by the loader's validator with the limits and by the same validator with
every limit taken out, in the same process, alternating, best of N; then the whole
`parse_text` of the text as a stored round and as a file handed in (keys given twice
looked for in the same parse, `models.duplicate_keys`).

    python -m benchmarks.loader_bench                   # 100,000 volunteers x 20,000 placements
    python -m benchmarks.loader_bench --volunteers 20000 --placements 4000 --repeat 5

Results: a table on the terminal and `results/loader-<timestamp>.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, stamp, write_results

LIMIT_KEYS = ("max_length", "le", "ge", "lt", "gt")
"""Keys of pydantic-core schema nodes that the limits set (and that the baseline drops)."""


def _without_limits(schema: Any) -> Any:
    """A copy of a core schema without length and range bounds and without the needs
    assessment's check: the loader as it would be without `models.limits`."""
    from volmatch.models.assessment import check_assessment

    if isinstance(schema, list):
        return [_without_limits(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "function-after":
        fn = schema.get("function", {}).get("function")
        if fn is check_assessment:
            return _without_limits(schema["schema"])
    keep = ("cls", "config", "default", "function", "metadata", "serialization", "expected")
    return {
        k: v if k in keep else _without_limits(v) for k, v in schema.items() if k not in LIMIT_KEYS
    }


def _validators() -> tuple[Any, Any]:
    """The loader's whole-document validator, and the same without limits."""
    from volmatch.models import load

    with_limits = load._native_validator(load._document_schema())
    baseline = load._native_validator(_without_limits(load._document_schema()))
    return with_limits, baseline


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--volunteers", type=int, default=100_000)
    ap.add_argument("--placements", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    from volmatch.models import parse_text

    text = json.dumps(generate_round(args.volunteers, args.placements, seed=args.seed))
    with_limits, baseline = _validators()
    assert with_limits.validate_json(text) is not None and baseline.validate_json(text)
    times: dict[str, list[float]] = {"limits": [], "baseline": []}
    for _ in range(args.repeat):  # alternating, so that load on the machine hits both
        times["limits"].append(_best(lambda: with_limits.validate_json(text), 1))
        times["baseline"].append(_best(lambda: baseline.validate_json(text), 1))
    load_s = _best(lambda: parse_text(text, fmt="json"), args.repeat)
    # a file handed in: the same text, read by the one parse that also finds repeated keys
    checked_s = _best(lambda: parse_text(text, fmt="json", unique_keys=True), args.repeat)
    best = {k: min(v) for k, v in times.items()}
    ratio = best["limits"] / best["baseline"]
    loadavg = os.getloadavg()

    print(
        f"round: {args.volunteers} volunteers x {args.placements} placements, "
        f"{len(text) / 1e6:.1f} MB of JSON; load average {loadavg[0]:.2f} (busy machine)"
    )
    print(f"{'validator':<28}{'best s':>10}")
    print(f"{'with limits':<28}{best['limits']:>10.3f}")
    print(f"{'baseline (no limits)':<28}{best['baseline']:>10.3f}")
    print(f"{'ratio limits / baseline':<28}{ratio:>10.3f}")
    print(f"{'whole load (parse_text)':<28}{load_s:>10.3f}")
    print(f"{'... of a file (unique keys)':<28}{checked_s:>10.3f}")

    write_results(
        {
            "volunteers": args.volunteers,
            "placements": args.placements,
            "seed": args.seed,
            "json_bytes": len(text),
            "runs_s": times,
            "best_s": best,
            "ratio": ratio,
            "parse_text_s": load_s,
            "parse_text_unique_keys_s": checked_s,
            "loadavg": loadavg,
        },
        args.out / f"loader-{stamp()}.json",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
