"""`volmatch validate ROUND`: check a round document without solving it."""

from __future__ import annotations

from volmatch.api.cli.guard import guarded
from volmatch.api.cli.inputs import RoundArg, load_round_file


def validate(round_file: RoundArg) -> None:
    """Check a round document: exit 0 when valid, 2 with every error listed when not."""
    from rich.console import Console

    def go() -> None:
        r = load_round_file(round_file)
        slots = sum(p.slots for p in r.placements)
        Console().print(
            f"[green]valid[/]: {len(r.volunteers)} volunteers, {len(r.placements)} placements "
            f"({slots} slots), {len(r.previous)} previous assignments",
            highlight=False,
        )

    guarded(go)
