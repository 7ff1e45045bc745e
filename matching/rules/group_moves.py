"""Groups (couples, pairs) moved as one: every member to a common placement
(`group_together: placement`) or into one host country (`country`), whoever must make
room moving on to their next best pair. One member alone can never move (the group
would split), and a window holds a group's old and new places together only by
chance, so the search stalls on groups without this neighbourhood; across countries
the move also trades one country's budget and shares against another's."""

from __future__ import annotations

from volmatch.matching.rules.local import IntP, Local, Move, Tentative, View, eject_chain

GROUP_TARGETS = 6
"""Places (placements or countries) tried per group, best summed score first."""
GROUP_EJECT_DEPTH = 2
"""Ejections each member's entry may cause (room made by a short chain)."""
GROUP_PLACEMENTS = 4
"""Placements of the country each member tries, best first (in `group_together:
country`; one placement in `placement` mode)."""
GROUP_MOVES = 60
"""Moves offered per pass at most: each is checked on the whole round."""


def group_moves(local: Local, view: View) -> list[Move]:
    """For each group that may move, the group into each of its best other places."""
    c, pairs, score = local.prep.compiled, local.prep.pairs, local.prep.scores.total
    by_country = local.policy.group_together != "placement"
    out: list[Move] = []
    for members in local.members.values():
        if len(members) < 2 or local.fixed_v[members].any():
            continue
        best: list[dict[int, list[int]]] = []  # per member: place -> pairs there, best first
        for m in members.tolist():
            mine: dict[int, list[int]] = {}
            for j in local.options(m).tolist():
                key = int(c.country[pairs.p[j]]) if by_country else int(pairs.p[j])
                mine.setdefault(key, []).append(j)
            best.append(mine)
        common = set(best[0]).intersection(*best[1:])
        now = view.at[members[0]]
        if now >= 0:
            common.discard(int(c.country[pairs.p[now]]) if by_country else int(pairs.p[now]))
        ranked = sorted(common, key=lambda k: (-sum(int(score[b[k][0]]) for b in best), k))
        for key in ranked[:GROUP_TARGETS]:
            move = _enter(local, view, members, [b[key] for b in best])
            if move is not None:
                out.append(move)
        if len(out) >= GROUP_MOVES:
            break
    return out


def _enter(local: Local, view: View, members: IntP, into: list[list[int]]) -> Move | None:
    """Every member at one of their pairs `into` (best first: in a country, members
    take its placements one by one), each one's room made by a short chain."""
    t = Tentative(local, view)
    for m in members.tolist():
        t.left.add(m)  # the whole group leaves first: its old places make room
    move: Move = []
    for m, js in zip(members.tolist(), into, strict=True):
        part = None
        for j in js[:GROUP_PLACEMENTS]:
            part = eject_chain(local, t, m, j, GROUP_EJECT_DEPTH)
            if part is not None:
                break
        if part is None:
            return None
        t.record(part)
        move.extend(part)
    return move
