"""`volmatch explain ROUND --volunteer ID`: why a volunteer is placed where they are,
or not elsewhere (the hard rules a pair fails, or why an eligible pair was not chosen)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from volmatch.api.cli.guard import BadInput, guarded
from volmatch.api.cli.inputs import RoundArg, load_round_file


def explain(
    round_file: RoundArg,
    volunteer: Annotated[str, typer.Option("--volunteer", help="Volunteer id.")],
    placement: Annotated[
        str | None, typer.Option("--placement", help="Only this placement.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Which hard rules each pair fails, or why an eligible pair was not chosen."""
    from rich.console import Console
    from rich.table import Table

    from volmatch.api.io import write_text
    from volmatch.matching import prepare
    from volmatch.matching.explain import explain_volunteer
    from volmatch.matching.solve import solve_prepared

    def go() -> None:
        r = load_round_file(round_file)
        prep = prepare(r)
        c = prep.compiled
        if volunteer not in c.vindex:
            raise BadInput(f"no volunteer with id {volunteer!r} in the round")
        if placement is not None and placement not in c.pindex:
            raise BadInput(f"no placement with id {placement!r} in the round")
        sol = solve_prepared(prep)
        vi = c.vindex[volunteer]
        only = None if placement is None else [c.pindex[placement]]
        rows = explain_volunteer(c, prep.pairs, prep.scores, sol.chosen, vi, only)
        doc = {"volunteer": volunteer, "pairs": rows}
        if as_json:
            write_text(json.dumps(doc, indent=2, default=str), None)
            return
        t = Table(title=f"Volunteer {volunteer}", header_style="bold", show_lines=True)
        t.add_column("placement")
        t.add_column("eligible")
        t.add_column("detail")
        for row in sorted(rows, key=lambda x: (not x["eligible"], -int(x.get("score", 0)))):  # type: ignore[call-overload]
            if row["eligible"]:
                detail = f"score {row['score']} {row['breakdown']}\n{row['outcome']}"
            else:
                fails: dict[str, str] = row["failed_rules"]  # type: ignore[assignment]
                detail = "\n".join(f"{k}: {v}" for k, v in fails.items())
            t.add_row(str(row["placement"]), "yes" if row["eligible"] else "no", detail)
        Console().print(t)

    guarded(go)
