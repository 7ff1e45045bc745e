"""Outcomes of earlier rounds feeding the next one, through explicit policy fields that
are off by default (`docs/lifecycle.md`):

- `policy.continuity_bonus`: a volunteer who completed a deployment with a host rating
  of at least `min_rating` gets `host` points for any placement of that host, or
  `country` points for one in that country (the larger applies, never both); they
  become `policy.bonus` entries, shown as `continuity` in the score breakdown;
- `policy.exclude_skills_mismatch`: a volunteer whose deployment ended early for
  skills mismatch is never matched to that host again (`policy.forbidden` entries);
- `policy.host_reliability_kpi`: each host's completion rate, a key figure for planners
  (`host_reliability`, and the mean over a result's assignments), not a score.

An outcome names its host and country where its placement is not in the round (it came
from an earlier round); otherwise they are read from the placement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from volmatch.models import Pair, PairBonus, Result, Round
from volmatch.models.lifecycle import EarlyEndReason, Outcome


@dataclass(frozen=True)
class Reliability:
    """A host's deployments that ended, and how many were completed."""

    ended: int
    completed: int

    @property
    def rate(self) -> float:
        """Completion rate in [0, 1]."""
        return self.completed / self.ended if self.ended else 0.0


def _where(r: Round, o: Outcome) -> tuple[str | None, str | None]:
    """The outcome's host and country (the round's placement fills what it omits)."""
    p = next((x for x in r.placements if x.id == o.placement), None)
    host = o.host or (p.host if p is not None else None)
    country = o.country or (p.country if p is not None else None)
    return host, country


def host_reliability(r: Round, outcomes: Iterable[Outcome]) -> dict[str, Reliability]:
    """Per host: deployments ended and completed (host ids sorted)."""
    count: dict[str, list[int]] = {}
    for o in outcomes:
        host, _ = _where(r, o)
        if host is None:
            continue
        c = count.setdefault(host, [0, 0])
        c[0] += 1
        c[1] += int(o.completed)
    return {h: Reliability(n, k) for h, (n, k) in sorted(count.items())}


def outcome_kpis(
    r: Round, outcomes: Iterable[Outcome], placed: Iterable[tuple[str, str]] = ()
) -> dict[str, object]:
    """Key figures for planners from earlier outcomes, to show beside a round's own,
    where `policy.host_reliability_kpi` is on and outcomes are given (empty otherwise):

    - `host_reliability`: host -> completion rate of its deployments that ended;
    - `host_deployments_ended`: host -> how many ended (the rate's sample size);
    - `placed_host_reliability`: over `placed` (volunteer, placement) pairs of this round
      at hosts with a record, the mean of their hosts' rates (null where none);
    - `placed_at_rated_hosts`: how many of `placed` are at such hosts.
    """
    outs = list(outcomes)
    if not r.policy.host_reliability_kpi or not outs:
        return {}
    rel = host_reliability(r, outs)
    host_of = {p.id: p.host for p in r.placements}
    rates = [rel[h].rate for _, p in placed if (h := host_of.get(p)) is not None and h in rel]
    return {
        "host_reliability": {h: round(x.rate, 4) for h, x in rel.items()},
        "host_deployments_ended": {h: x.ended for h, x in rel.items()},
        "placed_host_reliability": round(sum(rates) / len(rates), 4) if rates else None,
        "placed_at_rated_hosts": len(rates),
    }


def with_outcome_kpis(result: Result, r: Round, outcomes: Iterable[Outcome]) -> Result:
    """The result with `outcome_kpis` (of its own assignments) added to its `kpis`."""
    extra = outcome_kpis(r, outcomes, [(a.volunteer, a.placement) for a in result.assignments])
    if not extra:
        return result
    return result.model_copy(update={"kpis": {**result.kpis, **extra}})


def solve_with_outcomes(r: Round, outcomes: Iterable[Outcome], **solve: Any) -> Result:
    """Run the round with earlier outcomes fed in: `apply_outcomes`, then
    `matching.solve_round` (keyword arguments passed on), then `with_outcome_kpis`."""
    from volmatch.matching.solve import solve_round

    outs = list(outcomes)
    fed = apply_outcomes(r, outs)
    return with_outcome_kpis(solve_round(fed, **solve), fed, outs)


def apply_outcomes(r: Round, outcomes: Iterable[Outcome]) -> Round:
    """The round with the policy's outcome rules turned into `bonus` and `forbidden`
    entries (unchanged where the policy switches them off)."""
    pol = r.policy
    outs = list(outcomes)
    vids = {v.id for v in r.volunteers}
    good_host: dict[str, set[str]] = {}
    good_country: dict[str, set[str]] = {}
    mismatch: dict[str, set[str]] = {}
    for o in outs:
        if o.volunteer not in vids:
            continue
        host, country = _where(r, o)
        bonus = pol.continuity_bonus
        if bonus is not None and o.completed and (o.host_rating or 0) >= bonus.min_rating:
            if host is not None:
                good_host.setdefault(o.volunteer, set()).add(host)
            if country is not None:
                good_country.setdefault(o.volunteer, set()).add(country)
        if (
            pol.exclude_skills_mismatch
            and o.ended_early_reason is EarlyEndReason.SKILLS_MISMATCH
            and host is not None
        ):
            mismatch.setdefault(o.volunteer, set()).add(host)
    bonuses: list[PairBonus] = []
    forbidden: list[Pair] = []
    have_forbidden = {(f.volunteer, f.placement) for f in pol.forbidden}
    locked = {(k.volunteer, k.placement) for k in pol.locked}
    # Only volunteers with a record that counts can gain an entry: looping over every
    # pair instead made a 100,000 x 20,000 round spend minutes here with no outcomes.
    for v in sorted(set(mismatch) | set(good_host) | set(good_country)):
        for p in r.placements:
            if p.host in mismatch.get(v, ()):
                if (v, p.id) not in have_forbidden and (v, p.id) not in locked:
                    forbidden.append(Pair(volunteer=v, placement=p.id))
                continue
            cb = pol.continuity_bonus
            if cb is None:
                continue
            at_host = cb.host if p.host in good_host.get(v, ()) else 0
            in_country = cb.country if p.country in good_country.get(v, ()) else 0
            points = max(at_host, in_country)
            if points > 0:
                why = (
                    f"completed well with host {p.host} before"
                    if at_host >= in_country
                    else f"completed well in {p.country} before"
                )
                bonuses.append(PairBonus(volunteer=v, placement=p.id, points=points, reason=why))
    if not bonuses and not forbidden:
        return r
    policy = pol.model_copy(
        update={
            "bonus": (*pol.bonus, *bonuses),
            "forbidden": (*pol.forbidden, *forbidden),
        }
    )
    return r.model_copy(update={"policy": policy})
