"""A stored result's eligible pairs and their scores (`result_pairs`), written beside it
by the worker, so that a process that did not solve the round can explain it without
finding and scoring its pairs again.

A round's explanations need it prepared: compiled, its eligible pairs found and scored
(`matching.prepare`). The worker has all of it in hand when it stores the result; a
second process (a separate `volmatch worker`, or the service after a restart) had to
prepare the round again, and finding and scoring the pairs was about a third of that
(0.36 s of the first explanation at 10,000 x 2,000, load 5). The blob holds indices,
day numbers and scores only (no ids, names or dates of birth), each array in the
smallest integer type that holds it, zlib-compressed at its fastest level: 1.7 MB and
0.07 s to write at 10,000 x 2,000, 0.04 s to read. An erasure that touches a round
drops its row (`privacy`): the round is then prepared from its pseudonymised document.

Since format 2 it also holds what explaining a pair needs besides one volunteer's and
a few placements' records (`ExplainArrays`): the ids in compiled order, each record's
position in the document, the slots, the locked pairs, the pairs the pricing's
residual network is built on and whether they are the result itself. A page then
explains a pair without parsing or compiling the round's document (0.1-0.2 s of
validation at 10,000 volunteers). The ids are personal data (an erasure renames
them): the erasure's drop of the row removes them with the rest.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from volmatch.api.service.tables import ResultPairsRow
from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import Pairs
from volmatch.matching.prepared import Prepared
from volmatch.matching.scoring import Scores

FORMAT: Final = 2
"""The blob's layout version written: a row of an unknown version is ignored (the round
is then prepared from its document)."""
READ_FORMATS: Final = (1, 2)
"""Versions read: 1 holds the pairs and scores only (no `ExplainArrays`)."""
_IDS_SEP: Final = "\n"
"""Joins the ids in the blob (an id never holds a line break: `models` ids are one
token)."""
ZLIB_LEVEL: Final = 1
"""zlib's fastest level: 1.7 MB at 10,000 x 2,000 in 0.07 s (level 6: about the same
size in 1.2 s, inside the worker's store)."""
_SMALL: Final = (np.int8, np.int16, np.int32, np.int64)


def _small(a: NDArray[np.integer]) -> NDArray[np.integer]:
    """`a` in the smallest integer type that holds all its values."""
    if a.size == 0:
        return a.astype(np.int8)
    low, high = int(a.min()), int(a.max())
    for t in _SMALL:
        info = np.iinfo(t)
        if info.min <= low and high <= info.max:
            return a.astype(t)
    return a


def to_bytes(prep: Prepared, chosen: NDArray[np.intp], status: str, mode: str) -> bytes:
    """The pairs, scores and chosen pair indices of a prepared and solved round, and its
    result's status and mode (whether the result is the pure optimum follows)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    header = {
        "format": FORMAT,
        "volunteers": c.n_volunteers,
        "placements": c.n_placements,
        "pairs": len(pairs),
        "components": list(scores.components),
        "status": status,
        "mode": mode,
    }
    arrays: dict[str, NDArray[np.integer]] = {
        "v": _small(pairs.v),
        "p": _small(pairs.p),
        "start": _small(pairs.start),
        "months": _small(pairs.months),
        "total": _small(scores.total),
        "chosen": _small(np.asarray(chosen)),
    }
    for i, values in enumerate(scores.components.values()):
        arrays[f"component{i}"] = _small(values)
    explain = _explain_arrays(prep, chosen, status, mode)
    header["explain"] = explain is not None
    if explain is not None:
        header["exact"] = explain.pop("exact")
        arrays.update(explain)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return zlib.compress(buf.getvalue(), ZLIB_LEVEL)


def _explain_arrays(
    prep: Prepared, chosen: NDArray[np.intp], status: str, mode: str
) -> dict[str, Any] | None:
    """`ExplainArrays`' parts of a solved round (None where its locks break the rules:
    no result is then explained), as `explanations.pricing` makes them."""
    from volmatch.matching.explain import is_pure_optimum
    from volmatch.matching.prepared import locked_pair_indices
    from volmatch.matching.pure import solve_pure
    from volmatch.models import InfeasibleRound

    c = prep.compiled
    try:
        locked = locked_pair_indices(prep)
    except InfeasibleRound:
        return None
    exact = is_pure_optimum(prep, status, mode)
    # the pricing's network is the pure optimum's where the result is not it (a flow,
    # solved once per prepared round: the rules solver has it already)
    net = np.asarray(chosen) if exact else solve_pure(prep).chosen
    vpos = {v.id: i for i, v in enumerate(c.round.volunteers)}
    ppos = {p.id: i for i, p in enumerate(c.round.placements)}
    return {
        "exact": exact,
        "vids": _joined(c.volunteer_ids),
        "pids": _joined(c.placement_ids),
        "vpos": _small(np.array([vpos[x] for x in c.volunteer_ids], dtype=np.int64)),
        "ppos": _small(np.array([ppos[x] for x in c.placement_ids], dtype=np.int64)),
        "capacity": _small(c.capacity),
        "locked": _small(np.asarray(locked, dtype=np.int64)),
        "net": _small(np.asarray(net, dtype=np.int64)),
    }


def _joined(ids: list[str]) -> NDArray[np.uint8]:
    return np.frombuffer(_IDS_SEP.join(ids).encode(), dtype=np.uint8)


def _split(a: NDArray[np.uint8]) -> list[str]:
    return a.tobytes().decode().split(_IDS_SEP) if a.size else []


def pairs_row(
    round_id: str, prep: Prepared, chosen: NDArray[np.intp], status: str, mode: str
) -> ResultPairsRow:
    return ResultPairsRow(round_id=round_id, data=to_bytes(prep, chosen, status, mode))


def from_bytes(
    data: bytes, compiled: CompiledRound
) -> tuple[Prepared, NDArray[np.intp], str, str] | None:
    """The prepared round, chosen pair indices, and the result's status and mode stored
    in `data`, around `compiled`
    (the round compiled from its stored document); None where the blob is of another
    format or does not fit the round (its counts differ)."""
    with np.load(io.BytesIO(zlib.decompress(data))) as z:
        header = json.loads(z["header"].tobytes().decode())
        if (
            header.get("format") not in READ_FORMATS
            or header["volunteers"] != compiled.n_volunteers
            or header["placements"] != compiled.n_placements
        ):
            return None
        pairs, scores, chosen = _pairs_scores(z, header)
    if len(pairs) != header["pairs"]:
        return None
    return Prepared(compiled, pairs, scores, {}), chosen, header["status"], header["mode"]


def _pairs_scores(z: Any, header: dict[str, Any]) -> tuple[Pairs, Scores, NDArray[np.intp]]:
    """The pairs, scores and sorted chosen pair indices of an opened blob, in the types
    `prepare` makes, so that everything downstream computes the same."""
    pairs = Pairs(
        z["v"].astype(np.int32),
        z["p"].astype(np.int32),
        z["start"].astype(np.int64),
        z["months"].astype(np.int64),
    )
    components = {
        name: z[f"component{i}"].astype(np.int64) for i, name in enumerate(header["components"])
    }
    scores = Scores(z["total"].astype(np.int64), components)
    return pairs, scores, np.sort(z["chosen"].astype(np.intp))


@dataclass(frozen=True)
class ExplainArrays:
    """What explaining a pair of a stored result needs besides the records of the
    volunteer and placements it names (format 2): the round's ids in compiled order
    (`vindex`, `pindex` their positions), each one's position in the round document,
    the pairs and scores, the result's chosen pairs, and the pricing's network parts:
    slots, locked pairs, the pairs of the optimum it is built on (`net`), and whether
    that optimum is the result (`exact`)."""

    volunteer_ids: list[str]
    placement_ids: list[str]
    vindex: dict[str, int]
    pindex: dict[str, int]
    vpos: NDArray[np.int64]
    ppos: NDArray[np.int64]
    pairs: Pairs
    scores: Scores
    chosen: NDArray[np.intp]
    capacity: NDArray[np.int64]
    locked: NDArray[np.intp]
    net: NDArray[np.intp]
    exact: bool
    status: str
    mode: str


def explain_arrays(data: bytes) -> ExplainArrays | None:
    """The `ExplainArrays` stored in `data`; None for a blob without them (format 1, or
    a round whose locks break the rules) or that does not hold together."""
    with np.load(io.BytesIO(zlib.decompress(data))) as z:
        header = json.loads(z["header"].tobytes().decode())
        if header.get("format") != FORMAT or not header.get("explain"):
            return None
        # the arrays an explanation reads a few values of (the components of a pair's
        # breakdown, its start and months) stay in their stored types: converting them
        # was a third of reading the blob at 10,000 x 2,000
        pairs = Pairs(z["v"].astype(np.int32), z["p"].astype(np.int32), z["start"], z["months"])
        names = header["components"]
        scores = Scores(
            z["total"].astype(np.int64), {n: z[f"component{i}"] for i, n in enumerate(names)}
        )
        chosen = np.sort(z["chosen"].astype(np.intp))
        vids, pids = _split(z["vids"]), _split(z["pids"])
        out = ExplainArrays(
            volunteer_ids=vids,
            placement_ids=pids,
            vindex={x: i for i, x in enumerate(vids)},
            pindex={x: i for i, x in enumerate(pids)},
            vpos=z["vpos"].astype(np.int64),
            ppos=z["ppos"].astype(np.int64),
            pairs=pairs,
            scores=scores,
            chosen=chosen,
            capacity=z["capacity"].astype(np.int64),
            locked=z["locked"].astype(np.intp),
            net=np.sort(z["net"].astype(np.intp)),
            exact=bool(header["exact"]),
            status=str(header["status"]),
            mode=str(header["mode"]),
        )
    if (
        len(pairs) != header["pairs"]
        or len(vids) != header["volunteers"]
        or len(pids) != header["placements"]
    ):
        return None
    return out
