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
"""

from __future__ import annotations

import io
import json
import zlib
from typing import Final

import numpy as np
from numpy.typing import NDArray

from volmatch.api.service.tables import ResultPairsRow
from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import Pairs
from volmatch.matching.prepared import Prepared
from volmatch.matching.scoring import Scores

FORMAT: Final = 1
"""The blob's layout version: a row of another version is ignored (the round is then
prepared from its document)."""
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
        "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        "v": _small(pairs.v),
        "p": _small(pairs.p),
        "start": _small(pairs.start),
        "months": _small(pairs.months),
        "total": _small(scores.total),
        "chosen": _small(np.asarray(chosen)),
    }
    for i, values in enumerate(scores.components.values()):
        arrays[f"component{i}"] = _small(values)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return zlib.compress(buf.getvalue(), ZLIB_LEVEL)


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
            header.get("format") != FORMAT
            or header["volunteers"] != compiled.n_volunteers
            or header["placements"] != compiled.n_placements
        ):
            return None
        # the types `prepare` makes, so that everything downstream computes the same
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
        chosen = np.sort(z["chosen"].astype(np.intp))
    if len(pairs) != header["pairs"]:
        return None
    return Prepared(compiled, pairs, scores, {}), chosen, header["status"], header["mode"]
