"""Round files for the command tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def write(tmp_path: Path, d: dict[str, Any], name: str = "round.json") -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(d))
    else:
        path.write_text(yaml.safe_dump(d))
    return path
