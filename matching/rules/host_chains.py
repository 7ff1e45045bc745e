"""Ejection chains across hosts under `max_per_host`: a volunteer enters a placement
whose host is at its cap, one of the host's volunteers moves to another host, and so
on until a host with room (or the last one ejected goes unplaced when that still
gains). A window of a dozen placements seldom holds both ends of such a chain, so the
search stalls on it without this neighbourhood."""

from __future__ import annotations

from volmatch.matching.rules.local import Local, Move, Tentative, View, eject_chain, gains

HOST_CHAIN_DEPTH = 3
"""Ejections a chain may hold: hosts seldom need longer chains, and each step
multiplies the chains tried."""
HOST_WISHES = 400
"""Wishes (a volunteer, a better pair) looked at per pass, largest gain first."""
HOST_CHAINS = 40
"""Chains offered per pass at most: each is checked on the whole round."""


def host_chain_moves(local: Local, view: View) -> list[Move]:
    """Chains for the wishes that a host at its cap blocks."""
    cap = local.policy.max_per_host
    if cap is None:
        return []
    c, pairs = local.prep.compiled, local.prep.pairs
    out: list[Move] = []
    for v, i in gains(local, view, HOST_WISHES):
        h = int(c.host[pairs.p[i]])
        if view.host_load[h] < cap or (view.at[v] >= 0 and c.host[pairs.p[view.at[v]]] == h):
            continue  # not the host's cap that blocks this wish
        move = eject_chain(local, Tentative(local, view), v, i, HOST_CHAIN_DEPTH)
        if move is not None:
            out.append(move)
            if len(out) >= HOST_CHAINS:
                break
    return out
