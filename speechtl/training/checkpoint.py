"""Model files and training checkpoints: safetensors + JSON metadata, written atomically.

A *model* is ``NAME.safetensors`` (weights) beside ``NAME.json`` (format tag,
recipe, inventories, and the weights' SHA-256). A *checkpoint* is a directory
``EXP/checkpoints/step-NNNNNNN/`` holding the model files plus
``trainer.safetensors`` / ``trainer.json`` (optimizer, scheduler, step, epoch,
RNG). Directories are written under a temporary name and renamed, and
``EXP/checkpoints/latest`` names the newest complete one; a checkpoint whose
hashes do not match is skipped with a warning and the previous one is used.

Nothing here unpickles: ``safetensors`` files hold only tensors and JSON holds
the rest, so a model file from a stranger cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from speechtl.errors import CheckpointError
from speechtl.training.state import pack, unpack

log = logging.getLogger(__name__)

MODEL_FORMAT = "speechtl-model"
FORMAT_VERSION = 1


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
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


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> str:
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
    digest = _save_tensors(state, tmp)
    os.replace(tmp, weights)
    write_json(stem.with_suffix(".json"), {"format": MODEL_FORMAT, "version": FORMAT_VERSION,
                                           **meta, "sha256": digest})


def resolve_model_path(path: str | Path) -> Path:
    """Accept ``model.safetensors``, ``model.json``, the stem, a checkpoint dir or an experiment dir."""
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
    return path


def load_model_files(path: str | Path, verify: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a model's weights and metadata, refusing anything that is not ours.

    Raises:
        CheckpointError: missing files, not a speechtl model (a pickle, say),
            or weights that do not match the recorded hash (truncated).
    """
    stem = resolve_model_path(path)
    meta_path, weights = stem.with_suffix(".json"), stem.with_suffix(".safetensors")
    for p in (meta_path, weights):
        if not p.is_file():
            raise CheckpointError(f"{p}: model file not found")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{meta_path}: not a speechtl model metadata file (invalid JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{meta_path}: not a speechtl model metadata file (format tag missing)")
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


def save_checkpoint(ckpt_dir: Path, step: int, model_state: dict[str, torch.Tensor], model_meta: dict,
                    trainer_state: dict, keep: int) -> Path:
    """Write ``ckpt_dir/step-NNNNNNN`` atomically and prune to the ``keep`` newest."""
    final = ckpt_dir / f"step-{step:07d}"
    tmp = ckpt_dir / f"step-{step:07d}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_model_files(model_state, model_meta, tmp / "model")
    tensors, skeleton = pack(trainer_state)
    digest = _save_tensors(tensors, tmp / "trainer.safetensors")
    write_json(tmp / "trainer.json", {"format": "speechtl-trainer", "state": skeleton, "sha256": digest})
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(ckpt_dir)
    (ckpt_dir / "latest.tmp").write_text(final.name + "\n")
    os.replace(ckpt_dir / "latest.tmp", ckpt_dir / "latest")
    for old in sorted(p for p in ckpt_dir.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_trainer_state(path: Path) -> dict:
    """The trainer state of a checkpoint directory."""
    meta = json.loads((path / "trainer.json").read_text())
    return unpack(load_file(str(path / "trainer.safetensors")), meta["state"])
