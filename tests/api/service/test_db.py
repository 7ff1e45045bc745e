"""The database: migrations are idempotent and match the tables, on SQLite and
PostgreSQL."""

from __future__ import annotations

from tests.api.service.helpers import Db, store


def test_migrations_are_idempotent_and_match_the_tables(db: Db) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from volmatch.api.service.db import migrate
    from volmatch.api.service.tables import Base

    engine, _, _ = store(db.url)
    migrate(engine)  # a second start changes nothing
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # SQLite cannot tell a timezone-aware timestamp from a naive one; ignore type noise.
    assert [d for d in diff if d[0] not in ("modify_type",)] == []
    engine.dispose()
