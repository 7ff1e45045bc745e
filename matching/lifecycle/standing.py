"""Who stands where after a round was published: its offers read against the compiled
arrays and sorted into frozen, declined and pending volunteers (`matching.lifecycle.
backfill` explains the three)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.failures import pair_failure_details
from volmatch.matching.prepared import Prepared, locked_pair_indices
from volmatch.matching.previous import pair_index
from volmatch.models import ErrorItem
from volmatch.models.lifecycle import InvalidBackfill

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Standing:
    """The offers of a round read against its compiled arrays (volunteer indices)."""

    declined: I64
    frozen_pairs: I64
    """Pair indices of the frozen volunteers (accepted or deployed; the round's locks)."""
    pending_v: I64
    pending_p: I64
    pending_pair: I64
    """Pair index of each pending offer, -1 where it cannot be kept (the pair breaks a
    hard rule now or the need was withdrawn)."""
    withdrawn: NDArray[np.bool_]
    """Per placement: withdrawn by its host."""
    offer_p: dict[int, int]
    """Volunteer index -> placement index of every offer given."""


def _ids(values: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(values))


def read_standing(
    prep: Prepared,
    offers: Mapping[str, str],
    declined: Iterable[str],
    accepted: Iterable[str] | None,
    withdrawn: Iterable[str],
) -> Standing:
    """Check the offers against the round and sort the volunteers into frozen, declined
    and pending; raises `InvalidBackfill` naming every bad record and field at once."""
    c, pairs = prep.compiled, prep.pairs
    errors: list[ErrorItem] = []
    offer_p: dict[int, int] = {}
    for v, p in offers.items():
        vi, pi = c.vindex.get(v), c.pindex.get(p)
        if vi is None:
            errors.append(ErrorItem("offers", v, "volunteer", f"unknown volunteer {v!r}"))
        if pi is None:
            errors.append(ErrorItem("offers", v, "placement", f"unknown placement {p!r}"))
        if vi is not None and pi is not None:
            offer_p[vi] = pi
    down = _ids(declined)
    for v in down:
        if v not in c.vindex:
            errors.append(ErrorItem("declined", v, "volunteer", f"unknown volunteer {v!r}"))
        elif v not in offers:
            errors.append(ErrorItem("declined", v, "volunteer", f"{v} holds no offer to decline"))
    up = None if accepted is None else _ids(accepted)
    for v in up or []:
        if v not in c.vindex:
            errors.append(ErrorItem("accepted", v, "volunteer", f"unknown volunteer {v!r}"))
        elif v not in offers:
            errors.append(ErrorItem("accepted", v, "volunteer", f"{v} holds no offer to accept"))
        elif v in down:
            errors.append(
                ErrorItem("accepted", v, "volunteer", f"{v} is both accepted and declined")
            )
    gone = np.zeros(c.n_placements, dtype=np.bool_)
    for p in _ids(withdrawn):
        if p not in c.pindex:
            errors.append(ErrorItem("withdrawn", p, "placement", f"unknown placement {p!r}"))
        else:
            gone[c.pindex[p]] = True
    if errors:
        raise InvalidBackfill(errors)
    down_v = {c.vindex[v] for v in down}
    locked = holding_locks(prep, down_v, gone)
    locked_v = set(pairs.v[locked].tolist())
    up_v = set(offer_p) - down_v if up is None else {c.vindex[v] for v in up}
    frozen_v = np.array(
        sorted(v for v in up_v if not gone[offer_p[v]] and v not in locked_v), dtype=np.int64
    )
    frozen_p = np.array([offer_p[v] for v in frozen_v.tolist()], dtype=np.int64)
    at = pair_index(c, pairs, frozen_v, frozen_p)
    for k in np.flatnonzero(at < 0).tolist():
        vi, pi = int(frozen_v[k]), int(frozen_p[k])
        why = "; ".join(f"{r}: {d}" for r, d in pair_failure_details(c, vi, pi).items())
        errors.append(
            ErrorItem(
                "accepted",
                c.volunteer_ids[vi],
                "placement",
                f"the accepted pair {c.volunteer_ids[vi]}->{c.placement_ids[pi]} breaks a "
                f"hard rule now ({why}); withdraw the need or the acceptance",
            )
        )
    if errors:
        raise InvalidBackfill(errors)
    frozen_pairs = np.unique(np.concatenate([at.astype(np.int64), locked]))
    per_p = np.bincount(pairs.p[frozen_pairs], minlength=c.n_placements)
    for pi in np.flatnonzero(per_p > c.capacity).tolist():
        errors.append(
            ErrorItem(
                "accepted",
                c.placement_ids[pi],
                "slots",
                f"{int(per_p[pi])} accepted volunteers for {int(c.capacity[pi])} slot(s)",
            )
        )
    if errors:
        raise InvalidBackfill(errors)
    pending = sorted(
        v
        for v in offer_p
        if v not in down_v and v not in locked_v and (v not in up_v or gone[offer_p[v]])
    )
    pending_v = np.array(pending, dtype=np.int64)
    pending_p = np.array([offer_p[v] for v in pending], dtype=np.int64)
    at = pair_index(c, pairs, pending_v, pending_p).astype(np.int64)
    at[gone[pending_p]] = -1
    return Standing(
        declined=np.array(sorted(down_v), dtype=np.int64),
        frozen_pairs=frozen_pairs,
        pending_v=pending_v,
        pending_p=pending_p,
        pending_pair=at,
        withdrawn=gone,
        offer_p=offer_p,
    )


def holding_locks(prep: Prepared, down_v: Set[int], gone: NDArray[np.bool_]) -> I64:
    """Pair indices of the round's locks that still hold after publication.

    A lock says where the coordinator wants a volunteer, not that they must go: once the
    volunteer declines (or lets the offer expire) they are out of the round, and a need
    its host withdrew holds nobody, so neither lock binds the backfill. A released lock
    whose volunteer did not decline leaves them movable like a pending offer.
    """
    locked = locked_pair_indices(prep).astype(np.int64)
    out = np.zeros(prep.compiled.n_volunteers, dtype=np.bool_)
    out[list(down_v)] = True
    released = out[prep.pairs.v[locked]] | gone[prep.pairs.p[locked]]
    return locked[~released]


def pending_pairs(prep: Prepared, st: Standing) -> I64:
    """Pair index of each pending offer that can still be kept (-1 where it cannot: the
    pair breaks a hard rule now or the need was withdrawn); a copy."""
    return st.pending_pair.copy()
