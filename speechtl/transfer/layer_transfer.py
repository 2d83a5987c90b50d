"""Layer transfer: start some layers from a source model, freeze or slow them, train the rest.

Yosinski, Clune, Bengio & Lipson 2014, "How transferable are features in deep
neural networks?": copying the first k layers and training the rest on the
target task; which k works best depends on how far source and target are apart.

Selection, in order:

1. candidates are the new model's weights (parameters and buffers) whose name
   and shape also exist in the source;
2. ``modules`` (name prefixes such as ``encoder`` or ``backbone``) keeps only
   those under a prefix (empty: all candidates);
3. ``blocks = k`` (k >= 0) keeps, inside the backbone (the module exposing
   ``frontend`` and ``blocks``, see :mod:`speechtl.models.backbone`), only the
   front end and the first k blocks.

Everything not copied keeps its fresh (random) initialisation. Copied weights
(or, with ``freeze_blocks = k``, only the front end and first k blocks of them) are frozen (their modules then stay in eval mode, so dropout and batch-norm
statistics are frozen too) or trained at ``lr * lr_scale`` through optimizer
parameter groups.

Layer-wise learning-rate decay (``lr_decay = d`` < 1; Howard & Ruder 2018, as used
to fine-tune wav2vec 2.0 and BEiT): the lower a layer, the slower it trains, whether
it was copied or not; block i of L at ``lr * d^(L - i)``, the front end at
``lr * d^(L + 1)``, everything outside the backbone (heads) at ``lr``.
"""

from __future__ import annotations

import types

import torch
from torch import nn

from speechtl.errors import RecipeError


def find_backbone(model: nn.Module) -> tuple[str, nn.Module]:
    """The first submodule (possibly ``model`` itself) exposing ``frontend`` and ``blocks``.

    Returns:
        ``(name prefix, module)``; the prefix is ``""`` for the model itself.

    Raises:
        RecipeError: no module exposes both.
    """
    for name, module in model.named_modules():
        if isinstance(getattr(module, "blocks", None), nn.ModuleList) and hasattr(module, "frontend"):
            return name, module
    raise RecipeError("transfer.layers.blocks: the model has no backbone exposing .frontend and .blocks")


def select_weights(model: nn.Module, source_state: dict[str, torch.Tensor], modules: list[str] = (),
                   blocks: int = -1) -> list[str]:
    """Names of the weights to copy from ``source_state`` into ``model`` (see the module doc)."""
    own = model.state_dict()
    names = [n for n, v in own.items() if n in source_state and source_state[n].shape == v.shape]
    if modules:
        prefixes = [m.rstrip(".") + "." for m in modules]
        names = [n for n in names if any(n.startswith(p) for p in prefixes)]
    if blocks >= 0:
        names = first_blocks(model, names, blocks, "transfer.layers.blocks", keep_others=True)
    return names


def first_blocks(model: nn.Module, names: list[str], k: int, key: str, keep_others: bool) -> list[str]:
    """The ``names`` inside the backbone's front end and first ``k`` blocks.

    Args:
        keep_others: also keep names outside the backbone (heads, normaliser).
        key: the recipe key asking, for the error when ``k`` exceeds the blocks.
    """
    prefix, backbone = find_backbone(model)
    if k > len(backbone.blocks):
        raise RecipeError(f"{key}: {k} asked, the backbone has {len(backbone.blocks)} blocks")
    base = f"{prefix}." if prefix else ""
    keep = [f"{base}frontend."] + [f"{base}blocks.{i}." for i in range(k)]
    return [n for n in names if (keep_others and not n.startswith(base)) or any(n.startswith(p) for p in keep)]


def copy_weights(model: nn.Module, source_state: dict[str, torch.Tensor], names: list[str]) -> None:
    """Copy the named weights from ``source_state`` into ``model``, in place."""
    own = model.state_dict()
    with torch.no_grad():
        for n in names:
            own[n].copy_(source_state[n].to(own[n].device, own[n].dtype))


def _stay_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    return nn.Module.train(self, False)


def freeze(model: nn.Module, names: list[str]) -> list[str]:
    """Stop training the named parameters; modules all of whose parameters are frozen stay in eval mode.

    Returns:
        The names of the modules kept in eval mode (outermost only).
    """
    chosen = set(names)
    for n, p in model.named_parameters():
        if n in chosen:
            p.requires_grad_(False)
    frozen_modules: list[str] = []
    for name, module in model.named_modules():
        params = [p for p in module.parameters()]
        if not name or not params or any(p.requires_grad for p in params):
            continue
        if any(name.startswith(f + ".") for f in frozen_modules):
            continue
        module.train = types.MethodType(_stay_eval, module)  # model.train() leaves it in eval mode
        module.eval()
        frozen_modules.append(name)
    return frozen_modules


def decay_scales(model: nn.Module, decay: float) -> dict[str, float]:
    """``{parameter name: learning-rate factor}`` of layer-wise decay ``decay`` (see the module doc).

    Raises:
        RecipeError: ``decay`` < 1 and the model has no backbone with ``frontend`` and ``blocks``.
    """
    if decay == 1.0:
        return {}
    try:
        prefix, backbone = find_backbone(model)
    except RecipeError:
        raise RecipeError("transfer.layers.lr_decay: the model has no backbone exposing .frontend and .blocks "
                          "to order its layers by depth") from None
    base = f"{prefix}." if prefix else ""
    depth = len(backbone.blocks)
    out = {}
    for n, _ in model.named_parameters():
        if n.startswith(f"{base}frontend."):
            out[n] = decay ** (depth + 1)
        elif n.startswith(f"{base}blocks."):
            out[n] = decay ** (depth - int(n[len(f"{base}blocks."):].split(".")[0]))
    return out


def param_groups(objective: nn.Module, model_prefix: str, copied: list[str], lr: float,
                 lr_scale: float = 1.0, no_decay: list[str] = (), scales: dict[str, float] | None = None
                 ) -> list[dict]:
    """Optimizer groups over ``objective``'s trainable parameters.

    Args:
        objective: everything that trains (model and method modules).
        model_prefix: the model's name inside ``objective`` (``task.model.``).
        copied: model parameter names copied from the source (trained at ``lr * lr_scale``).
        no_decay: model parameter names without weight decay (L2-SP replaces it on them).
        scales: more learning-rate factors by model parameter name (:func:`decay_scales`).
    """
    copied_set = {model_prefix + n for n in copied}
    no_decay_set = {model_prefix + n for n in no_decay}
    scale_of = {model_prefix + n: s for n, s in (scales or {}).items()}
    groups: dict[tuple[bool, bool, float], list[torch.Tensor]] = {}
    for n, p in objective.named_parameters():
        if p.requires_grad:
            groups.setdefault((n in copied_set, n in no_decay_set, scale_of.get(n, 1.0)), []).append(p)
    out = []
    for (is_copied, decay_free, scale), params in sorted(groups.items()):
        group: dict = {"params": params, "lr": lr * scale * (lr_scale if is_copied else 1.0)}
        if decay_free:
            group["weight_decay"] = 0.0
        out.append(group)
    return out
