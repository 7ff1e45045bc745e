"""What placing an unplaced volunteer, or filling one more open slot, costs the round.

The numbers come from the residual network of the best round under the hard rules
(`matching.regret`): exact drops of the optimal total, and the vacancy chain that
reaches them. Where the result *is* that optimum (the pure policy), the chain is told
step by step; where it is not (policy rules, stable mode), only the number is given and
it is said to hold under the hard rules alone, since the chain's people sit where the
other round puts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from string import Formatter
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared, locked_pair_indices
from volmatch.matching.pure import needs_rules, solve_pure
from volmatch.matching.regret import UNREACHABLE, Hop, ResidualNetwork, segment_ranges
from volmatch.models.reasons import TEMPLATES, Reason, part, text_of

I64 = NDArray[np.int64]


class Explained(NamedTuple):
    """The reasons for one volunteer or placement, as parts and as sentences, with the
    cost and the record it names (best placement, or the next volunteer in line)."""

    cost: int | None
    other: int | None
    parts: list[Reason]
    texts: list[str]


@dataclass
class Pricing:
    """The best round under the hard rules, its residual network, and how to speak of it."""

    prep: Prepared
    net: ResidualNetwork
    exact: bool
    """Whether the result being explained is this very optimum."""
    tie_break: Reason
    _chains: dict[int, tuple[list[Reason], str]] = field(
        default_factory=dict, init=False, repr=False
    )

    @cached_property
    def _lookup(self) -> tuple[I64, I64 | None]:
        """The pairs' keys in ascending order, and the order that sorts them (None when
        they come sorted): made on the first `pair` call, which few results make."""
        c, pairs = self.prep.compiled, self.prep.pairs
        keys = c.pair_keys(pairs.v, pairs.p)
        if len(keys) > 1 and bool(np.any(keys[1:] < keys[:-1])):
            order = np.argsort(keys, kind="stable")
            return keys[order], order
        return keys, None

    def pair(self, v: int, p: int) -> int:
        """The index of the eligible pair (volunteer `v`, placement `p`)."""
        keys, order = self._lookup
        key = int(p) * max(self.prep.compiled.n_volunteers, 1) + int(v)  # as `pair_keys`
        at = int(np.searchsorted(keys, key))
        return int(order[at]) if order is not None else at

    @cached_property
    def unplaced(self) -> tuple[I64, I64]:
        """`ResidualNetwork.unplaced_costs` (cost and best pair per volunteer)."""
        return self.net.unplaced_costs()

    @cached_property
    def tree(self) -> tuple[list[int], list[int], list[int]] | None:
        """`ResidualNetwork.moves_to_source` where chains are told (`exact`), else None;
        as lists, which the thousands of chains read faster than arrays."""
        if not self.exact:
            return None
        _ = self.unplaced  # the tree comes from its run
        nxt, via, cost = self.net.moves_to_source()
        return nxt.tolist(), via.tolist(), cost.tolist()

    @cached_property
    def open(self) -> I64:
        """`ResidualNetwork.open_costs` (the drop per open placement)."""
        return self.net.open_costs()

    def chain_of(self, p: int) -> tuple[list[Reason], str]:
        """The vacancy chain that frees a slot of `p` (needs `tree`), as reasons and
        their joined sentence, made once per placement."""
        chain = self._chains.get(p)
        if chain is None:
            assert self.tree is not None
            chain = self._chains[p] = _chain(self, self.net.chain_to_source(p, *self.tree))
        return chain

    def score(self, v: int, p: int) -> int:
        """The score of volunteer `v` at placement `p` (an eligible pair)."""
        return int(self.prep.scores.total[self.pair(v, p)])


def is_pure_optimum(prep: Prepared, status: str, mode: str) -> bool:
    """Whether a result of this round is the best round under the hard rules."""
    return mode == "optimal" and status == "optimal" and not needs_rules(prep)


def pricing(prep: Prepared, chosen: NDArray[np.intp], exact: bool) -> Pricing:
    """The pricing of a result (`chosen`): its own residual network when it is the pure
    optimum (`exact`), else that of the pure optimum of the same pairs (solved here)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    if not exact:
        chosen = solve_pure(prep).chosen
    net = ResidualNetwork(
        c.n_volunteers,
        c.capacity,
        pairs.v,
        pairs.p,
        scores.total,
        chosen,
        locked_pair_indices(prep),
    )
    tie = part("tie_previous") if c.round.previous else part("tie_arbitrary")
    return Pricing(prep, net, exact, tie)


def _chain(pr: Pricing, hops: list[Hop]) -> tuple[list[Reason], str]:
    """The steps of a chain as reasons, and their sentences joined as `render` joins
    them (formatted here from the templates: thousands of chains per large round)."""
    ids_v, ids_p = pr.prep.compiled.volunteer_ids, pr.prep.compiled.placement_ids
    out: list[Reason] = []
    texts: list[str] = []
    for h in hops:
        if h.volunteer is None:
            if h.frm is not None:
                params: dict[str, object] = {"placement": ids_p[h.frm]}
                code = "hop_was_open"
            else:
                continue
        elif h.frm is None and h.to is not None:
            params = {"volunteer": ids_v[h.volunteer], "to": ids_p[h.to], "score_to": h.score_to}
            code = "hop_enters"
        elif h.frm is not None and h.to is None:
            params = {
                "volunteer": ids_v[h.volunteer],
                "frm": ids_p[h.frm],
                "score_from": h.score_from,
            }
            code = "hop_leaves"
        elif h.frm is not None and h.to is not None:
            params = {
                "volunteer": ids_v[h.volunteer],
                "frm": ids_p[h.frm],
                "score_from": h.score_from,
                "to": ids_p[h.to],
                "score_to": h.score_to,
            }
            code = "hop_moves"
        else:
            continue
        out.append({"code": code, "params": params})
        texts.append(TEMPLATES[code].format_map(params))
    return out, "; ".join(texts)


def unplaced_reasons(
    pr: Pricing, vis: I64, filled: I64, pairs_per: I64 | None = None
) -> dict[int, Explained]:
    """For each unplaced volunteer that has eligible pairs: how many placements they fit
    and how many are full, and what placing them anywhere costs the best round
    (`pairs_per`: each volunteer's number of eligible pairs, when the caller has it)."""
    prep = pr.prep
    c, pairs = prep.compiled, prep.pairs
    out: dict[int, Explained] = {}
    if len(vis) == 0:
        return out
    cost, best = pr.unplaced
    n_pairs = np.bincount(pairs.v, minlength=c.n_volunteers) if pairs_per is None else pairs_per
    n_full = n_pairs - _open_pairs_per_volunteer(prep, filled)
    tree = pr.tree
    vids, pids = c.volunteer_ids, c.placement_ids
    # volunteers share their head ("eligible for n placements, k of them full"): one
    # reason and sentence per distinct (n, k)
    n_vis, k_vis = n_pairs[vis], n_full[vis]
    kinds, which = np.unique(n_vis * (int(n_vis.max()) + 1) + k_vis, return_inverse=True)
    first = np.zeros(len(kinds), dtype=np.int64)
    first[which[::-1]] = np.arange(len(vis) - 1, -1, -1)
    heads = []
    for n, k in zip(n_vis[first].tolist(), k_vis[first].tolist(), strict=True):
        r = part("eligible_for", count=n, full=k)
        heads.append((r, text_of(r)))
    heads_r, heads_t = [h[0] for h in heads], [h[1] for h in heads]
    b = best[vis]
    locked = b < 0  # every slot they fit is held by a lock
    if locked.any():
        by_volunteer = _placements_by_volunteer(prep)
        for vi, h in zip(vis[locked].tolist(), which.reshape(-1)[locked].tolist(), strict=True):
            r = part("slots_locked", placements=sorted(pids[q] for q in by_volunteer[vi]))
            out[vi] = Explained(None, None, [heads_r[h], r], [heads_t[h], text_of(r)])
        vis, which, b = vis[~locked], which.reshape(-1)[~locked], b[~locked]
        if len(vis) == 0:  # all of them: nothing left to price
            return out
    cv_a, p_a, s_a = cost[vis], pairs.p[b], prep.scores.total[b]
    if tree is None:
        # every param is a number or an id: the sentence is the template filled in, as
        # `text_of` fills it (without its cache, which no volunteer's sentence hits)
        tie_t, costs_t = TEMPLATES["tie_hard_rules"], TEMPLATES["costs_hard_rules"]
        for vi, h, cv, p, score in zip(
            vis.tolist(),
            which.reshape(-1).tolist(),
            cv_a.tolist(),
            p_a.tolist(),
            s_a.tolist(),
            strict=True,
        ):
            params = {"volunteer": vids[vi], "placement": pids[p], "score": score}
            if cv:
                params["cost"] = cv
                why: Reason = {"code": "costs_hard_rules", "params": params}
                said = costs_t.format_map(params)
            else:
                why = {"code": "tie_hard_rules", "params": params}
                said = tie_t.format_map(params)
            out[vi] = Explained(cv, p, [heads_r[h], why], [heads_t[h], said])
        return out
    # the sentences of the many are assembled from each chain's pieces of text, made
    # once per placement and kind: the same as `text_of`, a tenth of the time. The
    # volunteers go by kind (tie or not), each kind in one comprehension that reads its
    # (placement, kind)'s pieces by index.
    tie = cv_a == 0
    key = p_a * 2 + ~tie
    kinds_at, group = np.unique(key, return_inverse=True)
    group = group.reshape(-1)
    tie_text, tie_parts = text_of(pr.tie_break), [pr.tie_break]
    pieces: list[tuple[object, ...]] = []
    for k in kinds_at.tolist():
        p = k >> 1
        hops, said = pr.chain_of(p)
        pid = pids[p]
        if k & 1:
            pieces.append((p, pid, hops, *_pieces("costs", placement=pid, hop_parts=said)))
        else:
            pieces.append(
                (
                    p,
                    pid,
                    hops,
                    *_pieces("tie", placement=pid, hop_parts=said, tie_break_parts=tie_text),
                )
            )
    which = which.reshape(-1)
    new = tuple.__new__  # `Explained(...)` without its Python-level constructor
    at = np.flatnonzero(tie)
    out.update(
        {
            vi: new(
                Explained,
                (
                    0,
                    p,
                    [
                        hr,
                        {
                            "code": "tie",
                            "params": {
                                "volunteer": vid,
                                "placement": pid,
                                "score": score,
                                "hop_parts": hops,
                                "tie_break_parts": tie_parts,
                            },
                        },
                    ],
                    [ht, f"{t0}{vid}{t1}{score}{t2}"],
                ),
            )
            for vi, vid, score, hr, ht, (p, pid, hops, t0, t1, t2) in zip(
                vis[at].tolist(),
                [vids[vi] for vi in vis[at].tolist()],
                s_a[at].tolist(),
                [heads_r[h] for h in which[at].tolist()],
                [heads_t[h] for h in which[at].tolist()],
                [pieces[g] for g in group[at].tolist()],
                strict=True,
            )
        }
    )
    at = np.flatnonzero(~tie)
    out.update(
        {
            vi: new(
                Explained,
                (
                    cv,
                    p,
                    [
                        hr,
                        {
                            "code": "costs",
                            "params": {
                                "volunteer": vid,
                                "cost": cv,
                                "placement": pid,
                                "score": score,
                                "hop_parts": hops,
                            },
                        },
                    ],
                    [ht, f"{t0}{vid}{t1}{cv}{t2}{score}{t3}"],
                ),
            )
            for vi, vid, cv, score, hr, ht, (p, pid, hops, t0, t1, t2, t3) in zip(
                vis[at].tolist(),
                [vids[vi] for vi in vis[at].tolist()],
                cv_a[at].tolist(),
                s_a[at].tolist(),
                [heads_r[h] for h in which[at].tolist()],
                [heads_t[h] for h in which[at].tolist()],
                [pieces[g] for g in group[at].tolist()],
                strict=True,
            )
        }
    )
    return out


_SLOT: Final = "\x00"
"""Marks a field left to fill in `_pieces` (no id, by `ID_PATTERN`, nor number holds it)."""

_TIE_SLOTS: Final = ("volunteer", "score")
_COSTS_SLOTS: Final = ("volunteer", "cost", "score")


def _slots_in_order(template: str, slots: tuple[str, ...]) -> tuple[str, ...]:
    """`slots`, checked to stand in `template` once each and in that order (as the
    sentences of `unplaced_reasons` put their values between `_pieces`)."""
    found = [n for _, n, _, _ in Formatter().parse(template) if n in slots]
    if found != list(slots):
        raise ValueError(f"{template!r} does not hold {slots} once each, in that order")
    return slots


_SLOTS_OF: Final = {
    code: dict.fromkeys(_slots_in_order(TEMPLATES[code], slots), _SLOT)
    for code, slots in (("tie", _TIE_SLOTS), ("costs", _COSTS_SLOTS))
}


def _pieces(code: str, **fixed: object) -> tuple[str, ...]:
    """The sentence of `code` with `fixed` filled in, cut where the fields of
    `_SLOTS_OF[code]` go: the sentence is the pieces with those values between them."""
    return tuple(TEMPLATES[code].format(**fixed, **_SLOTS_OF[code]).split(_SLOT))


def _open_pairs_per_volunteer(prep: Prepared, filled: I64) -> I64:
    """Per volunteer: their eligible pairs at placements with a slot open. Pairs come
    grouped by placement, so only the open placements' runs are read (few, against
    every pair); in any other order all are."""
    c, pp = prep.compiled, prep.pairs.p
    open_p = np.flatnonzero(filled < c.capacity)
    if len(pp) > 1 and bool(np.any(pp[1:] < pp[:-1])):
        at = np.flatnonzero((filled < c.capacity)[pp])
    else:
        open_p = open_p.astype(pp.dtype)  # else the pairs' int32 are copied to compare
        lo = np.searchsorted(pp, open_p, side="left")
        hi = np.searchsorted(pp, open_p, side="right")
        at = segment_ranges(lo, hi - lo)
    return np.bincount(prep.pairs.v[at], minlength=c.n_volunteers)


def _placements_by_volunteer(prep: Prepared) -> dict[int, list[int]]:
    """Each volunteer's eligible placements (for the rare reasons that list them)."""
    pairs = prep.pairs
    order = np.argsort(pairs.v, kind="stable")
    vs, ps = pairs.v[order], pairs.p[order]
    cuts = np.flatnonzero(np.diff(vs)) + 1
    return {
        int(v[0]): p.tolist()
        for v, p in zip(np.split(vs, cuts), np.split(ps, cuts), strict=True)
        if len(v)
    }


def open_reasons(
    pr: Pricing, pis: I64, filled: I64, pairs_per: I64 | None = None
) -> dict[int, Explained]:
    """For each placement with open slots and eligible volunteers: whether fewer are
    eligible than it has slots, and what filling one more slot costs the best round
    (`pairs_per`: each placement's number of eligible pairs, when the caller has it)."""
    prep, net = pr.prep, pr.net
    c, pairs = prep.compiled, prep.pairs
    out: dict[int, Explained] = {}
    if len(pis) == 0:
        return out
    costs = pr.open
    n_elig = np.bincount(pairs.p, minlength=c.n_placements) if pairs_per is None else pairs_per
    vids = c.volunteer_ids
    tie_text = text_of(pr.tie_break)
    # per placement, as lists: thousands of them are read one by one
    held = net.fill + (c.capacity - net.free_capacity)  # in the best round, locked ones too
    for pi, cap, elig, cv, best_fill, is_open in zip(
        pis.tolist(),
        c.capacity[pis].tolist(),
        np.asarray(n_elig)[pis].tolist(),
        costs[pis].tolist(),
        held[pis].tolist(),
        net.open[pis].tolist(),
        strict=True,
    ):
        parts: list[Reason] = []
        if elig < cap:
            parts.append(part("few_eligible", eligible=elig, slots=cap))
        nearest: int | None = None
        cv_out: int | None = None
        said: str | None = None  # the last part's sentence, where it is made here
        if not is_open:
            # open here, full in the best round under the hard rules (rules, stable mode)
            parts.append(part("filled_under_hard_rules", slots=cap))
            cv_out = 0
        elif cv == UNREACHABLE:
            if pr.exact:
                parts.append(part("nobody_left"))
            else:
                parts.append(part("nobody_left_hard_rules", best_fill=best_fill, slots=cap))
        else:
            cv_out = cv
            hops = net.chain_to_open(pi)
            nearest = hops[0].volunteer if hops else None
            if pr.exact:
                # the sentence from the chain's own, as `text_of` would render it
                hop_parts, hops_said = _chain(pr, hops)
                if cv == 0:
                    parts.append(
                        part("open_tie", hop_parts=hop_parts, tie_break_parts=[pr.tie_break])
                    )
                    fill = {"hop_parts": hops_said, "tie_break_parts": tie_text}
                else:
                    parts.append(part("open_costs", cost=cv, hop_parts=hop_parts))
                    fill = {"cost": cv, "hop_parts": hops_said}
                said = TEMPLATES[parts[-1]["code"]].format_map(fill)
            elif nearest is not None:
                params = {
                    "best_fill": best_fill,
                    "slots": cap,
                    "volunteer": vids[nearest],
                    "score": pr.score(nearest, pi),
                }
                if cv:
                    params["cost"] = cv
                parts.append(
                    part("open_tie_hard_rules" if cv == 0 else "open_costs_hard_rules", **params)
                )
        texts = [text_of(r) for r in (parts[:-1] if said is not None else parts)]
        if said is not None:
            texts.append(said)
        out[pi] = Explained(cv_out, nearest, parts, texts)
    return out
