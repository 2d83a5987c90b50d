"""Typed configuration: plain YAML data loaded into dataclasses.

Recipes are data, never code: YAML is read with ``yaml.safe_load`` and every
value is checked against the dataclass field's type annotation. Unknown keys and
wrong types raise :class:`~speechtl.errors.RecipeError` naming the dotted key
and the expected type. ``--set key=value`` overrides go through the same check.

Ranges are data too: a field declared with :func:`ranged` carries its allowed
interval (``"[1, inf)"``), checked by :func:`from_dict` for recipes and model
metadata alike, with the dotted key, the value and the interval in the message.
Floats must be finite everywhere. YAML aliases (``*name``) are refused: an
"anchor bomb" of nested aliases would expand a small file into gigabytes.
Values shown in messages are cut (:func:`~speechtl.errors.shorten`). Nesting is
bounded before it can exhaust Python's stack: a recipe or ``--set`` value deeper
than :data:`MAX_DEPTH`, and JSON (model files, :func:`parse_json`) deeper than
:data:`MAX_JSON_DEPTH`, is refused with a message naming the source; an override
key has at most :data:`MAX_KEY_PARTS` dotted parts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from speechtl.errors import RecipeError, shorten

C = TypeVar("C")

MAX_YAML_BYTES = 1 << 20  # a recipe is a page of settings; a megabyte is not one
MAX_DEPTH = 32  # a recipe nests sections three or four deep
MAX_JSON_DEPTH = 64  # model metadata and trainer state nest about ten deep
MAX_KEY_PARTS = 16  # --set a.b.c=...: as deep as a recipe goes, with room to spare


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads ``1e-3`` as a float (YAML 1.2 style) and refuses aliases."""

    depth = 0  # nodes being composed: PyYAML composes recursively, so depth is bounded here

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"YAML alias *{shorten(event.anchor, 40)} refused (speechtl recipes do not use "
                "anchors and aliases: write the value out)", event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep (a recipe "
                                              "nests a few sections)", self.peek_event().start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def safe_load(text: str):
    """``yaml.safe_load`` with YAML 1.2 floats; builds no Python objects."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


_JSON_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')  # a string (skipped) or a bracket


def json_depth(text: str, limit: int) -> int:
    """How deep ``text``'s brackets nest, counted up to ``limit + 1`` (strings skipped); no parsing."""
    depth = deepest = 0
    for match in _JSON_NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif token in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, source: str, error: type[Exception] = RecipeError, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` after checking that the nesting is at most ``max_depth`` (no RecursionError).

    Raises:
        error: nested too deep, or not valid JSON (naming ``source`` and the line).
    """
    if json_depth(text, max_depth) > max_depth:
        raise error(f"{source}: JSON nested more than {max_depth} levels deep; not a file speechtl wrote")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{source}: invalid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from None
    except RecursionError:  # the depth check above should make this unreachable
        raise error(f"{source}: JSON nested too deep") from None


def type_name(tp: Any) -> str:
    """A readable name for a type annotation, e.g. ``list[str]`` or ``int | None``."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        args = ", ".join(type_name(a) for a in typing.get_args(tp))
        return f"{origin.__name__}[{args}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {shorten(repr(value))}" if value is not None else "null"


_INTERVAL = re.compile(r"^([\[(])\s*(-inf|[-+0-9.e]+)\s*,\s*(inf|[-+0-9.e]+)\s*([\])])$")


def _parse_interval(interval: str) -> tuple[float, float, bool, bool]:
    match = _INTERVAL.match(interval)
    if match is None:
        raise ValueError(f"bad interval {interval!r}; write e.g. '[1, inf)' or '(0, 1]'")
    lo_bracket, lo, hi, hi_bracket = match.groups()
    return float(lo), float(hi), lo_bracket == "[", hi_bracket == "]"


def ranged(default: Any = dataclasses.MISSING, interval: str = "(-inf, inf)", *,
           default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose number (or each number of its list, tuple or dict) must lie in ``interval``.

    Args:
        default, default_factory: as for :func:`dataclasses.field`.
        interval: ``"[lo, hi]"`` with ``[``/``]`` inclusive, ``(``/``)`` exclusive, ``inf`` unbounded.

    Example:
        >>> @dataclasses.dataclass
        ... class Model:
        ...     layers: int = ranged(4, "[1, inf)")  # encoder blocks
        >>> from_dict(Model, {"layers": 0}, "model")
        Traceback (most recent call last):
        ...
        speechtl.errors.RecipeError: model.layers: 0 is out of range; expected a value in [1, inf)
    """
    _parse_interval(interval)  # a typo fails when the module is imported
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"range": interval})


def _in_interval(value: float, interval: str) -> bool:
    lo, hi, lo_closed, hi_closed = _parse_interval(interval)
    return (lo < value or (lo_closed and lo == value)) and (value < hi or (hi_closed and hi == value))


def check_ranges(obj: Any, prefix: str = "") -> None:
    """Check every :func:`ranged` field of dataclass ``obj`` (``from_dict`` calls it).

    Raises:
        RecipeError: ``KEY: VALUE is out of range; expected a value in INTERVAL``.
    """
    for f in dataclasses.fields(obj):
        interval = f.metadata.get("range")
        if interval is not None:
            _check_interval(getattr(obj, f.name), interval, f"{prefix}.{f.name}" if prefix else f.name)


def _check_interval(value: Any, interval: str, key: str) -> None:
    """Raise a RecipeError naming ``key`` unless the number (each of a list's, tuple's or dict's) is in range."""
    if isinstance(value, dict):
        items = [(f"{key}.{k}", v) for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [(f"{key}[{i}]", v) for i, v in enumerate(value)]
    else:
        items = [(key, value)]
    for where, item in items:
        if isinstance(item, (int, float)) and not isinstance(item, bool) and not _in_interval(item, interval):
            raise RecipeError(f"{where}: {shorten(repr(item))} is out of range; expected a value in {interval}")


def convert(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against annotation ``tp`` and convert it (nested dataclasses, lists...).

    Args:
        value: data as read from YAML.
        tp: the type annotation to satisfy.
        key: dotted key used in error messages.

    Raises:
        RecipeError: the value does not fit the annotation.
    """
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise RecipeError(f"{key}: expected a mapping ({tp.__name__}), got {_describe(value)}")
        return from_dict(tp, value, key)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise RecipeError(f"{key}: expected one of {type_name(tp)}, got {_describe(value)}")
        return value
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return convert(value, arg, key)
            except RecipeError:
                continue
        raise RecipeError(f"{key}: expected {type_name(tp)}, got {_describe(value)}")
    if tp is type(None):
        if value is not None:
            raise RecipeError(f"{key}: expected null, got {_describe(value)}")
        return None
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"{key}: expected {type_name(tp)}, got {_describe(value)}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise RecipeError(f"{key}: expected {len(args)} items ({type_name(tp)}), got {len(value)}")
            return tuple(convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        out = [convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{key}: expected {type_name(tp)}, got {_describe(value)}")
        kt, vt = typing.get_args(tp) or (Any, Any)
        return {convert(k, kt, f"{key}"): convert(v, vt, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecipeError(f"{key}: expected float, got {_describe(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise RecipeError(f"{key}: expected a finite number, got {shorten(value)}")
        return number
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{key}: expected int, got {_describe(value)}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise RecipeError(f"{key}: expected {tp.__name__}, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} at {key}")


def check_value(value: Any, tp: Any, key: str, interval: str | None = None) -> Any:
    """:func:`convert` one value, then check it (each item, for a list) against ``interval``.

    For values outside any dataclass, such as a model file's ``size`` or ``inventories``.
    """
    value = convert(value, tp, key)
    if interval is not None:
        _check_interval(value, interval, key)
    return value


def from_dict(cls: type[C], data: dict, prefix: str = "") -> C:
    """Build dataclass ``cls`` from a mapping, checking keys and types.

    Raises:
        RecipeError: an unknown key or a value of the wrong type.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if name not in fields:
            raise RecipeError(
                f"{shorten(key)}: unknown key; {cls.__name__} accepts: {', '.join(sorted(fields))}"
            )
        kwargs[name] = convert(value, hints[name], key)
    try:
        obj = cls(**kwargs)
    except TypeError as err:  # a required field is missing
        raise RecipeError(f"{prefix or cls.__name__}: {err}") from None
    check_ranges(obj, prefix)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate()
    return obj


def to_dict(obj: Any) -> Any:
    """The plain-data (YAML/JSON) form of a config dataclass."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def load_yaml(path: str | Path) -> dict:
    """Read a YAML mapping with ``safe_load``; errors name the file."""
    path = Path(path)
    if path.is_dir():
        raise RecipeError(f"{path}: is a directory; expected a recipe YAML file")
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    if path.stat().st_size > MAX_YAML_BYTES:
        raise RecipeError(f"{path}: {path.stat().st_size} bytes; a recipe is at most {MAX_YAML_BYTES} bytes")
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise RecipeError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        where = str(err).replace('"<unicode string>"', str(path))
        raise RecipeError(f"{path}: not valid YAML: {shorten(where, 400)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def set_override(data: dict, assignment: str) -> None:
    """Apply one ``a.b.c=value`` override to raw recipe data (value parsed as YAML).

    The typed check happens when the data is turned into dataclasses, so a
    wrong type names the dotted key there.
    """
    if "=" not in assignment:
        raise RecipeError(f"--set {shorten(repr(assignment))}: expected key=value")
    key, raw = assignment.split("=", 1)
    key = key.strip()
    if not key:
        raise RecipeError(f"--set {shorten(repr(assignment))}: empty key")
    try:
        value = safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise RecipeError(f"--set {shorten(key)}: value {shorten(repr(raw))} is not valid YAML: "
                          f"{shorten(err, 300)}") from None
    node = data
    parts = key.split(".")
    if len(parts) > MAX_KEY_PARTS:
        raise RecipeError(f"--set {shorten(key)}: {len(parts)} dotted parts; a recipe key has at most "
                          f"{MAX_KEY_PARTS}")
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise RecipeError(f"--set {shorten(key)}: {shorten('.'.join(parts[: i + 1]))} is not a section")
        node = child
    node[parts[-1]] = value
