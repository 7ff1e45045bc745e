"""Query parameters the API does not know are an error (422 naming them), as unknown
body fields are: a typo (`?al=true` for `?all=true`) must not silently do something else,
and the OpenAPI document's parameters are then exactly what the service takes."""

from __future__ import annotations

from typing import Any, cast

from fastapi import Request
from pydantic import BaseModel

from volmatch.api.service.errors import ApiError
from volmatch.models import ErrorItem

KNOWN_ATTRIBUTE = "_volmatch_query_names"
"""Where a route keeps the names `_known` found."""


def _names(dependant: Any) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        model = param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query model
            names |= {f.alias or name for name, f in model.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def _known(route: Any) -> frozenset[str]:
    """The query parameter names (aliases) a route declares, its dependencies' included
    (kept on the route: routes are not hashable, and their parameters never change)."""
    known = getattr(route, KNOWN_ATTRIBUTE, None)
    if known is None:
        known = frozenset(_names(route.dependant))
        setattr(route, KNOWN_ATTRIBUTE, known)
    return cast(frozenset[str], known)


async def reject_unknown_query(request: Request) -> None:
    """422 when the request names a query parameter its route does not declare
    (`async`: it does no I/O, and a plain `def` would cost a thread hop per request)."""
    route = request.scope.get("route")
    if route is None or not hasattr(route, "dependant"):
        return
    unknown = sorted(set(request.query_params) - _known(route))
    if unknown:
        raise ApiError(
            422,
            f"unknown query parameter(s): {', '.join(repr(u[:64]) for u in unknown[:10])}",
            errors=[
                ErrorItem("query", "query", name[:64], "unknown query parameter")
                for name in unknown[:10]
            ],
        )
