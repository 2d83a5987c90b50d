"""Pre-train a speech recipe's encoder on unlabelled audio with BEST-RQ (:mod:`speechtl.transfer.bestrq`).

The speech task's ``pretrain`` step (:mod:`speechtl.workflows.pretrain` runs it).

Steps: claim the experiment directory, read the unlabelled recordings, build the
recipe's model without language heads (global CMVN statistics from the audio),
train the masked prediction in the one training loop, save the model. Any recipe
then starts from it with ``transfer.source: EXP/model`` (its encoder and front end
are copied; its heads are new).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import yaml

from speechtl.config import to_dict
from speechtl.data.dataset import CutBatches
from speechtl.data.cmvn import Normaliser
from speechtl.data.sampler import CutBatchLoader
from speechtl.data.unlabelled import first_features, skip_causes, unlabelled_cuts
from speechtl.errors import AudioError, RecipeError
from speechtl.files import save_model_files
from speechtl.outputs import write_text
from speechtl.models.acoustic import build_acoustic_model
from speechtl.models.io import model_metadata
from speechtl.tasks.speech.model import model_config
from speechtl.training.experiment import claim_experiment_dir, release_lock
from speechtl.training.loop import Trainer
from speechtl.training.objective import Objective
from speechtl.transfer.bestrq import BestRQ

log = logging.getLogger(__name__)


def pretrain(recipe, resume: bool = False, overwrite: bool = False, progress: bool = True) -> Path:
    """BEST-RQ pre-training of ``recipe``'s encoder on ``recipe.pretrain.audio``; returns ``train.exp_dir``."""
    if recipe.features.kind != "fbank":
        raise RecipeError("features.kind: BEST-RQ pre-trains speechtl's filterbank encoders (tdnn, conformer, "
                          "blstm); wav2vec2-family encoders come pre-trained (model.pretrained)")
    if recipe.train.num_threads > 0:
        torch.set_num_threads(recipe.train.num_threads)
    torch.manual_seed(recipe.train.seed)
    exp = Path(recipe.train.exp_dir)
    cuts, skipped = unlabelled_cuts(recipe.pretrain.audio, recipe.data.max_duration)  # before writing anything
    count = len(cuts)
    if count < 2:
        raise AudioError(f"pretrain.audio: {count} readable recording; pre-training needs at least 2")
    claim_experiment_dir(exp, resume, overwrite)
    try:
        return _pretrain(recipe, exp, cuts, count, skipped, resume, progress)
    finally:
        release_lock(exp)


def _pretrain(recipe, exp: Path, cuts, count: int, skipped: list, resume: bool, progress: bool) -> Path:
    """The steps after the experiment directory is claimed (see :func:`pretrain`)."""
    from lhotse import CutSet

    write_text(exp / "recipe.yaml", yaml.safe_dump(recipe.to_dict(), allow_unicode=True, sort_keys=False))
    (exp / "data").mkdir(exist_ok=True)
    cuts.to_file(exp / "data" / "cuts.jsonl.gz")  # read lazily by the sampler, as the training manifest is
    cuts = CutSet.from_jsonl_lazy(exp / "data" / "cuts.jsonl.gz")
    model = build_acoustic_model(model_config(recipe), {})
    Normaliser.fit_model(model.frontend.normalizer,
                         first_features(cuts, recipe.features, recipe.pretrain.stats_utterances))  # a generator
    seconds = sum(c.duration for c in cuts)
    log.info("pre-training on %d recordings (%.2f h, %d skipped), encoder %.2fM parameters", len(cuts),
             seconds / 3600, len(skipped), sum(p.numel() for p in model.encoder.parameters()) / 1e6)
    # duration buckets: Lhotse wants at least two and no more than there are recordings
    loader = CutBatchLoader(cuts, CutBatches({}, recipe.features, recipe.data.synth.seed), recipe.train.max_duration,
                            seed=recipe.train.seed, num_workers=recipe.train.num_workers, num_buckets=min(10, count))
    objective = Objective(BestRQ(model, recipe.features.dim, recipe.pretrain))
    meta = {"recipe": recipe.to_dict(), "labels": {},
            "pretraining": {"method": "best-rq", "recordings": len(cuts), "hours": seconds / 3600,
                            "skipped": len(skipped), "skipped_by_cause": skip_causes(skipped),
                            **to_dict(recipe.pretrain)}}
    trainer = Trainer(objective, loader, recipe.train, exp, model_meta=lambda: model_metadata(model, **meta),
                      frames_per_second=recipe.features.frames_per_second, progress=progress)
    trainer.fit(resume=resume)
    save_model_files(trainer.final_state(), model_metadata(model, **meta), exp / "model")
    return exp
