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
from a stranger cannot run code. Model files are opened only when they are
regular files (a FIFO is refused, never waited on), JSON is read with a size and
nesting bound (:func:`speechtl.config.parse_json`), and weights must match the
SHA-256 their JSON records: a JSON without one is refused unless the user accepts
unverified models (``--accept-unverified``, or ``SPEECHTL_ACCEPT_UNVERIFIED=1``).
Every model speechtl has written records its hash, so only a hand-made or
hand-edited ``model.json`` lacks one.

Every file is written under a temporary name and renamed when complete
(:mod:`speechtl.outputs`); a failed write removes what it began and names the path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import IO, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from speechtl.config import parse_json
from speechtl.errors import CheckpointError, SpeechtlError, shorten
from speechtl.outputs import output_error, remove_quietly, write_text
from speechtl.resources import BUILTIN, builtin_model

log = logging.getLogger(__name__)

MODEL_FORMAT = "speechtl-model"
FORMAT_VERSION = 2  # 2: model sections stored apart from the recipe; 1 is still read

MAX_JSON_BYTES = 64 << 20  # model.json holds inventories, the recipe and subword models: far less than this
MAX_HEADER_BYTES = 16 << 20  # a safetensors header: a line of JSON per tensor
ACCEPT_UNVERIFIED = "SPEECHTL_ACCEPT_UNVERIFIED"  # "1": load weights whose JSON records no SHA-256

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


# -------------------------------------------------------------- reading safely
def open_regular(path: Path, error: type[SpeechtlError] = CheckpointError) -> IO[bytes]:
    """``path`` opened for binary reading if it is a regular file; anything else raises ``error`` naming it.

    The file is opened without blocking first, so a FIFO is refused at once instead
    of waiting for a writer forever; a folder or a device is refused as well.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as err:
        raise error(f"{path}: cannot open it ({err.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise error(f"{path}: is {kind}; speechtl reads this only from a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular(path: Path, limit: int, error: type[SpeechtlError] = CheckpointError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (larger: ``error``, before reading it all)."""
    with open_regular(path, error) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path}: larger than {limit} bytes; not a file speechtl wrote")
    return data


def read_json(path: Path, error: type[SpeechtlError] = CheckpointError, limit: int = MAX_JSON_BYTES,
              what: str = "") -> Any:
    """A JSON file, its size and nesting bounded before it is parsed (:func:`speechtl.config.parse_json`).

    Args:
        what: what the file should be, for messages (``"a speechtl model metadata file"``).
    """
    source = f"{path}: not {what}" if what else str(path)
    try:
        text = read_regular(path, limit, error).decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{source}: not UTF-8 text (byte {err.start})") from None
    return parse_json(text, source, error)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` from a safetensors file's header, without reading a tensor.

    Raises:
        CheckpointError: not a safetensors file (the header's length or JSON is wrong).
    """
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{path}: not a safetensors file (header length {length}); "
                                  "speechtl never unpickles")
        header = f.read(length)
    try:
        entries = parse_json(header.decode("utf-8"), str(path), CheckpointError)
        return {name: tuple(int(n) for n in entry["shape"]) for name, entry in entries.items()
                if name != "__metadata__"}
    except (UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: not a safetensors file (malformed header)") from None


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
    """Write JSON atomically (temp file, fsync, rename); errors of the system name ``path``."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False))


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> str:
    """Write a safetensors file (synced); its SHA-256. A failed write removes it and names it (exit 2)."""
    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    try:
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        remove_quietly(path)
        raise output_error(err, path) from None
    return hashlib.sha256(data).hexdigest()


def save_model_files(state: dict[str, torch.Tensor], meta: dict, stem: Path) -> None:
    """Write ``stem.safetensors`` and ``stem.json`` (the JSON last, with the weights' hash)."""
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(err, stem.parent) from None
    weights = stem.with_suffix(".safetensors")
    tmp = weights.with_name(weights.name + ".tmp")
    digest = save_tensors(state, tmp)
    try:
        os.replace(tmp, weights)
    except OSError as err:
        remove_quietly(tmp)
        raise output_error(err, weights) from None
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
            if candidate.exists():  # not only a regular file: read_metadata names a FIFO as such
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
        CheckpointError: missing, not a regular file, too large or deep, not JSON, not a speechtl
            model file, or of a newer format version.
    """
    meta_path = resolve_model_path(path).with_suffix(".json")
    if not meta_path.exists():
        looked = "" if Path(path) == meta_path else f" (no {meta_path})"
        raise CheckpointError(f"{path}: model file not found{looked}")
    meta = read_json(meta_path, what="a speechtl model metadata file")
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{meta_path}: not a speechtl model metadata file (format tag missing)")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: model format version {str(version)[:20]!r}; this speechtl reads "
                              f"versions 1 to {FORMAT_VERSION} (a newer speechtl wrote it?)")
    return meta


def verify_weights(weights: Path, meta: dict, source: str | Path) -> None:
    """Check ``weights`` against the SHA-256 its metadata records.

    Raises:
        CheckpointError: the hash differs (truncated or altered weights), or none is recorded and
            unverified models are not accepted (``--accept-unverified``, ``SPEECHTL_ACCEPT_UNVERIFIED=1``).
    """
    recorded = meta.get("sha256")
    if recorded is None:
        if os.environ.get(ACCEPT_UNVERIFIED) == "1":
            log.warning("%s records no SHA-256 of its weights; loading them unverified, as asked", source)
            return
        raise CheckpointError(f"{source}: records no SHA-256 of its weights, so altered or truncated weights could "
                              "not be told apart (every model speechtl writes records one); if you trust this file, "
                              f"pass --accept-unverified (or set {ACCEPT_UNVERIFIED}=1)")
    if not isinstance(recorded, str) or sha256(weights) != recorded:
        raise CheckpointError(f"{weights}: weights do not match their recorded hash (truncated or altered)")


def load_model_files(path: str | Path, verify: bool = True) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a model's weights and metadata, refusing anything that is not ours.

    Raises:
        CheckpointError: missing files, not a speechtl model (a pickle, say),
            or weights that do not match the recorded hash (truncated).
    """
    stem = resolve_model_path(path)
    meta = read_metadata(stem)
    weights = stem.with_suffix(".safetensors")
    if not weights.exists():
        raise CheckpointError(f"{weights}: model file not found")
    tensor_shapes(weights)  # a regular file with a sane header, before it is hashed or mapped
    if verify:
        verify_weights(weights, meta, stem.with_suffix(".json"))
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{weights}: not a safetensors file ({shorten(err, 200)}); speechtl never unpickles") \
            from None
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
    """Both halves of a checkpoint are regular files whose weights match their recorded hashes."""
    try:
        for stem in ("model", "trainer"):
            meta = read_json(path / f"{stem}.json")
            if not isinstance(meta, dict) or sha256(path / f"{stem}.safetensors") != meta.get("sha256"):
                return False
        return True
    except (OSError, SpeechtlError):
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
