"""The navigation bar of each role: (label, path) pairs, labels through gettext. Each
role's pages add their entries here (web-coord: coordinator, web-planner: planner)."""

from __future__ import annotations

from collections.abc import Callable


def nav_for(role: str | None, _: Callable[[str], str]) -> list[tuple[str, str]]:
    """The links of `role`'s navigation bar, in order (none before sign-in)."""
    if role == "host":
        return [
            (_("My needs"), "/host/needs"),
            (_("New need"), "/host/needs/new"),
            (_("Matched volunteers"), "/host/matches"),
        ]
    if role == "coordinator":
        return [
            (_("Dashboard"), "/coordinator"),
            (_("Pool"), "/coordinator/pool"),
            (_("Run a round"), "/coordinator/rounds/new"),
            (_("Scenarios"), "/planner"),
        ]
    if role == "planner":
        return [(_("Scenarios"), "/planner")]
    return []


def home_of(role: str) -> str:
    """Where a role lands after sign-in."""
    return {"host": "/host/needs", "coordinator": "/coordinator", "planner": "/planner"}.get(
        role, "/sign-in"
    )
