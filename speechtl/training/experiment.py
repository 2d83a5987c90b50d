"""An experiment directory: claimed by one run at a time, and emptied by ``--overwrite`` of that run's files only.

A run *claims* ``train.exp_dir`` (:func:`claim_experiment_dir`) before it writes:

- **Lock.** ``EXP/.speechtl.lock`` names the owner (PID, host, start time, command).
  A second run into the same directory is refused with that owner named; a lock
  whose process is gone (same host, dead PID) is stale: it is taken over with a
  note. The lock is created complete (written under a temporary name, then
  hard-linked into place), so a reader never sees half of it.
- **Manifest.** ``EXP/.speechtl-run.json`` lists what was in the directory before
  the run began (``found``) and, as the run goes, the entries it added
  (``written``). ``--overwrite`` removes only the run's outputs: entries of the
  kinds a run writes (:data:`RUN_OUTPUTS`) that were not there before it. A
  directory without a manifest (an older speechtl) loses only entries of those
  kinds, folders only when they hold what a run puts there; anything else
  (``thesis/chapter1.tex``, ``mydata/``) stays and is named in the log.
"""

from __future__ import annotations

import atexit
import datetime
import fnmatch
import json
import logging
import os
import shutil
import socket
import sys
from pathlib import Path

from speechtl.errors import OutputError, RecipeError, SpeechtlError, shorten
from speechtl.files import read_json, write_json
from speechtl.outputs import output_error, remove_quietly

log = logging.getLogger(__name__)

LOCK = ".speechtl.lock"
MANIFEST = ".speechtl-run.json"
RUN_MARKERS = ("checkpoints", "model.json", "model.safetensors", "train_log.jsonl")  # what marks a run
# top-level entries speechtl's workflows write into an experiment directory; a folder maps to what shows it is
# ours when no manifest says so (None: its name is enough)
RUN_OUTPUTS: dict[str, tuple[str, ...] | None] = {
    "recipe.yaml": None, "model.json": None, "model.safetensors": None, "model.safetensors.tmp": None,
    "train_log.jsonl": None, "valid_log.jsonl": None, "eval_*.json": None, "forgetting.json": None,
    "self_training.json": None, "tsne.png": None, ".*.tmp": None,
    "checkpoints": ("latest", "step-*"), "data": ("summary.json", "cuts*.jsonl.gz"),
    "tensorboard": ("events.out.tfevents.*",), "self-training": ("round-*",), "sweep": ("*",),
}
_HELD: set[Path] = set()  # locks this process holds (released at exit)


def claim_experiment_dir(exp: Path, resume: bool, overwrite: bool) -> None:
    """Make ``exp`` ready for a run: lock it, refuse to mix two runs, remove the earlier run on ``overwrite``.

    Raises:
        RecipeError: ``exp`` is a file, or holds a run and neither ``resume`` nor ``overwrite`` is set.
        OutputError: another live run holds ``exp``, or the system refuses to create it.
    """
    if exp.exists() and not exp.is_dir():
        raise RecipeError(f"train.exp_dir: {exp} is a file, not a directory")
    created = not exp.exists()
    try:
        exp.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(err, exp) from None
    acquire_lock(exp)
    try:
        holds_run = any((exp / name).exists() for name in RUN_MARKERS)
        if holds_run and overwrite:
            remove_earlier_run(exp)
        elif holds_run and not resume:
            raise RecipeError(f"train.exp_dir: {exp} holds a run already; pass --resume to continue it or "
                              "--overwrite to replace it (or choose another train.exp_dir)")
        start_manifest(exp, keep=resume and not overwrite)
    except BaseException:
        release_lock(exp)
        if created:
            shutil.rmtree(exp, ignore_errors=True)
        raise


# ------------------------------------------------------------------ the lock
def _owner() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": shorten(" ".join(sys.argv), 200)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _read_lock(lock: Path) -> dict | None:
    try:
        owner = read_json(lock, limit=1 << 16)
    except SpeechtlError:
        return None
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return None
    return owner


def acquire_lock(exp: Path) -> None:
    """Create ``exp/.speechtl.lock`` for this process (it is released at exit, or by :func:`release_lock`).

    Raises:
        OutputError: a live process (or one on another host) holds the lock.
    """
    lock = exp / LOCK
    me = _owner()
    for _ in range(5):
        tmp = exp / f".speechtl.lock.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(me), encoding="utf-8")
            os.link(tmp, lock)  # atomic: fails if a lock is there, and the lock is never seen half-written
            _HELD.add(lock)
            return
        except FileExistsError:
            pass
        except OSError as err:
            raise output_error(err, lock) from None
        finally:
            remove_quietly(tmp)
        owner = _read_lock(lock)
        if owner is not None and owner["pid"] == me["pid"] and owner.get("host") == me["host"]:
            _HELD.add(lock)  # ours already (a second workflow step in this process)
            return
        if owner is not None and owner.get("host") != me["host"]:
            raise OutputError(f"{exp}: in use by a run on host {shorten(owner.get('host'), 60)} (pid {owner['pid']}, "
                              f"started {shorten(owner.get('started'), 40)}); if no run uses it any more, "
                              f"remove {lock}")
        if owner is not None and _alive(owner["pid"]):
            raise OutputError(f"{exp}: in use by another run (pid {owner['pid']}, started "
                              f"{shorten(owner.get('started'), 40)}: {shorten(owner.get('command'), 120)}); wait "
                              "for it to finish, or choose another train.exp_dir")
        gone = "unreadable" if owner is None else f"of pid {owner['pid']}, which is no longer running"
        log.warning("%s: taking over a stale lock (%s)", exp, gone)
        stale = lock.with_name(f"{LOCK}.stale-{os.getpid()}")
        try:
            os.rename(lock, stale)  # one taker wins; the others find the lock gone or new
            stale.unlink()
        except FileNotFoundError:
            pass
    raise OutputError(f"{exp}: could not lock it ({lock} keeps changing hands)")


def release_lock(exp: Path) -> None:
    """Remove this process's lock on ``exp`` (another's is left alone), recording the run's outputs first."""
    lock = exp / LOCK
    if lock not in _HELD:
        return
    _HELD.discard(lock)
    record_outputs(exp)
    owner = _read_lock(lock)
    if owner is not None and owner["pid"] == os.getpid():
        remove_quietly(lock)


@atexit.register
def _release_all() -> None:
    for lock in list(_HELD):
        release_lock(lock.parent)


# -------------------------------------------------------------- the manifest
def _entries(exp: Path) -> set[str]:
    return {p.name for p in exp.iterdir()} - {LOCK, MANIFEST}


def start_manifest(exp: Path, keep: bool) -> None:
    """Write the manifest of a new run (``keep``: a resumed run keeps what the earlier one recorded)."""
    old = _read_manifest(exp) if keep else None
    found = old["found"] if old else sorted(_entries(exp))
    write_json(exp / MANIFEST, {"format": "speechtl-run-files", "found": found,
                                "written": old["written"] if old else []})


def record_outputs(exp: Path) -> None:
    """Add the entries that appeared in ``exp`` since the run began to its manifest (if it has one)."""
    manifest = _read_manifest(exp)
    if manifest is None:
        return
    written = sorted(set(manifest["written"]) | (_entries(exp) - set(manifest["found"])))
    if written != manifest["written"]:
        try:
            write_json(exp / MANIFEST, {**manifest, "written": written})
        except OutputError as err:  # the manifest only narrows a later --overwrite; the run goes on
            log.warning("%s", err)


def _read_manifest(exp: Path) -> dict | None:
    if not (exp / MANIFEST).exists():
        return None
    try:
        data = read_json(exp / MANIFEST)
        if isinstance(data, dict) and all(isinstance(data.get(k), list) for k in ("found", "written")):
            return data
    except SpeechtlError:
        pass
    log.warning("%s: unreadable; --overwrite removes only what a run writes", exp / MANIFEST)
    return None


def _is_run_output(path: Path, trusted: bool) -> bool:
    """An entry of a kind a run writes; without a manifest (``trusted`` false) a folder must hold what a run puts in it."""
    for pattern, inside in RUN_OUTPUTS.items():
        if not fnmatch.fnmatchcase(path.name, pattern):
            continue
        if inside is None:
            return not path.is_dir() or path.is_symlink()
        if trusted:
            return True
        return path.is_dir() and not path.is_symlink() and any(
            fnmatch.fnmatchcase(child.name, want) for child in path.iterdir() for want in inside)
    return False


def remove_earlier_run(exp: Path) -> None:
    """``--overwrite``: remove the earlier run's outputs from ``exp`` and nothing else (see the module docstring)."""
    manifest = _read_manifest(exp)
    found = set(manifest["found"]) if manifest else set()
    removed, kept = [], []
    for name in sorted(_entries(exp)):
        path = exp / name
        if name not in found and _is_run_output(path, trusted=manifest is not None):
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as err:
                raise output_error(err, path) from None
            removed.append(name)
        else:
            kept.append(name)
    remove_quietly(exp / MANIFEST)
    log.warning("--overwrite: removed the earlier run's %s from %s", ", ".join(removed) or "nothing", exp)
    if kept:
        log.warning("--overwrite: kept %d entries that are not a run's outputs: %s", len(kept),
                    shorten(", ".join(kept), 300))
