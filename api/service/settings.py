"""Service settings, read from the environment (prefix `VOLMATCH_`) or given in code."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything `volmatch serve` and `volmatch worker` can be told."""

    model_config = SettingsConfigDict(env_prefix="VOLMATCH_", extra="ignore", frozen=True)

    db_url: str = Field(
        "sqlite:///volmatch.db",
        description="SQLAlchemy URL; default an SQLite file in the working directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    max_body_bytes: int = Field(
        20_000_000, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_round_volunteers: int = Field(
        50_000, ge=1, description="Largest pool a round may hold (422 above)."
    )
    max_round_placements: int = Field(
        20_000, ge=1, description="Most placements a round may hold (422 above)."
    )
    embedded_worker: bool = Field(
        True, description="Run one job worker inside the API process."
    )
    lease_s: float = Field(
        30.0, gt=0, description="A claimed job is re-claimed this long after its last heartbeat."
    )
    heartbeat_s: float = Field(5.0, gt=0, description="How often a worker renews its lease.")
    poll_s: float = Field(0.5, gt=0, description="How often an idle worker looks for jobs.")
    max_attempts: int = Field(
        3, ge=1, description="A job whose worker died this many times is marked failed."
    )
    worker_test_delay_s: float = Field(
        0.0,
        ge=0,
        description="Test hook: sleep this long before solving, so that tests can kill a "
        "worker mid-solve. Leave at 0.",
    )
    log_level: str = Field("INFO", description="Log level of the service loggers.")
