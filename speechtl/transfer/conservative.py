"""Conservative training: fine-tune while staying close to the source model.

* :class:`L2SP`: L2-SP (Li, Grandvalet & Davoine 2018, "Explicit Inductive Bias
  for Transfer Learning with Convolutional Networks"), ``sum ||w - w_source||^2``
  over the weights that came from the source model.
* :class:`KLToSource`: KL-divergence regularisation (Yu, Yao, Su, Li & Seide 2013,
  "KL-Divergence Regularized Deep Neural Network Adaptation for Improved Large
  Vocabulary Speech Recognition"): ``KL(p_source || p_new)`` of the output
  distributions, with the source model frozen. It needs no labels, so it also
  uses unlabelled items.

Both are transfer methods: the loop adds ``weight * loss`` to the task loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from speechtl.errors import RecipeError
from speechtl.training.objective import StepOutput, TransferMethod


def l2sp_penalty(params: Iterable[torch.Tensor], anchors: Iterable[torch.Tensor]) -> torch.Tensor:
    """``sum_i ||p_i - a_i||^2``; its gradient with respect to ``p_i`` is ``2 (p_i - a_i)``."""
    terms = [(p - a).pow(2).sum() for p, a in zip(params, anchors)]
    if not terms:
        raise ValueError("l2sp: no parameters to anchor")
    return torch.stack(terms).sum()


class L2SP(TransferMethod):
    """Squared distance of the anchored parameters to their source values.

    Args:
        model: the model being trained.
        anchors: ``{parameter name: source value}``; only trainable parameters count.
    """

    name = "l2sp"

    def __init__(self, model: nn.Module, anchors: dict[str, torch.Tensor]) -> None:
        super().__init__()
        params = dict(model.named_parameters())
        self.names = [n for n in anchors if n in params and params[n].requires_grad]
        if not self.names:
            raise RecipeError("transfer.l2sp: no trainable weight was copied from the source model "
                              "(check transfer.layers)")
        for i, n in enumerate(self.names):
            # rebuilt from the source on every start, so not saved in checkpoints
            self.register_buffer(f"anchor_{i}", anchors[n].detach().clone(), persistent=False)

    def forward(self, model: nn.Module, batch, out: StepOutput, progress: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        params = dict(model.named_parameters())
        anchors = [getattr(self, f"anchor_{i}") for i in range(len(self.names))]
        return l2sp_penalty([params[n] for n in self.names], anchors), {}


def kl_to_source(teacher: dict[str, torch.Tensor], student: dict[str, torch.Tensor],
                 temperature: float = 1.0) -> torch.Tensor:
    """Mean over positions of ``KL(softmax(t / T) || softmax(s / T))``.

    Args:
        teacher / student: ``{group: (positions, classes)}`` log-probabilities or logits
            (speech: one group per language head, rows = valid frames; images: one group).

    Returns:
        A scalar; zero when the two agree on every position.
    """
    total, count = None, 0
    for group, s in student.items():
        if group not in teacher:
            continue
        t = teacher[group]
        if t.shape != s.shape:
            raise RecipeError(f"transfer.kl: the source model's outputs for {group!r} have shape "
                              f"{tuple(t.shape)}, the new model's {tuple(s.shape)}; KL needs the same classes")
        log_t = F.log_softmax(t / temperature, dim=-1)
        log_s = F.log_softmax(s / temperature, dim=-1)
        term = F.kl_div(log_s, log_t, log_target=True, reduction="sum")
        total = term if total is None else total + term
        count += s.shape[0]
    if total is None:
        raise RecipeError("transfer.kl: the source model has none of the new model's outputs")
    return total / max(count, 1)


class KLToSource(TransferMethod):
    """KL divergence from a frozen copy of the source model's outputs to the new model's.

    Args:
        source: the source model (copied and frozen; kept in eval mode).
        make_task: builds the :class:`~speechtl.training.objective.TaskModule` around a model;
            its ``distributions(out, batch)`` gives ``{group: (positions, classes)}``.
        temperature: softens both distributions.
        heads: ``batch`` compares each item's own output group; ``source`` compares every
            head of the source model on every item through the task's
            ``every_head_distributions(model, out)`` (learning without forgetting, Li & Hoiem
            2016: when a language is added, the old heads' outputs on its audio stay put).
        exclude: groups (heads) left out of the comparison, e.g. a head the new data retrains
            (``--replace-head``): its labels teach it something other than the source's outputs.
    """

    name = "kl"

    def __init__(self, source: nn.Module, make_task: Callable[[nn.Module], nn.Module],
                 temperature: float = 1.0, heads: str = "batch", exclude: Iterable[str] = ()) -> None:
        super().__init__()
        teacher = copy.deepcopy(source)
        for p in teacher.parameters():
            p.requires_grad_(False)
        self.teacher_task = make_task(teacher).eval()
        self.temperature = temperature
        self.every_head = heads == "source"
        self.exclude = set(exclude)

    def train(self, mode: bool = True) -> "KLToSource":
        super().train(mode)
        self.teacher_task.eval()  # the source's outputs are a fixed target: no dropout, no SpecAugment
        return self

    def forward(self, model: nn.Module, batch, out: StepOutput, progress: float
                ) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            if self.every_head:  # the source's own languages, judged on this (new) data
                hidden, lengths = self.teacher_task.encode(batch)
                teacher_out = StepOutput(loss=hidden.new_zeros(()), hidden=hidden, lengths=lengths)
                teacher = self.teacher_task.every_head_distributions(self.teacher_task.model, teacher_out)
            else:
                teacher_out = self.teacher_task(batch)
                teacher = self.teacher_task.distributions(teacher_out, batch)
        if self.every_head:
            student = self.teacher_task.every_head_distributions(model, out)
        else:
            student = self.teacher_task.distributions(out, batch)
        if self.exclude:
            student = {group: s for group, s in student.items() if group not in self.exclude}
        return kl_to_source(teacher, student, self.temperature), {}
