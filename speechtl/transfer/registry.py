"""Transfer methods by name: a recipe's ``transfer.methods`` list mapped to builders.

A recipe lists methods by name (``transfer.methods: [l2sp, dann]``); each name
maps to a builder ``(TransferContext) -> method``. A method is either a
:class:`~speechtl.training.objective.TransferMethod` (a loss the loop adds to the
task loss with its weight) or a wrapper used at evaluation (ConSE). Layer
transfer is not a loss: :mod:`speechtl.transfer.setup` applies it before the
methods are built; :mod:`speechtl.transfer.evaluation` rebuilds the trained
methods evaluation needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from speechtl.errors import RecipeError
from speechtl.registry import Registry
from speechtl.transfer.config import TransferConfig
from speechtl.transfer.class_vectors import load_attribute_table, name_vectors
from speechtl.transfer.conse import ConSE
from speechtl.transfer.conservative import L2SP, KLToSource
from speechtl.transfer.dann import DANN, BlockTap
from speechtl.transfer.labels import LabelSpace
from speechtl.transfer.multitask import AuxHead, Multitask
from speechtl.transfer.zeroshot import DAP, ClassDescriptions, LabelEmbedding

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


def build_methods(ctx: TransferContext, names: list[str]) -> dict[str, object]:
    """Build the named methods in order (later ones may read earlier ones from ``ctx.built``)."""
    for name in names:
        ctx.built[name] = METHODS.get(name)(ctx)
    return {name: ctx.built[name] for name in names}
