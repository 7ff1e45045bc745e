"""The programme report (monitoring and evaluation): JSON, or `?format=xlsx`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from volmatch.api.service.deps import Reader, ReadSession
from volmatch.api.service.lifecycle.report import programme, workbook_bytes
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ROUND_ID_PATTERN

router = APIRouter(tags=["report"], route_class=CommitRoute)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/report",
    summary="Programme report: slots, offers, acceptances, deployments, completions, "
    "decline and early-return rates with reasons, days to accept, urgent needs met; per "
    "round, wave, country, host, sector and SDG target",
    responses={
        200: {
            "content": {
                "application/json": {},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def get_report(
    session: ReadSession,
    _: Reader,
    round_id: Annotated[str | None, Query(alias="round", pattern=ROUND_ID_PATTERN)] = None,
    fmt: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
) -> Any:
    report = programme(session, round_id)
    if fmt == "xlsx":
        return Response(
            workbook_bytes(report),
            media_type=XLSX,
            headers={"Content-Disposition": 'attachment; filename="programme-report.xlsx"'},
        )
    return report
