"""`volmatch candidates ROUND`: every eligible pair with its score, as JSON lines."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from volmatch.api.cli.guard import guarded, stderr
from volmatch.api.cli.inputs import RoundArg, load_round_file


def candidates(
    round_file: RoundArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write JSON lines here (default stdout).")
    ] = None,
) -> None:
    """Every eligible pair with its score and breakdown, as JSON lines."""
    import numpy as np

    from volmatch.api.io import write_json_lines
    from volmatch.matching import prepare
    from volmatch.matching.dates import from_days

    def go() -> None:
        prep = prepare(load_round_file(round_file))
        c, pairs, scores = prep.compiled, prep.pairs, prep.scores
        # index order is id order (compile sorts by id): volunteer-major listing
        order = np.lexsort((pairs.p, pairs.v)).tolist()

        def rows() -> Iterator[dict[str, Any]]:
            for i in order:
                yield {
                    "volunteer": c.volunteer_ids[int(pairs.v[i])],
                    "placement": c.placement_ids[int(pairs.p[i])],
                    "score": int(scores.total[i]),
                    "start": from_days(int(pairs.start[i])).isoformat(),
                    "months": int(pairs.months[i]),
                    "breakdown": scores.breakdown(i),
                }

        if out is None:
            write_json_lines(rows(), sys.stdout)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8") as f:
                n = write_json_lines(rows(), f)
            stderr().print(f"{n} eligible pairs written to {out}", highlight=False)

    guarded(go)
