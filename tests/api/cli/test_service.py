"""`volmatch keys create|list|revoke|rotate` on an SQLite file; `serve --processes`
refuses SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from volmatch.api.cli import app


def _run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_keys_lifecycle(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    code, token, err = _run(
        "keys",
        "create",
        "--role",
        "host",
        "--host-id",
        "H01",
        "--label",
        "partner",
        "--expires-in-days",
        "90",
        "--db",
        db,
    )
    assert code == 0, err
    assert "expires" in err
    kid = token.strip().split("_")[1]
    code, out, _ = _run("keys", "list", "--json", "--db", db)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["role"], r["host_id"], r["state"]) for r in rows] == [
        (kid, "host", "H01", "active")
    ]
    assert rows[0]["expires_at"] is not None and rows[0]["last_used_at"] is None
    assert token.strip().split("_", 2)[2] not in out

    code, new, err = _run("keys", "rotate", kid, "--db", db)
    assert code == 0 and new.strip() != token.strip() and new.strip().split("_")[1] == kid

    code, _, err = _run("keys", "revoke", kid, "--db", db)
    assert code == 0 and "revoked" in err
    code, out, _ = _run("keys", "list", "--json", "--db", db)
    assert out == ""
    code, out, _ = _run("keys", "list", "--all", "--db", db)
    assert kid in out and "revoked" in out

    assert _run("keys", "revoke", "nope", "--db", db)[0] == 2
    assert _run("keys", "rotate", kid, "--db", db)[0] == 2  # revoked: make a new key
    assert _run("keys", "create", "--role", "planner", "--expires-in-days", "0", "--db", db)[0] == 2


def test_serve_refuses_several_processes_on_sqlite(tmp_path: Path) -> None:
    code, _, err = _run("serve", "--processes", "2", "--db", f"sqlite:///{tmp_path}/x.db")
    assert code == 2 and "PostgreSQL" in err
