"""Transfer methods by name, and how a recipe's ``transfer:`` section becomes an objective.

A recipe lists methods by name (``transfer.methods: [l2sp, dann]``); each name
maps to a builder ``(TransferContext) -> method``. A method is either a
:class:`~speechtl.training.objective.TransferMethod` (a loss the loop adds to the
task loss with its weight) or a wrapper used at evaluation (ConSE). Layer
transfer is not a loss: it is the ``transfer.source`` / ``transfer.layers``
settings applied by :func:`setup_transfer` before training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from speechtl.errors import RecipeError
from speechtl.registry import Registry
from speechtl.training.objective import Objective, TransferMethod
from speechtl.transfer import layer_transfer
from speechtl.transfer.config import TransferConfig
from speechtl.transfer.class_vectors import load_attribute_table, name_vectors
from speechtl.transfer.conse import ConSE
from speechtl.transfer.conservative import L2SP, KLToSource
from speechtl.transfer.dann import DANN, BlockTap
from speechtl.transfer.labels import LabelSpace
from speechtl.transfer.multitask import AuxHead, Multitask
from speechtl.transfer.zeroshot import DAP, ClassDescriptions, LabelEmbedding, ZeroShotPredictor

log = logging.getLogger(__name__)

METHODS: Registry = Registry("transfer method")


@dataclass
class TransferContext:
    """What builders may use.

    Attributes:
        cfg: the recipe's transfer section.
        model: the model being trained (``out_dim`` is the backbone feature width).
        make_task: builds the task around a model (for KL's frozen source copy).
        labels: values of each item label in the training data, e.g. ``{"domain": [...]}``.
        source: the loaded source model, or None.
        copied: names of the weights copied from the source.
        classifier: the task's own classifier over seen classes, ``(hidden, lengths) -> logits``,
            and its class names (image models); None when the task has none.
        built: methods built so far, by name.
    """

    cfg: TransferConfig
    model: nn.Module
    make_task: Callable[[nn.Module], nn.Module]
    labels: dict[str, list[str]]
    source: nn.Module | None = None
    copied: list[str] = field(default_factory=list)
    classifier: tuple[Callable, list[str]] | None = None
    built: dict[str, object] = field(default_factory=dict)

    def label_space(self, key: str, what: str) -> LabelSpace:
        if key not in self.labels:
            raise RecipeError(f"{what}: items have no label {key!r}; they have: {', '.join(sorted(self.labels))}")
        return LabelSpace(key, self.labels[key])

    def descriptions(self, kind: str, seen: list[str] | None = None) -> ClassDescriptions:
        """Seen/unseen classes of ``transfer.zeroshot`` with attribute or name vectors."""
        zs = self.cfg.zeroshot
        if seen is None:
            seen = zs.seen or self.label_space(zs.label, "transfer.zeroshot.label").values
        overlap = set(seen) & set(zs.unseen)
        if overlap:
            raise RecipeError(f"transfer.zeroshot: classes both seen and unseen: {', '.join(sorted(overlap))}")
        classes = list(seen) + list(zs.unseen)
        if kind == "attributes":
            if not zs.attributes:
                raise RecipeError("transfer.zeroshot.attributes: needed by dap / embedding with attributes")
            _, table = load_attribute_table(zs.attributes)
            missing = [c for c in classes if c not in table]
            if missing:
                raise RecipeError(f"transfer.zeroshot.attributes: no row for class(es) {', '.join(missing)} "
                                  f"in {zs.attributes}")
            vectors = {c: table[c] for c in classes}
        else:
            vectors = name_vectors(classes, zs.names)
        return ClassDescriptions(LabelSpace(zs.label, seen), zs.unseen, vectors)


def out_dim(model: nn.Module) -> int:
    dim = getattr(model, "out_dim", None)
    if not isinstance(dim, int):
        raise RecipeError("the model does not expose out_dim (the backbone contract)")
    return dim


@METHODS.register("l2sp")
def build_l2sp(ctx: TransferContext) -> L2SP:
    state = ctx.source.state_dict()
    params = dict(ctx.model.named_parameters())
    return L2SP(ctx.model, {n: state[n] for n in ctx.copied if n in params})


@METHODS.register("kl")
def build_kl(ctx: TransferContext) -> KLToSource:
    return KLToSource(ctx.source, ctx.make_task, ctx.cfg.kl.temperature, ctx.cfg.kl.heads, ctx.cfg.kl.exclude)


@METHODS.register("multitask")
def build_multitask(ctx: TransferContext) -> Multitask:
    cfg = ctx.cfg.multitask
    if not cfg.heads:
        raise RecipeError("transfer.multitask.heads: name at least one auxiliary head")
    heads = {}
    for name, h in cfg.heads.items():
        labels = ctx.label_space(h.label, f"transfer.multitask.heads.{name}")
        if h.values:
            labels = LabelSpace(h.label, h.values)
        heads[name] = (h.weight, AuxHead(out_dim(ctx.model), labels, h.hidden, h.level))
    return Multitask(heads)


@METHODS.register("dann")
def build_dann(ctx: TransferContext) -> DANN:
    cfg = ctx.cfg.dann
    domains = ctx.label_space(cfg.domain, "transfer.dann.domain")
    if len(domains) < 2:
        raise RecipeError(f"transfer.dann: the training data has one {cfg.domain!r} only ({domains.values[0]}); "
                          "DANN needs target-domain data (data.target) or several domains")
    method = DANN(out_dim(ctx.model), domains, cfg.gamma, cfg.max_lambda, cfg.hidden, cfg.layers,
                  cfg.dropout, cfg.level)
    if cfg.layer:
        method.tap = BlockTap(ctx.model, cfg.layer)
    return method


@METHODS.register("embedding")
def build_embedding(ctx: TransferContext) -> LabelEmbedding:
    cfg = ctx.cfg.embedding
    return LabelEmbedding(out_dim(ctx.model), ctx.descriptions(cfg.vectors), cfg.dim, cfg.margin)


@METHODS.register("dap")
def build_dap(ctx: TransferContext) -> DAP:
    return DAP(out_dim(ctx.model), ctx.descriptions("attributes"))


@METHODS.register("conse")
def build_conse(ctx: TransferContext) -> ConSE:
    cfg = ctx.cfg.conse
    if cfg.head:
        multitask = ctx.built.get("multitask")
        if multitask is None or cfg.head not in multitask.heads:
            raise RecipeError(f"transfer.conse.head: no multitask head {cfg.head!r} (list multitask before conse)")
        head = multitask.heads[cfg.head]
        classify, seen = head.logits, head.labels.values
    elif ctx.classifier is not None:
        classify, seen = ctx.classifier
    else:
        raise RecipeError("transfer.conse.head: this task has no classifier of its own; "
                          "name a multitask head to read")
    return ConSE(classify, ctx.descriptions("names", seen=seen), cfg.top)


# methods whose trained weights evaluation needs again (zero-shot predictors and the heads ConSE reads)
EVALUATED_METHODS = ("multitask", "dap", "embedding", "conse")


def build_methods(ctx: TransferContext, names: list[str]) -> dict[str, object]:
    """Build the named methods in order (later ones may read earlier ones from ``ctx.built``)."""
    for name in names:
        ctx.built[name] = METHODS.get(name)(ctx)
    return {name: ctx.built[name] for name in names}


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
