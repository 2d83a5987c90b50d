"""A recipe's transfer section applied to a task: layer transfer, then the methods' objective.

Layer transfer (:mod:`speechtl.transfer.layer_transfer`) copies and freezes source
weights before training; the methods named in ``transfer.methods`` come from
:mod:`speechtl.transfer.registry`; the result is the objective to train and the
optimizer's parameter groups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from speechtl.errors import RecipeError
from speechtl.training.objective import Objective, TransferMethod
from speechtl.transfer import layer_transfer
from speechtl.transfer.config import TransferConfig
from speechtl.transfer.registry import TransferContext, build_methods
from speechtl.transfer.zeroshot import ZeroShotPredictor

log = logging.getLogger(__name__)


@dataclass
class TransferSetup:
    """The objective to train and what else the recipe's transfer section produced."""

    objective: Objective
    param_groups: list[dict]
    predictors: dict[str, object]  # zero-shot scorers (``zero_shot_scores``) by method name
    copied: list[str]
    frozen: list[str]


def setup_transfer(cfg: TransferConfig, task: nn.Module, make_task: Callable[[nn.Module], nn.Module],
                   labels: dict[str, list[str]], lr: float,
                   load_source: Callable[[str], nn.Module] | None = None,
                   classifier: tuple[Callable, list[str]] | None = None) -> TransferSetup:
    """Copy/freeze source layers, build the methods, and return the objective and optimizer groups.

    Args:
        cfg: the recipe's ``transfer`` section.
        task: the task module, owning the model as ``task.model``.
        make_task: builds a task of the same kind around another model.
        labels: values of each item label in the training data.
        lr: the recipe's learning rate (copied layers train at ``lr * layers.lr_scale``).
        load_source: loads ``cfg.source`` (speech or image model loader).
        classifier: the task's own classifier and its class names, for ConSE.
    """
    model = task.model
    source, copied, frozen = None, [], []
    if cfg.source:
        if load_source is None:
            raise RecipeError("transfer.source: this task cannot load a source model")
        source = load_source(cfg.source)
        state = source.state_dict()
        copied = layer_transfer.select_weights(model, state, cfg.layers.modules, cfg.layers.blocks)
        if not copied:
            raise RecipeError(f"transfer.layers: no weight of {cfg.source} fits the new model "
                              f"(modules={cfg.layers.modules}, blocks={cfg.layers.blocks})")
        layer_transfer.copy_weights(model, state, copied)
        log.info("copied %d weights from %s", len(copied), cfg.source)
        if cfg.layers.freeze:
            fixed = copied if cfg.layers.freeze_blocks < 0 else layer_transfer.first_blocks(
                model, copied, cfg.layers.freeze_blocks, "transfer.layers.freeze_blocks", keep_others=False)
            frozen = layer_transfer.freeze(model, fixed)
            log.info("frozen: %s", ", ".join(frozen) or "(parameters only)")
    ctx = TransferContext(cfg, model, make_task, labels, source, copied, classifier)
    losses: list[tuple[float, TransferMethod]] = []
    predictors: dict[str, object] = {}
    for name, method in build_methods(ctx, cfg.methods).items():
        if isinstance(method, TransferMethod):
            weight = getattr(getattr(cfg, name, None), "weight", 1.0)
            losses.append((weight, method))
        if isinstance(method, ZeroShotPredictor):
            predictors[name] = method
    objective = Objective(task, losses)
    params = dict(model.named_parameters())
    anchored = list(getattr(ctx.built.get("l2sp"), "names", []))
    copied_params = [n for n in copied if n in params]
    groups = layer_transfer.param_groups(objective, "task.model.", copied_params, lr, cfg.layers.lr_scale,
                                         no_decay=anchored,
                                         scales=layer_transfer.decay_scales(model, cfg.layers.lr_decay))
    return TransferSetup(objective, groups, predictors, copied, frozen)
