"""The bundled demo round: a pre-deployment training camp's pool against host partners'
placements in Asia and Africa. `make_demo.py` beside it regenerates it from a seed."""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent


def demo_round_path() -> Path:
    """Path of the bundled demo round document (JSON)."""
    return DEMO_DIR / "round.json"
