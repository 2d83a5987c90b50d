"""Save and load acoustic models: safetensors weights + JSON (model sections, inventories, extras).

Loading checks before it allocates: the sizes ``model.json`` gives (``dim``, layers,
inventories) must give exactly the tensor shapes of the weights file's header, so an
edited ``dim: 16384`` is refused in milliseconds instead of allocating gigabytes. The
architecture is built on PyTorch's ``meta`` device for that comparison (no memory).
"""

from __future__ import annotations

from pathlib import Path

import torch

from speechtl.config import check_value, from_dict, to_dict
from speechtl.errors import CheckpointError, RecipeError, shorten
from speechtl.files import EXTRA_PREFIX, load_model_files, load_weights, read_metadata, save_model_files, \
    tensor_shapes
from speechtl.models.acoustic import AcousticModel, AcousticModelConfig, build_acoustic_model
from speechtl.models.ctc_checkpoint import is_ctc_checkpoint, read_ctc_checkpoint
from speechtl.text.inventory import Inventory
from speechtl.text.subword import from_base64, to_base64

KIND = "acoustic-model"
SECTIONS = ("features", "specaugment", "model", "units")


def model_metadata(model: AcousticModel, **extra) -> dict:
    """What, beside the weights, rebuilds the model: its sections and inventories (plus ``extra``)."""
    meta = {"kind": KIND, **to_dict(model.config),
            "inventories": {lang: inv.tokens for lang, inv in model.inventories.items()}, **extra}
    if model.unit_models:
        meta["unit_models"] = {lang: to_base64(m) for lang, m in model.unit_models.items()}
    return meta


def save_model(model: AcousticModel, stem: str | Path, extra_state: dict[str, torch.Tensor] | None = None,
               **extra) -> None:
    """Write ``stem.safetensors`` + ``stem.json``.

    Args:
        extra_state: more tensors stored beside the weights (``transfer.*``: method weights).
        extra: stored in the JSON as it is (the recipe, decoding settings, label spaces).
    """
    save_model_files({**model.state_dict(), **(extra_state or {})}, model_metadata(model, **extra), Path(stem))


def model_from_metadata(meta: dict, source: str = "model", device: str | torch.device | None = None
                        ) -> AcousticModel:
    """An untrained model of the architecture ``meta`` describes (on ``device``: ``"meta"`` allocates nothing)."""
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{source}: holds a {str(meta.get('kind'))[:40]!r}, not an acoustic model")
    # format version 1 kept the sections inside the whole recipe
    sections = meta if "model" in meta else meta.get("recipe", {})
    try:
        config = from_dict(AcousticModelConfig, {k: sections[k] for k in SECTIONS if k in sections})
        tokens = check_value(meta["inventories"], dict[str, list[str]], "inventories")
        if not tokens and "pretraining" not in meta:  # only a pre-trained encoder (speechtl pretrain) has none
            raise RecipeError("inventories: {} names no language head")
        inventories = {lang: Inventory.from_tokens(toks) for lang, toks in tokens.items()}
        unit_models = {lang: from_base64(m)
                       for lang, m in check_value(meta.get("unit_models", {}), dict[str, str], "unit_models").items()}
        with torch.device(device or "cpu"):
            model = build_acoustic_model(config, inventories)
    except KeyError as err:
        raise CheckpointError(f"{source}: malformed model metadata: the field {err} is missing") from None
    except (ValueError, TypeError, AttributeError, RecipeError) as err:
        raise CheckpointError(f"{source}: malformed model metadata: {shorten(err, 300)}") from None
    model.unit_models = unit_models
    return model


_RENAMED_V1 = (("normalizer.", "frontend.normalizer."),)  # version-1 weight names


def _v1_name(name: str) -> str:
    return next((new + name[len(old):] for old, new in _RENAMED_V1 if name.startswith(old)), name)


def check_shapes(path: str | Path) -> None:
    """Refuse a model whose metadata describes other tensor shapes than its weights hold, before allocating it.

    Raises:
        CheckpointError: naming the first tensor whose shape differs (or that one side lacks).
    """
    from speechtl.files import resolve_model_path

    stem = resolve_model_path(path)
    meta = read_metadata(stem)
    stored = tensor_shapes(stem.with_suffix(".safetensors"))
    if meta.get("version") == 1:
        stored = {_v1_name(k): v for k, v in stored.items()}
    stored = {k: v for k, v in stored.items() if not k.startswith(EXTRA_PREFIX)}
    wanted = {k: tuple(v.shape) for k, v in model_from_metadata(meta, str(path), "meta").state_dict().items()}
    for name in [*wanted, *sorted(stored.keys() - wanted.keys())]:  # in the model's order
        if wanted.get(name) != stored.get(name):
            described = f"shape {list(wanted[name])}" if name in wanted else "no such tensor"
            held = f"{list(stored[name])}" if name in stored else "no such tensor"
            raise CheckpointError(f"{stem.with_suffix('.json')}: weights do not fit the recorded model: it describes "
                                  f"{name} with {described}, the weights hold {held} (sizes such as model.dim "
                                  "edited?)")


def read_model(path: str | Path, device: str | torch.device = "cpu"
               ) -> tuple[AcousticModel, dict[str, torch.Tensor], dict]:
    """Load a model saved by :func:`save_model` (or a checkpoint / experiment directory, or a Hugging Face
    ``*ForCTC`` directory: :mod:`speechtl.models.ctc_checkpoint`).

    Returns:
        ``(model, extra tensors (transfer.*), JSON metadata)``.

    Raises:
        CheckpointError: the files are missing, not ours, or do not fit together.
    """
    if is_ctc_checkpoint(path):  # a Hugging Face *ForCTC directory: read as it is, nothing converted on disk
        model, meta = read_ctc_checkpoint(path)
        return model.to(device).eval(), {}, meta
    check_shapes(path)  # before anything of the model's size is allocated
    state, meta = load_model_files(path)
    model = model_from_metadata(meta, str(path))
    if meta.get("version") == 1:
        state = {_v1_name(k): v for k, v in state.items()}
    extra = load_weights(model, state, str(path))
    return model.to(device).eval(), extra, meta


def load_model_and_meta(path: str | Path, device: str | torch.device = "cpu") -> tuple[AcousticModel, dict]:
    """The acoustic model and its JSON metadata (see :func:`read_model`)."""
    model, _, meta = read_model(path, device)
    return model, meta


def load_model(path: str | Path, device: str | torch.device = "cpu") -> AcousticModel:
    """The acoustic model alone (see :func:`read_model`)."""
    return read_model(path, device)[0]
