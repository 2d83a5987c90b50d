"""Nested state (optimizer, scheduler, RNG) as safetensors + JSON, never pickle.

:func:`pack` splits a nested structure of dicts, lists, numbers, strings and
tensors into a flat ``{name: tensor}`` mapping and a JSON skeleton in which each
tensor is replaced by ``{"__tensor__": name}``; :func:`unpack` inverts it.
"""

from __future__ import annotations

from typing import Any

import torch

_TENSOR = "__tensor__"
_INTKEYS = "__intkeys__"


def pack(obj: Any, prefix: str = "s") -> tuple[dict[str, torch.Tensor], Any]:
    """Split ``obj`` into (tensors, JSON-able skeleton)."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, torch.Tensor):
            tensors[path] = node.detach().cpu().contiguous()
            return {_TENSOR: path}
        if isinstance(node, dict):
            int_keys = all(isinstance(k, int) for k in node) and bool(node)
            out = {str(k): walk(v, f"{path}.{k}") for k, v in node.items()}
            if int_keys:
                out[_INTKEYS] = True
            return out
        if isinstance(node, (list, tuple)):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"cannot store {type(node).__name__} at {path}")

    return tensors, walk(obj, prefix)


def unpack(tensors: dict[str, torch.Tensor], skeleton: Any) -> Any:
    """Rebuild what :func:`pack` split."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        int_keys = skeleton.get(_INTKEYS, False)
        return {(int(k) if int_keys else k): unpack(tensors, v) for k, v in skeleton.items() if k != _INTKEYS}
    if isinstance(skeleton, list):
        return [unpack(tensors, v) for v in skeleton]
    return skeleton
