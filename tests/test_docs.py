"""The commands that README.md and docs/*.md show still exist as written: every
`volmatch ...` names a command (and subcommand) with only options it has, and every
`python -m ...` names a module that runs from the repository root.

(docs/service.md's walkthrough is also run for real, by tests/api/service/test_docs.py.)
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import typer

from volmatch.api.cli import app

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_INLINE = re.compile(r"`((?:\.venv/bin/)?(?:volmatch|python3?) [^`]+)`")
_BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", flags=re.S | re.M)
_VOLMATCH = re.compile(r"(?:^|(?<=[\s(]))(?:\.venv/bin/)?volmatch\s+([^#&;)]*)")
_PYTHON_M = re.compile(r"(?:^|(?<=[\s(/]))python3?\s+-m\s+([\w.]+)")


def _snippets() -> list[tuple[str, str]]:
    """(where, text) of every inline code span and code-block line of the docs."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        found += [(path.name, m.group(1)) for m in _INLINE.finditer(text)]
        for block in _BLOCK.finditer(text):
            found += [(path.name, line) for line in block.group(1).splitlines()]
    return found


def _volmatch_calls() -> list[tuple[str, str]]:
    return [
        (where, m.group(1).strip())
        for where, text in _snippets()
        for m in _VOLMATCH.finditer(text)
        if m.group(1).strip()
    ]


def _command(words: list[str]) -> tuple[Any, str] | None:
    """The (typer-built click) command the leading words name, and those words; None
    when they name no command."""
    cmd: Any = typer.main.get_command(app)
    used: list[str] = []
    for word in words:
        if not hasattr(cmd, "commands"):  # a command, not a group: the rest are arguments
            break
        cmd = cmd.commands.get(word)
        if cmd is None:
            return None
        used.append(word)
    if hasattr(cmd, "commands") or not used:
        return None
    return cmd, " ".join(used)


def test_the_docs_show_commands() -> None:
    """Guards the extraction itself: an empty list would make the next test pass."""
    calls = {c.split()[0] for _, c in _volmatch_calls()}
    assert {"demo", "validate", "solve", "template", "whatif", "serve", "keys"} <= calls


@pytest.mark.parametrize(("where", "call"), _volmatch_calls())
def test_every_volmatch_command_in_the_docs_exists_with_its_options(where: str, call: str) -> None:
    found = _command(call.split())
    assert found is not None, f"{where}: `volmatch {call}` names no command"
    cmd, name = found
    known = {opt for param in cmd.params for opt in param.opts + param.secondary_opts}
    options = re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", call)
    unknown = [o for o in options if o not in known]
    assert unknown == [], f"{where}: `volmatch {name}` has no option {unknown}"


@pytest.mark.parametrize(
    ("where", "module"),
    sorted({(w, m.group(1)) for w, t in _snippets() for m in _PYTHON_M.finditer(t)}),
)
def test_every_python_m_module_in_the_docs_runs_from_the_repository_root(
    where: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{where}: `python -m {module}` finds no module"
