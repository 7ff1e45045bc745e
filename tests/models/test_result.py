"""The result's models (`models.result`): objects built from checked arrays without
re-validation are the ones pydantic's `model_construct` builds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from volmatch.models import UnmatchedVolunteer
from volmatch.models.result import construct_trusted


def test_construct_trusted_falls_back_where_a_model_needs_more() -> None:
    class Aliased(BaseModel):
        model_config = ConfigDict(frozen=True)
        name: str = Field(alias="n")

    class Extra(BaseModel):
        model_config = ConfigDict(extra="allow")
        name: str

    for cls, values in ((Aliased, {"n": "x"}), (Extra, {"name": "x", "more": 1})):
        (fast,) = construct_trusted(cls, [dict(values)])
        slow = cls.model_construct(**values)
        assert fast == slow and fast.model_fields_set == slow.model_fields_set
        assert fast.model_dump_json() == slow.model_dump_json()
    values = {
        "volunteer": "V1",
        "reasons": ["r"],
        "cost": 0,
        "best_placement": "P1",
        "details": [{"code": "solver", "params": {"text": "r"}}],
    }
    (fast_u,) = construct_trusted(UnmatchedVolunteer, [dict(values)])
    slow_u = UnmatchedVolunteer.model_construct(**values)
    assert fast_u == slow_u and fast_u.model_fields_set == slow_u.model_fields_set
    assert fast_u.model_dump_json() == slow_u.model_dump_json()
