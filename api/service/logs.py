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
_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


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


LIBRARY_LOGGERS = ("sqlalchemy", "alembic", "asyncio", "concurrent", "py.warnings")
"""Libraries whose warnings would otherwise reach stderr through logging's last resort,
traceback and exception text included."""


def _json_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._volmatch = True  # type: ignore[attr-defined]
    return handler


def setup_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the service loggers and the libraries' warnings
    (idempotent)."""
    log = logging.getLogger(LOGGER)
    log.setLevel(level.upper())
    for name, lib in ((LOGGER, False), *((n, True) for n in LIBRARY_LOGGERS)):
        logger = logging.getLogger(name)
        if not any(getattr(h, "_volmatch", False) for h in logger.handlers):
            logger.addHandler(_json_handler())
            logger.propagate = False
        if lib and logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER}.{name}")


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's own loggers as JSON lines through `JsonFormatter`: an error that escapes
    to the server is logged with its type, never a traceback that may quote SQL
    parameters or a record's fields."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            name: {
                "handlers": ["stderr"],
                "level": "WARNING" if name != "uvicorn.error" else level.upper(),
                "propagate": False,
            }
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
