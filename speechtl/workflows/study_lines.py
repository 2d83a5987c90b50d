"""Line numbers of a study file's keys and items, so that every error names the line it is about, and the
small parsing helpers the study modules share."""

from __future__ import annotations

from pathlib import Path
from collections.abc import Callable
from typing import Any

import yaml

from speechtl.errors import RecipeError, shorten


class Lines:
    """Line numbers of a YAML file's keys and items, for messages that name the line."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines: dict[tuple, int] = {}
        self._walk(yaml.compose(text, Loader=yaml.SafeLoader), ())

    def _walk(self, node, where: tuple) -> None:
        if node is None:
            return
        self.lines.setdefault(where, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[(*where, key.value)] = key.start_mark.line + 1
                self._walk(value, (*where, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*where, i))

    def error(self, where: tuple, message: str) -> RecipeError:
        """A RecipeError naming the file, the line of ``where`` (or its nearest parent) and the key."""
        for n in range(len(where), -1, -1):
            if where[:n] in self.lines:
                line = self.lines[where[:n]]
                break
        key = "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else str(k)) for i, k in enumerate(where))
        return RecipeError(f"{self.path}:{line}: {shorten(key, 120)}: {message}")


def mapping(lines: Lines, data: Any, where: tuple) -> dict:
    """``data`` when it is a non-empty mapping; else an error naming the line of ``where``."""
    if not isinstance(data, dict) or not data:
        raise lines.error(where, f"expected a non-empty mapping, got {shorten(repr(data))}")
    return data


def unknown_keys(lines: Lines, data: dict, where: tuple, accepted: tuple[str, ...]) -> None:
    """Refuse a key of ``data`` not in ``accepted``, naming its line."""
    unknown = set(data) - set(accepted)
    if unknown:
        raise lines.error((*where, sorted(map(str, unknown))[0]), f"unknown key; accepts {', '.join(accepted)}")


def split_prefixed(overrides: list[str], prefix: str, value: Callable[[str, str], Any]
                   ) -> tuple[dict[str, Any], list[str]]:
    """A step kind's options among ``overrides`` (``PREFIX.OPTION=VALUE``, later ones win; ``value(key, raw)``
    parses one) and the other overrides (the recipe's ``--set``), in order."""
    options, rest = {}, []
    for item in overrides:
        key, raw = item.split("=", 1)
        if key.strip().startswith(prefix):
            options[key.strip().removeprefix(prefix)] = value(key.strip(), raw)
        else:
            rest.append(item)
    return options, rest
