"""Corpus adapters, looked up by the recipe's ``data.corpus``.

An adapter is one function ``prepare(cfg: DataConfig, jobs) -> {split: CutSet}``
that makes or finds the corpus and returns Lhotse cuts whose supervisions carry
``language``, ``speaker``, ``text`` and ``custom["phonemes"]``.
"""

from __future__ import annotations

from speechtl.data.manifests import SPLITS
from speechtl.recipe import DataConfig
from speechtl.registry import Registry

CORPORA: Registry = Registry("corpus")


@CORPORA.register("synthetic")
def prepare_synthetic(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """The eSpeak NG multilingual corpus (synthesised on first use, then reused)."""
    from speechtl.data.synth import load_synthetic, synthesize_corpus

    synthesize_corpus(cfg, jobs=jobs, progress=progress)
    return {split: load_synthetic(cfg, split) for split in SPLITS}


def prepare_corpus(cfg: DataConfig, jobs: int = 2, progress: bool = True) -> dict:
    """``{split: CutSet}`` of the recipe's corpus."""
    return CORPORA.get(cfg.corpus)(cfg, jobs=jobs, progress=progress)
