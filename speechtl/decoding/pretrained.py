"""Where a pretrained model lives: a local folder, a shipped ``builtin:NAME``, or a Hugging Face Hub id.

A model folder is Hub-style: ``model.json`` (config and inventories),
``model.safetensors`` and a model card ``README.md``. A Hub id (``owner/name``)
is fetched with ``huggingface_hub`` (the optional ``hub`` extra) into its usual
cache, so a second load, or one with ``HF_HUB_OFFLINE=1``, reads the cache and
never the network. Used by :meth:`speechtl.decoding.recognizer.Recognizer.from_pretrained`.
"""

from __future__ import annotations

import re
from pathlib import Path

from speechtl.errors import CheckpointError, shorten
from speechtl.resources import BUILTIN

MODEL_FILES = ["model.json", "model.safetensors", "README.md"]  # what a Hub model folder holds
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # owner/name, as the Hub spells repository ids


def pretrained_path(id_or_dir: str | Path, cache_dir: str | Path | None = None) -> str | Path:
    """The local model folder (or ``builtin:NAME``) for ``id_or_dir``, fetching a Hub id into the cache.

    Args:
        id_or_dir: an existing folder, ``builtin:NAME``, or a Hub repository id ``owner/name``.
        cache_dir: the Hub cache (None: ``huggingface_hub``'s own, ``HF_HUB_CACHE``).

    Raises:
        CheckpointError: neither a folder nor a Hub id; ``huggingface_hub`` is not installed; or the
            model is not in the cache and the Hub cannot be reached (one line naming the cache).
    """
    spec = str(id_or_dir)
    if spec.startswith(BUILTIN) or Path(spec).exists():
        return id_or_dir
    if not HUB_ID.match(spec):
        raise CheckpointError(f"{shorten(repr(spec))}: no such folder, and not a Hugging Face Hub id (owner/name)")
    try:
        import huggingface_hub
        from huggingface_hub import constants
    except ImportError:
        raise CheckpointError(f"{spec}: no such folder; fetching it from the Hugging Face Hub needs huggingface_hub "
                              "(pip install 'speechtl[hub]')") from None
    cache = Path(cache_dir or constants.HF_HUB_CACHE)
    try:
        return Path(huggingface_hub.snapshot_download(spec, allow_patterns=MODEL_FILES, cache_dir=cache))
    except Exception as err:  # noqa: BLE001  offline, no such repository, HTTP errors: all say the same to a user
        raise CheckpointError(_hub_message(spec, cache, err)) from None


def _hub_message(spec: str, cache: Path, err: Exception) -> str:
    """One line for a Hub id that could not be had: offline and not cached, or what the Hub said."""
    # huggingface_hub raises LocalEntryNotFoundError when it is offline (or cannot connect) and has no snapshot
    offline = type(err).__name__ in ("LocalEntryNotFoundError", "OfflineModeIsEnabled") or \
        isinstance(err, (ConnectionError, TimeoutError))
    if offline:
        return (f"{spec}: not in the Hugging Face cache ({cache}) and the Hub cannot be reached (no network, or "
                "HF_HUB_OFFLINE=1); download it once with the network on, or pass a local model folder")
    return f"{spec}: cannot fetch it from the Hugging Face Hub ({shorten(err, 200)}); cache: {cache}"
