"""Name -> factory registries, so that recipes can name encoders, corpora and methods."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from speechtl.errors import RecipeError, shorten

T = TypeVar("T")


class Registry(Generic[T]):
    """A small registry of named factories.

    Example:
        >>> ENCODERS = Registry("encoder")
        >>> @ENCODERS.register("blstm")
        ... def build_blstm(dim): return f"a BLSTM of width {dim}"
        >>> ENCODERS.get("blstm")(320)
        'a BLSTM of width 320'
        >>> ENCODERS.get("lstm")
        Traceback (most recent call last):
        ...
        speechtl.errors.RecipeError: unknown encoder 'lstm'; available: blstm
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise RecipeError(
                f"unknown {self.kind} {shorten(repr(name))}; available: {', '.join(sorted(self._items))}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))
