"""The ``transfer`` section of a recipe: which methods, what comes from a source model, their knobs.

Each dataclass is one method's settings (see :mod:`speechtl.transfer` for the methods);
:class:`TransferConfig` gathers them. Image recipes share it (:mod:`speechtl.tasks.image.recipe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from speechtl.config import ranged
from speechtl.errors import RecipeError

# the names a recipe may list in transfer.methods; speechtl.transfer.registry builds each one
METHOD_NAMES = ("l2sp", "kl", "multitask", "dann", "embedding", "dap", "conse")


@dataclass
class LayerTransferConfig:
    """Which weights start from ``transfer.source`` and how they train (layer transfer)."""

    modules: list[str] = field(default_factory=list)  # copy weights under these name prefixes; [] = all that fit
    blocks: int = ranged(-1, "[-1, inf)")  # copy only the backbone's front end and first k blocks (-1 = no limit)
    freeze: bool = False  # copied weights stay fixed (their modules also stay in eval mode)
    freeze_blocks: int = ranged(-1, "[-1, inf)")  # with freeze: fix only the backbone's front end and first k blocks (-1 = all copied)
    lr_scale: float = ranged(1.0, "[0, inf)")  # learning-rate multiplier of copied weights that train
    lr_decay: float = ranged(1.0, "(0, 1]")  # layer-wise decay: block i of L trains at lr * d^(L-i), the front end at lr * d^(L+1), heads at lr (1 = off)


@dataclass
class PretrainConfig:
    """BEST-RQ self-supervised pre-training on unlabelled audio (``speechtl pretrain``; Chiu et al. 2022)."""

    audio: list[str] = field(default_factory=list)  # Lhotse recordings/cuts manifests, Kaldi wav.scp files or folders of audio files
    codebook_size: int = ranged(8192, "[2, inf)")  # random codewords (the targets' classes)
    code_dim: int = ranged(16, "[1, inf)")  # their dimension
    mask_prob: float = ranged(0.01, "(0, 1]")  # probability of each valid frame starting a masked span
    mask_span: int = ranged(40, "[1, inf)")  # input frames per masked span (400 ms at a 10 ms hop)
    noise_std: float = ranged(0.1, "[0, inf)")  # masked frames are replaced by noise of this standard deviation
    stats_utterances: int = ranged(500, "[1, inf)")  # features.cmvn global: statistics from the first N recordings
    seed: int = 0  # the random projection and codebook (and the masks)


@dataclass
class L2SPConfig:
    """L2-SP (Li et al. 2018): ``weight * sum ||w - w_source||^2`` over the copied weights."""

    weight: float = ranged(0.01, "[0, inf)")


@dataclass
class KLConfig:
    """KL divergence from a frozen copy of the source model's outputs (Yu et al. 2013)."""

    weight: float = ranged(1.0, "[0, inf)")
    temperature: float = ranged(1.0, "(0, inf)")  # softens both distributions
    heads: Literal["batch", "source"] = "batch"  # each item's own head, or every source head (no forgetting)
    exclude: list[str] = field(default_factory=list)  # with heads: source, heads left out (e.g. one the new data retrains)


@dataclass
class AuxHeadConfig:
    """An auxiliary classification head on the shared trunk."""

    label: str = "language"  # item label it predicts (speech: language | speaker | domain; images: label | domain)
    weight: float = ranged(1.0, "[0, inf)")  # per-head loss weight
    hidden: int = ranged(0, "[0, inf)")  # hidden layer width (0 = one linear layer)
    level: Literal["utterance", "frame"] = "utterance"  # pooled over time, or every frame (sequences)
    values: list[str] = field(default_factory=list)  # classes it names ([] = all in the training data)


@dataclass
class MultitaskConfig:
    """Shared trunk, named heads (Caruana 1997); the multilingual model is one instance."""

    heads: dict[str, AuxHeadConfig] = field(default_factory=dict)  # named auxiliary heads
    task_weights: dict[str, float] = ranged(default_factory=dict, interval="[0, inf)")  # main task's heads (speech: per language)


@dataclass
class DANNConfig:
    """Domain-adversarial training (Ganin et al. 2016)."""

    weight: float = ranged(1.0, "[0, inf)")  # weight of the domain classifier's loss
    gamma: float = ranged(10.0, "[0, inf)")  # lambda(p) = 2 / (1 + exp(-gamma p)) - 1, p = training progress
    max_lambda: float = ranged(1.0, "[0, inf)")  # lambda is scaled to reach this value
    hidden: int = ranged(128, "[1, inf)")  # domain classifier width
    layers: int = ranged(2, "[0, inf)")  # domain classifier hidden layers
    dropout: float = ranged(0.0, "[0, 1)")
    level: Literal["utterance", "frame"] = "utterance"  # classify pooled features or every frame
    domain: str = "domain"  # item label naming the domain: domain (source vs target data) | speaker | voice
    layer: int = ranged(0, "[0, inf)")  # encoder block whose output the classifier reads (0: the encoder's output)


@dataclass
class ZeroShotConfig:
    """Classes seen in training and classes recognised zero-shot (shared by dap/embedding/conse)."""

    label: str = "label"  # item label naming the class (images: label; speech: language | speaker)
    seen: list[str] = field(default_factory=list)  # classes trained on ([] = all in the training data)
    unseen: list[str] = field(default_factory=list)  # classes scored zero-shot at evaluation
    attributes: str = ""  # attribute table: a built-in name (digits) or a TSV file (class attr1 attr2 ...)
    names: dict[str, str] = field(default_factory=dict)  # text embedded as a class's name vector


@dataclass
class EmbeddingConfig:
    """Label embedding with the hinge ranking loss (Akata et al. 2013; Frome et al. 2013)."""

    weight: float = ranged(1.0, "[0, inf)")
    margin: float = ranged(1.0, "[0, inf)")  # k: the true pair must beat every other by this much
    dim: int = ranged(64, "[1, inf)")  # joint space width
    vectors: Literal["attributes", "names"] = "attributes"  # what g(y) embeds


@dataclass
class DAPConfig:
    """Direct attribute prediction (Lampert et al. 2009)."""

    weight: float = ranged(1.0, "[0, inf)")


@dataclass
class ConSEConfig:
    """ConSE (Norouzi et al. 2014): convex combination of the top-T seen-class name vectors."""

    top: int = ranged(3, "[1, inf)")  # T
    head: str = ""  # classifier read: "" = the task's own, else a multitask head name


@dataclass
class SelfTrainingConfig:
    """Self-training on the target domain's unlabelled audio (pseudo-labels from the lexicon decoder)."""

    rounds: int = ranged(0, "[0, inf)")  # pseudo-label-and-train rounds after the main training (0 = off)
    keep: list[float] = ranged(default_factory=lambda: [0.3, 0.5, 0.7], interval="(0, 1]")  # share pseudo-labelled in round r (last repeats)
    steps: int = ranged(400, "[1, inf)")  # training steps per round, from the previous round's weights
    warmup_steps: int = ranged(60, "[0, inf)")  # per round
    balanced: bool = False  # the same number of each hypothesised transcript (isolated words: Zou et al. 2018)
    nbest: int = ranged(10, "[2, inf)")  # hypotheses searched for the confidence margin

    def validate(self) -> None:
        if not self.keep:
            raise RecipeError("transfer.self_training.keep: [] gives no share; expected shares in (0, 1], "
                              "one per round")


@dataclass
class ReplayConfig:
    """Rehearsal: some of the source model's own training audio trains beside the new data.

    Regularisers that only see the new audio (L2-SP, KL on it) say nothing about the
    domain the source's languages were trained in; when the new audio is from another
    domain (real recordings added to a synthetic model) the encoder drifts there
    unchecked. Replayed utterances keep their CTC targets (through their languages'
    heads, frozen when ``keep_source_heads``) and, with ``kl`` on every source head,
    also distil the source's outputs on its own audio.
    """

    minutes: float = ranged(0.0, "[0, inf)")  # each replayed language's first N minutes of the source's train split (0: none)
    languages: list[str] = field(default_factory=list)  # which of the source's languages ([] = all of them)


@dataclass
class TransferConfig:
    """Transfer methods: losses added to the task loss, and what comes from a source model."""

    methods: list[str] = field(default_factory=list)  # by name: l2sp kl multitask dann embedding dap conse
    source: str = ""  # source model (file, checkpoint or experiment dir); "" = start from scratch
    keep_source_heads: bool = False  # keep (frozen) the source's heads of languages the data lacks
    init_heads_from_source: bool = True  # a new head's rows of symbols the source knows start from its heads
    layers: LayerTransferConfig = field(default_factory=LayerTransferConfig)
    l2sp: L2SPConfig = field(default_factory=L2SPConfig)
    kl: KLConfig = field(default_factory=KLConfig)
    multitask: MultitaskConfig = field(default_factory=MultitaskConfig)
    dann: DANNConfig = field(default_factory=DANNConfig)
    zeroshot: ZeroShotConfig = field(default_factory=ZeroShotConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    dap: DAPConfig = field(default_factory=DAPConfig)
    conse: ConSEConfig = field(default_factory=ConSEConfig)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)  # after training, on data.target
    replay: ReplayConfig = field(default_factory=ReplayConfig)  # the source's own training audio alongside

    def validate(self) -> None:
        for i, name in enumerate(self.methods):
            if name not in METHOD_NAMES:
                raise RecipeError(f"transfer.methods[{i}]: unknown method {name!r}; "
                                  f"available: {', '.join(METHOD_NAMES)}")
        if ("l2sp" in self.methods or "kl" in self.methods) and not self.source:
            raise RecipeError("transfer.source: l2sp and kl need a source model")
        if self.replay.minutes and not self.source:
            raise RecipeError("transfer.replay.minutes: replays the source model's training audio; "
                              "needs a source model (transfer.source)")
        if self.keep_source_heads and not self.source:
            raise RecipeError("transfer.keep_source_heads: needs a source model (transfer.source)")
