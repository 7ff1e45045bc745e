"""The objective tiers of a round with rules, in the order they are optimised."""

from __future__ import annotations

from volmatch.models import Policy


def tier_names(policy: Policy, skip: frozenset[str] = frozenset()) -> list[str]:
    """The objective tiers in the order they are optimised: `min_fill` first when the
    policy sets it (and it is not skipped), then the policy's `objective`, or `score`
    alone when the objective is skipped."""
    first = ["min_fill"] if policy.min_fill and "min_fill" not in skip else []
    return first + (["score"] if "objective" in skip else list(policy.objective))
