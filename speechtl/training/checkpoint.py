"""Training checkpoints: a model (:mod:`speechtl.files`) plus the trainer state, written atomically.

A *checkpoint* is a directory ``EXP/checkpoints/step-NNNNNNN/`` holding the
model files plus ``trainer.safetensors`` / ``trainer.json`` (optimizer,
scheduler, step, epoch, RNG). Directories are written under a temporary name
and renamed, and ``EXP/checkpoints/latest`` names the newest complete one; a
checkpoint whose hashes do not match is skipped with a warning and the
previous one is used (:func:`speechtl.files.latest_checkpoint`). A write the
system refuses (disk full, permissions) removes the half-written directory and
is an :class:`~speechtl.errors.OutputError` naming it: ``--resume`` then continues
from the last complete checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from speechtl.errors import CheckpointError, shorten
from speechtl.files import fsync_dir, pack, read_json, save_model_files, save_tensors, unpack, write_json
from speechtl.outputs import output_error, remove_quietly, write_text
from speechtl.training.experiment import record_outputs

log = logging.getLogger(__name__)


def save_checkpoint(ckpt_dir: Path, step: int, model_state: dict[str, torch.Tensor], model_meta: dict,
                    trainer_state: dict, keep: int, protect: list[int] = ()) -> Path:
    """Write ``ckpt_dir/step-NNNNNNN`` atomically; prune to the ``keep`` newest and the steps in ``protect``.

    Checkpoints are ordered by their step number (the zero-padded name), and only
    those of this run exist: a run never starts in a directory holding another's.
    """
    final = ckpt_dir / f"step-{step:07d}"
    tmp = ckpt_dir / f"step-{step:07d}.tmp"
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        save_model_files(model_state, model_meta, tmp / "model")
        tensors, skeleton = pack(trainer_state)
        digest = save_tensors(tensors, tmp / "trainer.safetensors")
        write_json(tmp / "trainer.json", {"format": "speechtl-trainer", "state": skeleton, "sha256": digest})
        fsync_dir(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as err:  # the system refused (disk full...): nothing half-written stays
        remove_quietly(tmp)
        raise output_error(err, tmp) from None
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(ckpt_dir)
    write_text(ckpt_dir / "latest", final.name + "\n")
    record_outputs(ckpt_dir.parent)  # the experiment directory's manifest, if it has one
    kept = {f"step-{s:07d}" for s in protect}
    for old in sorted(p for p in ckpt_dir.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))[:-keep]:
        if old.name not in kept:
            shutil.rmtree(old, ignore_errors=True)
    return final


def average_checkpoints(paths: list[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the model weights in ``paths`` (floating tensors; others from the first)."""
    from speechtl.files import load_model_files

    states = [load_model_files(p)[0] for p in paths]
    out = {}
    for name, first in states[0].items():
        if first.is_floating_point():
            out[name] = torch.stack([s[name].double() for s in states]).mean(0).to(first.dtype)
        else:
            out[name] = first
    return out


def load_trainer_state(path: Path) -> dict:
    """The trainer state of a checkpoint directory.

    Raises:
        CheckpointError: ``trainer.json`` / ``trainer.safetensors`` missing, corrupt or not matching each other.
    """
    try:
        meta = read_json(path / "trainer.json")
        return unpack(load_file(str(path / "trainer.safetensors")), meta["state"])
    except (CheckpointError, OSError, ValueError, KeyError, TypeError, SafetensorError) as err:  # JSONDecodeError is a ValueError
        raise CheckpointError(f"{path}: unreadable trainer state ({shorten(err, 200)}); remove this checkpoint "
                              "to resume from an earlier one, or start again with --overwrite") from None


def rng_state() -> dict:
    """This process's random state (torch, Python, CUDA), as a checkpoint stores it."""
    state = {"torch": torch.get_rng_state(), "python": json.dumps(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    py = json.loads(state["python"])
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
