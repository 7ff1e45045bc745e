"""Explanations from the arrays stored with a result (`stored_explain`), on SQLite and
PostgreSQL: one volunteer's record is read out of the round's document by the
database, and the rows are those of the round prepared again."""

from __future__ import annotations

import json
from typing import Any

from tests.api.service.helpers import seed, solved_round


def test_explained_from_the_stored_arrays_as_prepared_again(client: Any) -> None:
    from volmatch.api.service.auth import Principal
    from volmatch.api.service.rounds_service import PricedRounds, _priced, explain_round
    from volmatch.matching.explain import explain_volunteer

    seed(client)
    rid = solved_round(client)
    db, who = client.app.state.db, Principal("k", "coordinator")
    prep, pr, chosen, _ = _priced(db, rid, who)
    priced = PricedRounds()
    for vi, vid in enumerate(prep.compiled.volunteer_ids):
        assert priced.stored_round(db, rid, who) is not None
        rows, facts = explain_round(db, rid, who, vid, None, priced)
        assert json.dumps(rows) == json.dumps(explain_volunteer(pr, chosen, vi), default=str)
        assert facts["exact"] is True
    # the API answers from them too
    co = client.keys.auth("coordinator")
    r = client.get(f"/rounds/{rid}/explain", params={"volunteer": "V1"}, headers=co)
    assert r.status_code == 200, r.text
