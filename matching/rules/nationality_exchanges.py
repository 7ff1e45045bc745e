"""Nationality exchanges under a tight cap per placement
(`max_same_nationality_per_placement`): a volunteer enters a placement that holds its
cap of their nationality, one of that nationality there moves on to a placement
holding fewer, and where that one is full someone of another nationality moves on in
turn (often into the place the first volunteer left: an exchange of nationalities
between placements). Each step alone breaks the cap or leaves a slot empty, so a
window that does not hold all the placements involved never finds it."""

from __future__ import annotations

from volmatch.matching.rules.local import Local, Move, Tentative, View, eject_chain, gains

NATIONALITY_DEPTH = 3
"""Ejections an exchange may hold (two make the three-placement exchange)."""
NATIONALITY_WISHES = 400
"""Wishes (a volunteer, a better pair) looked at per pass, largest gain first."""
NATIONALITY_EXCHANGES = 40
"""Exchanges offered per pass at most: each is checked on the whole round."""


def nationality_moves(local: Local, view: View) -> list[Move]:
    """Exchanges for the wishes that a placement's nationality cap blocks."""
    cap = local.policy.max_same_nationality_per_placement
    if cap is None:
        return []
    c, pairs = local.prep.compiled, local.prep.pairs
    out: list[Move] = []
    for v, i in gains(local, view, NATIONALITY_WISHES):
        q = int(pairs.p[i])
        same = int((c.nationality[view.occupants(q)] == c.nationality[v]).sum())
        if same < cap or (view.at[v] >= 0 and pairs.p[view.at[v]] == q):
            continue  # not the cap that blocks this wish
        move = eject_chain(local, Tentative(local, view), v, i, NATIONALITY_DEPTH)
        if move is not None:
            out.append(move)
            if len(out) >= NATIONALITY_EXCHANGES:
                break
    return out
