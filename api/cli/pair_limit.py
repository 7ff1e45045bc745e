"""The pair limit of every command, from the environment: `VOLMATCH_MAX_ROUND_PAIRS`,
the same variable the service reads (`Settings.max_round_pairs`), else the default of
`matching.pair_limit`. A round over it exits 2 naming its pairs, the limit and this
variable."""

from __future__ import annotations

import os

import typer

from volmatch.api.cli.guard import BadInput, report
from volmatch.matching.pair_limit import MAX_ROUND_PAIRS, PAIR_LIMIT_SETTING, set_pair_limit


def apply_pair_limit() -> None:
    """Set the process's pair limit from the environment (exit 2 on a bad value)."""
    text = os.environ.get(PAIR_LIMIT_SETTING, "").strip()
    try:
        limit = int(text.replace("_", "")) if text else MAX_ROUND_PAIRS
        if limit < 1:
            raise ValueError
    except ValueError:
        raise typer.Exit(
            report(BadInput(f"{PAIR_LIMIT_SETTING} must be a positive whole number, not {text!r}"))
        ) from None
    set_pair_limit(limit)
