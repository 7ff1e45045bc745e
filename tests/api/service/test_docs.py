"""The walkthrough of `docs/service.md`, run as written (its `bash` blocks, in order)
against a real `volmatch serve` on a free loopback port; then the server is restarted
on the same database and the data and the finished result are still there."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "service.md"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough uses curl")
def test_walkthrough_runs_as_written_and_survives_a_restart(tmp_path: Path) -> None:
    port = _free_port()
    blocks = _blocks()
    assert len(blocks) >= 8
    script = "\n".join(b.replace("8000", str(port)) for b in blocks)
    script += '\necho\necho "COORD=$COORD"\necho "HOST=$HOST"\necho "RID=$RID"\n'
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "VOLMATCH_POLL_S": "0.1"}
    env.pop("VOLMATCH_DB_URL", None)
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    out = run.stdout
    found = dict(re.findall(r"^(COORD|HOST|RID)=(\S+)$", out, flags=re.M))
    assert "event: end" in out and '"status": "done"' in out
    assert (tmp_path / "result.xlsx").read_bytes()[:2] == b"PK"
    assert (tmp_path / "volmatch.db").exists()
    # The host saw its placed volunteers with the fields a host needs, no birth dates.
    assert '"placement":"P1"' in out.replace(" ", "")
    assert "birth_date" not in out.split("publish", 1)[-1]

    # Restart on the same database: keys, data and the finished result are all there.
    server = subprocess.Popen(
        [str(BIN / "volmatch"), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < end and server.poll() is None, "server did not restart"
            time.sleep(0.1)
        co = {"Authorization": f"Bearer {found['COORD']}"}
        host = {"Authorization": f"Bearer {found['HOST']}"}
        state = httpx.get(f"{base}/rounds/{found['RID']}", headers=co).json()
        assert state["status"] == "done" and state["published"] is True
        result = httpx.get(f"{base}/rounds/{found['RID']}/result", headers=co).json()
        placed = {a["volunteer"]: a["placement"] for a in result["assignments"]}
        assert placed.keys() == {"V1", "V2"} and placed["V1"] == "P1"  # V3 is untrained
        assert result["unmatched_volunteers"][0]["volunteer"] == "V3"
        assert [
            p["placement"]["id"] for p in httpx.get(f"{base}/placements", headers=host).json()
        ] == ["P1", "P2"]
        seen = httpx.get(f"{base}/volunteers", headers=host).json()
        assert {v["id"] for v in seen} == {"V1", "V2"}
        assert json.dumps(seen).count("birth_date") == 0
    finally:
        server.terminate()
        server.wait(timeout=15)
