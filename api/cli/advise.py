"""`volmatch advise ROUND --placement ID|--placement-file FILE | --volunteer ID`: instant
advice for one need (who is eligible, what blocks, the smallest changes, the best
volunteers by exact regret) or for one volunteer (the best placements by regret)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from volmatch.api.cli.guard import BadInput, guarded
from volmatch.api.cli.inputs import RoundArg, load_round_file

if TYPE_CHECKING:
    from volmatch.models import Placement

WIDTH = 80
"""Human output fits a terminal of this many columns."""


def _draft(path: Path) -> Placement:
    """One placement from a JSON or YAML file; field errors name the placement and field."""
    from pydantic import ValidationError

    from volmatch.models import Placement
    from volmatch.models.load import UnreadableDocument, read_document

    try:
        raw = read_document(path)
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    except UnreadableDocument as exc:
        raise BadInput(f"{path}: {exc}") from None
    if not isinstance(raw, dict):
        raise BadInput(f"{path} must hold one placement object")
    try:
        return Placement.model_validate(raw)
    except ValidationError as exc:
        rid = raw.get("id", "?")
        lines = [
            f"placement {rid}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        ]
        raise BadInput("invalid placement:\n  - " + "\n  - ".join(lines)) from None


def _lines_for_placement(doc: dict[str, Any]) -> list[str]:
    out = [
        f"Placement {doc['placement']}"
        + ("" if doc["in_round"] else " (not in the round: priced as one new slot)"),
        f"  eligible: {doc['eligible']}",
    ]
    a = doc["availability"]
    out.append(
        f"  of them: {a['placed_here']} placed here, {a['placed_elsewhere']} elsewhere, "
        f"{a['unplaced']} unplaced ({a['likely_free']} likely free)"
    )
    blocking = [(k, v) for k, v in doc["rules"].items() if v["fail"]]
    if blocking:
        out.append("  removed by rule (fail / only this rule):")
        out += [f"    {k:<10} {v['fail']:>6} / {v['only']}" for k, v in blocking]
    if doc["changes"]:
        out.append("  smallest changes that admit more people:")
        out += [f"    {ch['text']}" for ch in doc["changes"]]
    out += _rec_lines(doc["recommendations"], "volunteer")
    return out


def _rec_lines(recs: list[dict[str, Any]], side: str) -> list[str]:
    if not recs:
        return ["  no eligible candidates"]
    out = [f"  {side:<12} {'score':>6} {'regret':>7}  breakdown"]
    for r in recs:
        regret = "-" if r["regret"] is None else str(r["regret"])
        parts = " ".join(f"{k}={v}" for k, v in r["breakdown"].items())
        line = f"  {r[side]:<12} {r['score']:>6} {regret:>7}  {parts}"
        out.append(line if len(line) <= WIDTH else line[: WIDTH - 3] + "...")
    return out


def advise(
    round_file: RoundArg,
    placement: Annotated[
        str | None, typer.Option("--placement", help="Placement id in the round.")
    ] = None,
    placement_file: Annotated[
        Path | None,
        typer.Option("--placement-file", help="A draft placement (JSON or YAML)."),
    ] = None,
    volunteer: Annotated[
        str | None, typer.Option("--volunteer", help="Volunteer id: their best placements.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Recommendations to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Feasibility of one need and its best volunteers by regret (or a volunteer's best
    placements)."""
    from volmatch.api.io import write_text
    from volmatch.matching import prepare
    from volmatch.matching.advice import advice_base, advise_placement, advise_volunteer
    from volmatch.matching.explain import is_pure_optimum
    from volmatch.matching.solve import solve_prepared

    def go() -> None:
        if sum(x is not None for x in (placement, placement_file, volunteer)) != 1:
            raise BadInput("give exactly one of --placement, --placement-file, --volunteer")
        draft = _draft(placement_file) if placement_file is not None else None
        r = load_round_file(round_file)
        prep = prepare(r)
        c = prep.compiled
        if placement is not None and placement not in c.pindex:
            raise BadInput(f"no placement with id {placement!r} in the round")
        if volunteer is not None and volunteer not in c.vindex:
            raise BadInput(f"no volunteer with id {volunteer!r} in the round")
        sol = solve_prepared(prep)
        base = advice_base(prep, sol.chosen, is_pure_optimum(prep, sol.status, r.policy.mode))
        if volunteer is not None:
            doc = advise_volunteer(base, c.vindex[volunteer], top)
            where = doc["placed_at"] or "unplaced"
            lines = [
                f"Volunteer {volunteer} ({where})",
                *_rec_lines(doc["recommendations"], "placement"),
            ]  # type: ignore[arg-type]
        else:
            need = draft if draft is not None else c.placements[c.pindex[str(placement)]]
            doc = advise_placement(base, need, top).as_dict()
            lines = _lines_for_placement(doc)
        write_text(json.dumps(doc, indent=2, default=str) if as_json else "\n".join(lines), None)

    guarded(go)
