"""Structured (JSON lines) logs carrying the request id and the job id.

Log calls pass ids, counts and durations only: never a volunteer's name, birth date or
any other field of a record, and never an API key's secret.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id: ContextVar[str | None] = ContextVar("job_id", default=None)

LOGGER = "volmatch.service"
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        rid, jid = request_id.get(), job_id.get()
        if rid:
            doc["request_id"] = rid
        if jid:
            doc["job_id"] = jid
        for k, v in record.__dict__.items():
            if k not in _RESERVED and not k.startswith("_"):
                doc[k] = v
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__
        return json.dumps(doc, default=str)


def setup_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the service loggers (idempotent)."""
    log = logging.getLogger(LOGGER)
    log.setLevel(level.upper())
    if not any(getattr(h, "_volmatch", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._volmatch = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.propagate = False


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}")
