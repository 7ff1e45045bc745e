"""The service's offer states are the engine's table (`models.lifecycle.TRANSITIONS`),
`withdrawn` included: every change it allows, the service allows; every other is a 409."""

from __future__ import annotations

import pytest

from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.states import ALL_STATES, FINAL, WITHDRAWABLE, next_state
from volmatch.models.lifecycle import TRANSITIONS, OfferState


def test_the_service_answers_with_the_engines_table() -> None:
    assert set(ALL_STATES) == {s.value for s in TRANSITIONS}
    for frm, nxt in TRANSITIONS.items():
        for to in OfferState:
            if to in nxt:
                assert next_state(frm.value, to.value, 7) == to.value
            else:
                with pytest.raises(ApiError) as e:
                    next_state(frm.value, to.value, 7)
                assert e.value.status == 409
    assert {s for s, nxt in TRANSITIONS.items() if OfferState.WITHDRAWN in nxt} == WITHDRAWABLE
    assert {s for s, nxt in TRANSITIONS.items() if not nxt} == FINAL
    with pytest.raises(ApiError) as e:
        next_state("offered", "gone", 7)
    assert e.value.status == 422
