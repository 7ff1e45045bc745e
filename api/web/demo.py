"""`volmatch serve --demo`: the bundled demo pool in an empty database, and one-time
sign-in links for a coordinator, a host partner and a planner, so that a newcomer sees
the pages with one command."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import create_key, key_state
from volmatch.api.service.queries import upsert
from volmatch.api.service.tables import ApiKey, Host, PlacementRow, VolunteerRow, utcnow
from volmatch.api.web.session import create_link
from volmatch.models import Placement, Volunteer
from volmatch.scenarios.demo import demo_round_path

DEMO_HOST = "H01"
"""The host partner whose pages the demo's host link opens."""
DEMO_ROLES = ("coordinator", "host", "planner")


def _data(model: Volunteer | Placement) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_defaults=True)


def load_demo_pool(session: Session) -> bool:
    """Store the demo round's volunteers, placements and host partners when the database
    holds neither volunteers nor placements; False (nothing written) otherwise."""
    if session.scalars(select(VolunteerRow.id).limit(1)).first() is not None:
        return False
    if session.scalars(select(PlacementRow.id).limit(1)).first() is not None:
        return False
    doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
    volunteers = [Volunteer.model_validate(v) for v in doc["volunteers"]]
    placements = [Placement.model_validate(p) for p in doc["placements"]]
    now = utcnow()
    names: dict[str, str] = {}
    for p in placements:
        partner = (p.needs_assessment or {}).get("host_partner")
        names.setdefault(p.host, partner if isinstance(partner, str) else p.host)
    upsert(
        session,
        Host.__table__,
        [{"id": h, "name": n[:200], "created_at": now} for h, n in names.items()],
        [],
    )
    upsert(
        session,
        VolunteerRow.__table__,
        [{"id": v.id, "data": _data(v), "updated_at": now} for v in volunteers],
        [],
    )
    upsert(
        session,
        PlacementRow.__table__,
        [{"id": p.id, "host_id": p.host, "data": _data(p), "updated_at": now} for p in placements],
        [],
    )
    return True


def demo_links(session: Session, link_hours: float) -> dict[str, str]:
    """Role -> a fresh one-time sign-in link token of that role's demo key (the keys are
    made once, labelled `demo <role>`, and reused by later runs)."""
    tokens: dict[str, str] = {}
    for role in DEMO_ROLES:
        label = f"demo {role}"
        key = next(
            (
                k
                for k in session.scalars(select(ApiKey).where(ApiKey.label == label))
                if key_state(k) == "active"
            ),
            None,
        )
        if key is None:
            key = create_key(session, role, DEMO_HOST if role == "host" else None, label)[0]
        tokens[role] = create_link(session, key.id, link_hours)
    return tokens
