"""Safe files: tensors as safetensors, everything else as JSON; nothing is ever unpickled.

A *model* is ``NAME.safetensors`` (weights) beside ``NAME.json`` (format tag,
version, kind, whatever rebuilds the model, and the weights' SHA-256), written
atomically, the JSON last: its presence marks a complete model. Checkpoint
directories (``EXP/checkpoints/step-NNNNNNN/``, :mod:`speechtl.training.checkpoint`)
hold such a model plus the trainer state.

Nested state (optimizer, scheduler, RNG) is split by :func:`pack` into a flat
``{name: tensor}`` mapping and a JSON skeleton in which each tensor is replaced
by ``{"__tensor__": name}``; :func:`unpack` inverts it.

A safetensors file holds only tensors and JSON holds the rest, so a model file
from a stranger cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from speechtl.errors import CheckpointError
from speechtl.resources import BUILTIN, builtin_model

log = logging.getLogger(__name__)

MODEL_FORMAT = "speechtl-model"
FORMAT_VERSION = 2  # 2: model sections stored apart from the recipe; 1 is still read

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


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file, fsync, rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> str:
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_file(tensors, str(path))
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    return sha256(path)


def save_model_files(state: dict[str, torch.Tensor], meta: dict, stem: Path) -> None:
    """Write ``stem.safetensors`` and ``stem.json`` (the JSON last, with the weights' hash)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_suffix(".safetensors")
    tmp = weights.with_name(weights.name + ".tmp")
    digest = save_tensors(state, tmp)
    os.replace(tmp, weights)
    write_json(stem.with_suffix(".json"), {"format": MODEL_FORMAT, "version": FORMAT_VERSION,
                                           **meta, "sha256": digest})


def resolve_model_path(path: str | Path) -> Path:
    """Accept ``model.safetensors``, ``model.json``, the stem, a checkpoint dir, an experiment dir or
    ``builtin:NAME`` (a model shipped with the package, see :func:`speechtl.resources.builtin_model`)."""
    if str(path).startswith(BUILTIN):
        path = builtin_model(str(path))
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "model.json", path / "final" / "model.json"):
            if candidate.is_file():
                return candidate.with_suffix("")
        latest = latest_checkpoint(path / "checkpoints") if (path / "checkpoints").is_dir() else None
        if latest is not None:
            return latest / "model"
        raise CheckpointError(f"{path}: no model.json / model.safetensors in this directory")
    if path.suffix in (".json", ".safetensors"):
        return path.with_suffix("")
    if path.is_file():  # model.pt, model.ckpt, model.bin: someone else's format
        raise CheckpointError(f"{path}: not a speechtl model; a model is NAME.safetensors with NAME.json beside "
                              "it (speechtl never unpickles .pt/.ckpt/.bin files)")
    return path


def read_metadata(path: str | Path) -> dict:
    """The JSON metadata of a model (any path :func:`resolve_model_path` accepts), checked to be ours.

    Raises:
        CheckpointError: missing, not JSON, not a speechtl model file, or of a newer format version.
    """
    meta_path = resolve_model_path(path).with_suffix(".json")
    if not meta_path.is_file():
        looked = "" if Path(path) == meta_path else f" (no {meta_path})"
        raise CheckpointError(f"{path}: model file not found{looked}")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{meta_path}: not a speechtl model metadata file (invalid JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{meta_path}: not a speechtl model metadata file (format tag missing)")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: model format version {str(version)[:20]!r}; this speechtl reads "
                              f"versions 1 to {FORMAT_VERSION} (a newer speechtl wrote it?)")
    return meta


def load_model_files(path: str | Path, verify: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a model's weights and metadata, refusing anything that is not ours.

    Raises:
        CheckpointError: missing files, not a speechtl model (a pickle, say),
            or weights that do not match the recorded hash (truncated).
    """
    stem = resolve_model_path(path)
    meta = read_metadata(stem)
    weights = stem.with_suffix(".safetensors")
    if not weights.is_file():
        raise CheckpointError(f"{weights}: model file not found")
    if verify and meta.get("sha256") and sha256(weights) != meta["sha256"]:
        raise CheckpointError(f"{weights}: weights do not match their recorded hash (truncated or altered)")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights}: not a safetensors file ({err}); speechtl never unpickles") from None
    return state, meta


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest *complete* checkpoint directory (hashes checked), or ``None``."""
    if not ckpt_dir.is_dir():
        return None
    candidates = sorted((p for p in ckpt_dir.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp")),
                        reverse=True)
    for cand in candidates:
        if checkpoint_is_complete(cand):
            return cand
        log.warning("checkpoint %s is incomplete or corrupt; falling back to an earlier one", cand)
    return None


def checkpoint_is_complete(path: Path) -> bool:
    try:
        for stem in ("model", "trainer"):
            meta = json.loads((path / f"{stem}.json").read_text())
            if sha256(path / f"{stem}.safetensors") != meta["sha256"]:
                return False
        return True
    except (OSError, json.JSONDecodeError, KeyError):
        return False




EXTRA_PREFIX = "transfer."  # tensors saved beside a model's weights: its transfer methods' state


def load_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """Load a model file's weights into ``model``; returns the extra tensors (``transfer.*``) saved beside them.

    Raises:
        CheckpointError: the weights do not fit the model the metadata describes.
    """
    try:
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(EXTRA_PREFIX)})
    except RuntimeError as err:
        raise CheckpointError(f"{source}: weights do not fit the recorded model: {str(err)[:500]}") from None
    return {k: v for k, v in state.items() if k.startswith(EXTRA_PREFIX)}
