"""What evaluation needs of a trained model's transfer methods.

The weights of the methods evaluation rebuilds are saved with the model
(:func:`method_state`); :func:`restore_predictors` rebuilds the zero-shot
predictors from them and :func:`zero_shot_accuracy` scores them on unseen classes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from speechtl.training.objective import Objective
from speechtl.transfer.config import TransferConfig
from speechtl.transfer.labels import LabelSpace
from speechtl.transfer.registry import TransferContext, build_methods
from speechtl.transfer.zeroshot import ZeroShotPredictor

# methods whose trained weights evaluation needs again (zero-shot predictors and the heads ConSE reads)
EVALUATED_METHODS = ("multitask", "dap", "embedding", "conse")
# those of them that are zero-shot predictors (restore_predictors gives these): a report's zero-shot accuracies
ZERO_SHOT_METHODS = ("dap", "embedding", "conse")


def method_state(objective: Objective) -> dict[str, torch.Tensor]:
    """``{"transfer.NAME.KEY": tensor}``: the weights of the methods evaluation rebuilds, saved with the model."""
    return {f"transfer.{m.name}.{k}": v for m in objective.methods if m.name in EVALUATED_METHODS
            for k, v in m.state_dict().items()}


def restore_predictors(cfg: TransferConfig, model: nn.Module, make_task: Callable[[nn.Module], nn.Module],
                       labels: dict[str, list[str]], state: dict[str, torch.Tensor],
                       classifier: tuple[Callable, list[str]] | None = None) -> dict[str, ZeroShotPredictor]:
    """The zero-shot predictors of a trained model, rebuilt from its recipe and :func:`method_state`.

    Args:
        labels: the label spaces the model was trained with (saved in its metadata).
        state: the model file's ``transfer.*`` tensors.
    """
    names = [n for n in cfg.methods if n in EVALUATED_METHODS]
    if not names or not cfg.zeroshot.unseen:
        return {}
    ctx = TransferContext(cfg, model, make_task, labels, classifier=classifier)
    predictors = {}
    for name, method in build_methods(ctx, names).items():
        if isinstance(method, nn.Module):
            prefix = f"transfer.{name}."
            method.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
            method.eval()
        if isinstance(method, ZeroShotPredictor):
            predictors[name] = method
    return predictors


@torch.no_grad()
def zero_shot_accuracy(predictors: dict[str, object], encode: Callable, batches, label: str,
                       unseen: list[str]) -> dict[str, dict]:
    """Accuracy of each zero-shot predictor on items of the unseen classes.

    Args:
        predictors: ``{name: obj}`` with ``obj.zero_shot_scores(hidden, lengths) -> (batch, unseen)``.
        encode: ``batch -> (hidden, lengths)`` (the task's backbone pass, in eval mode).
        batches: iterable of batches with ``tags(label)``.
        label: the item label naming the class; ``unseen``: the classes scored.

    Returns:
        ``{name: {"accuracy", "correct", "total", "chance"}}``.
    """
    space = LabelSpace(label, unseen)
    correct = {n: 0 for n in predictors}
    total = 0
    for batch in batches:
        target = space.ids(batch)
        keep = target >= 0
        if not bool(keep.any()):
            continue
        hidden, lengths = encode(batch)
        total += int(keep.sum())
        for name, pred in predictors.items():
            guess = pred.zero_shot_scores(hidden, lengths).argmax(1).cpu()
            correct[name] += int((guess[keep] == target[keep]).sum())
    return {n: {"accuracy": correct[n] / max(total, 1), "correct": correct[n], "total": total,
                "chance": 1.0 / len(unseen)} for n in predictors}
