"""`volmatch backfill ROUND --result RESULT --declined IDS`: re-match after declines.

Every volunteer placed in RESULT who is not declined counts as accepted (frozen) unless
`--accepted` names who accepted; then the others keep a pending offer that may move as
the policy's `move_cost` / `max_moves` allow. The proposal is written as a result
document (`assignments` = the whole new assignment) plus `new_offers`, `moves` and
`total_change`; `.xlsx` as for `solve`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from volmatch.api.cli.guard import BadInput, guarded, stderr
from volmatch.api.cli.inputs import ReservesOpt, RoundArg, load_round_file
from volmatch.api.cli.solve import RESERVE_SIZE


def _id_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [x.strip() for x in value.split(",") if x.strip()]


def read_offers(path: Path) -> dict[str, str]:
    """Volunteer id -> placement id of the `assignments` of a result document (JSON)."""
    from volmatch.models.load import UnreadableDocument, read_document

    try:
        doc: Any = read_document(path)
    except FileNotFoundError:
        raise BadInput(f"--result {path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"--result {path}: cannot be read ({exc.strerror})") from None
    except UnreadableDocument as exc:
        raise BadInput(f"--result {path}: not a result document ({exc})") from None
    rows = doc.get("assignments") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise BadInput(f"--result {path}: no 'assignments' list (is it a result document?)")
    offers: dict[str, str] = {}
    for k, a in enumerate(rows):
        if (
            not isinstance(a, dict)
            or not isinstance(a.get("volunteer"), str)
            or not isinstance(a.get("placement"), str)
        ):
            raise BadInput(
                f"--result {path}: assignments[{k}]: needs string fields volunteer and placement"
            )
        if a["volunteer"] in offers:
            raise BadInput(
                f"--result {path}: assignments[{k}]: volunteer {a['volunteer']} is placed twice"
            )
        offers[a["volunteer"]] = a["placement"]
    return offers


def backfill(
    round_file: RoundArg,
    result: Annotated[Path, typer.Option("--result", help="The published result document (JSON).")],
    declined: Annotated[
        str, typer.Option("--declined", help="Volunteer ids who declined, comma-separated.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Write the proposal here (.json or .xlsx).")],
    accepted: Annotated[
        str | None,
        typer.Option(
            "--accepted",
            help="Volunteer ids who accepted (default: everyone placed and not declined).",
        ),
    ] = None,
    withdrawn: Annotated[
        str | None,
        typer.Option("--withdrawn", help="Placement ids the hosts withdrew, comma-separated."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
    reserves: ReservesOpt = RESERVE_SIZE,
) -> None:
    """Propose a backfill: accepted people stay, the rest is re-optimised."""
    from volmatch.api.io import write_result
    from volmatch.matching import prepare
    from volmatch.matching.lifecycle.document import backfill_document
    from volmatch.models import InvalidBackfill

    def go() -> None:
        offers = read_offers(result)
        r = load_round_file(round_file)
        try:
            proposal, doc = backfill_document(
                prepare(r),
                offers,
                declined=_id_list(declined) or [],
                accepted=_id_list(accepted),
                withdrawn=_id_list(withdrawn) or [],
                reserves=reserves,
            )
        except InvalidBackfill as exc:
            raise BadInput(
                f"{len(exc.errors)} error(s) in the backfill request:\n"
                + "\n".join(f"  - {e}" for e in exc.errors)
            ) from None
        write_result(r, doc, out)
        if not quiet:
            err = stderr()
            err.print(
                f"backfill: {len(proposal.new_offers)} new offer(s), {len(proposal.moves)} "
                f"move(s), total {proposal.total} ({proposal.total_change:+d}); "
                f"proposal written to {out}",
                highlight=False,
            )

    guarded(go)
