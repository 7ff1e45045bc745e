"""The installed `volmatch` console script (`volmatch.api.cli:main`) and its exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol


@pytest.mark.skipif(
    shutil.which("volmatch") is None and not (Path(sys.prefix) / "bin" / "volmatch").exists(),
    reason="console script not installed",
)
def test_console_script_exit_codes(tmp_path: Path) -> None:
    exe = shutil.which("volmatch") or str(Path(sys.prefix) / "bin" / "volmatch")
    bad = write(tmp_path, doc([vol(nationality="XX")], [plc()]))
    proc = subprocess.run([exe, "validate", str(bad)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "nationality" in proc.stderr
    proc = subprocess.run([exe, "demo", "--top", "1"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
