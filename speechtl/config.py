"""Typed configuration: plain YAML data loaded into dataclasses.

Recipes are data, never code: YAML is read with ``yaml.safe_load`` and every
value is checked against the dataclass field's type annotation. Unknown keys and
wrong types raise :class:`~speechtl.errors.RecipeError` naming the dotted key
and the expected type. ``--set key=value`` overrides go through the same check.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from speechtl.errors import RecipeError

C = TypeVar("C")


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` as a float (YAML 1.2 style)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def safe_load(text: str):
    """``yaml.safe_load`` with YAML 1.2 floats; builds no Python objects."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


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
    return f"{type(value).__name__} {value!r}" if value is not None else "null"


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
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{key}: expected int, got {_describe(value)}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise RecipeError(f"{key}: expected {tp.__name__}, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported annotation {tp!r} at {key}")


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
                f"{key}: unknown key; {cls.__name__} accepts: {', '.join(sorted(fields))}"
            )
        kwargs[name] = convert(value, hints[name], key)
    try:
        obj = cls(**kwargs)
    except TypeError as err:  # a required field is missing
        raise RecipeError(f"{prefix or cls.__name__}: {err}") from None
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
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from None
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
        raise RecipeError(f"--set {assignment!r}: expected key=value")
    key, raw = assignment.split("=", 1)
    key = key.strip()
    if not key:
        raise RecipeError(f"--set {assignment!r}: empty key")
    try:
        value = safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise RecipeError(f"--set {key}: value {raw!r} is not valid YAML: {err}") from None
    node = data
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise RecipeError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value
