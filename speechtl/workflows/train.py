"""Train a recipe's model: its task builds data and model, the one loop trains them.

Works as one process or under ``torchrun`` (rank 0 prepares the data and writes
files). Steps: claim the experiment directory, prepare the data, build the
task's run, add the recipe's transfer methods, train, save the model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import yaml

from speechtl.files import save_model_files
from speechtl.outputs import write_text
from speechtl.tasks import task_of
from speechtl.training.distributed import barrier, cleanup, init_distributed
from speechtl.training.experiment import claim_experiment_dir, release_lock
from speechtl.training.loop import Trainer
from speechtl.transfer.evaluation import method_state
from speechtl.transfer.setup import setup_transfer

log = logging.getLogger(__name__)


def train(recipe, resume: bool = False, overwrite: bool = False, progress: bool = True) -> Path:
    """Train the recipe's model; returns the experiment directory (``train.exp_dir``).

    Args:
        resume: continue from the newest complete checkpoint in the experiment directory.
        overwrite: delete an earlier run in the experiment directory first.
    """
    task = task_of(recipe)
    dist = init_distributed(recipe.train.device)
    exp = Path(recipe.train.exp_dir)
    try:
        if recipe.train.num_threads > 0:
            torch.set_num_threads(recipe.train.num_threads)
        torch.manual_seed(recipe.train.seed)
        if dist.is_main:
            claim_experiment_dir(exp, resume, overwrite)
            write_text(exp / "recipe.yaml", yaml.safe_dump(recipe.to_dict(), allow_unicode=True, sort_keys=False))
            task.prepare(recipe, progress=progress)
        barrier(dist)
        run = task.build(recipe, dist, progress=progress)
        setup = setup_transfer(recipe.transfer, run.module, run.make_module, run.labels, recipe.train.lr,
                               load_source=lambda _: run.source, classifier=run.classifier)
        if dist.is_main:
            log.info("training on %s", run.data.description)
        trainer = Trainer(setup.objective, run.data.loader, recipe.train, exp, model_meta=run.model_meta,
                          frames_per_second=run.data.frames_per_second, param_groups=setup.param_groups, dist=dist,
                          progress=progress, validate=run.validate)
        trainer.fit(resume=resume)
        if dist.is_main:
            save_model_files({**trainer.final_state(), **method_state(setup.objective)}, run.model_meta(),
                             exp / "model")
        barrier(dist)
    finally:
        release_lock(exp)  # only if this process holds it
        cleanup(dist)
    return exp
