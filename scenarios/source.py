"""A scenario typed as YAML text (the planner pages' editor): parsed against a stored
round, with every error placed on the line of the text it is about.

YAML syntax errors carry their own line; the errors of `parse_scenario` name a variant
(or sweep point `name=value`) and a change number, which are found back in the text's
node tree (the change's line, else the variant's, else the top-level key's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from volmatch.models.load import TooDeep, loads_yaml
from volmatch.scenarios.changes import check_scenario
from volmatch.scenarios.model import Scenario, ScenarioError, ScenarioErrorItem, parse_scenario

MAX_TEXT_CHARS = 200_000
"""A scenario typed in a page is short; this bounds what the server parses."""


@dataclass(frozen=True)
class LineError:
    """One problem of the text: its line (1-based; None when it has none) and message."""

    line: int | None
    message: str


class ScenarioTextError(Exception):
    """A scenario text that cannot run; carries every error, by line."""

    def __init__(self, errors: list[LineError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} error(s) in scenario")


def _lines_of(node: yaml.Node | None) -> dict[tuple[str, int | None], int]:
    """(variant or sweep name, change number or None) -> line, and ("", None) -> line of
    the top-level keys as ("key:<name>", None)."""
    out: dict[tuple[str, int | None], int] = {}
    if not isinstance(node, yaml.MappingNode):
        return out
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        out[(f"key:{key.value}", None)] = key.start_mark.line + 1
        if key.value not in ("variants", "sweeps") or not isinstance(value, yaml.SequenceNode):
            continue
        for item in value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            fields = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
            name_node = fields.get("name")
            name = name_node.value if isinstance(name_node, yaml.ScalarNode) else ""
            out.setdefault((name, None), item.start_mark.line + 1)
            changes = fields.get("changes")
            if isinstance(changes, yaml.SequenceNode):
                for i, change in enumerate(changes.value, start=1):
                    out.setdefault((name, i), change.start_mark.line + 1)
    return out


def _line(lines: dict[tuple[str, int | None], int], e: ScenarioErrorItem) -> int | None:
    names = [e.variant]
    if "=" in e.variant:  # a sweep point: the sweep's own entry holds its changes
        names.append(e.variant.split("=", 1)[0])
    for name in names:
        if e.change is not None and (name, e.change) in lines:
            return lines[(name, e.change)]
        if (name, None) in lines:
            return lines[(name, None)]
    if not e.variant:
        words = e.message.split("'")
        if e.message.startswith("unknown key") and (f"key:{words[1]}", None) in lines:
            return lines[(f"key:{words[1]}", None)]
        key = e.message.split(":", 1)[0]
        if (f"key:{key}", None) in lines:  # "seed: ...", "variants: ..."
            return lines[(f"key:{key}", None)]
    return None


def parse_scenario_text(text: str, round_id: str) -> Scenario:
    """The scenario in `text`, whose base is the stored round `round_id` (a `base` in
    the text is replaced: the page's round is the base). Raises `ScenarioTextError`."""
    if len(text) > MAX_TEXT_CHARS:
        raise ScenarioTextError(
            [LineError(None, f"the scenario is {len(text)} characters; at most {MAX_TEXT_CHARS}")]
        )
    try:
        # the bounded loader first (nesting, aliases, repeated keys): composing the text
        # again for its line numbers is then bounded too
        data: Any = loads_yaml(text)
        node = yaml.compose(text)
    except TooDeep as exc:
        raise ScenarioTextError([LineError(None, str(exc))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioTextError(
            [LineError(mark.line + 1 if mark is not None else None, f"YAML: {problem}")]
        ) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioTextError([LineError(1, "a scenario is a mapping (name:, variants: ...)")])
    data = {**data, "base": {"round_id": round_id}}
    try:
        scenario = parse_scenario(data)
        check_scenario(scenario)
    except ScenarioError as exc:
        lines = _lines_of(node)
        raise ScenarioTextError([LineError(_line(lines, e), str(e)) for e in exc.errors]) from exc
    return scenario
