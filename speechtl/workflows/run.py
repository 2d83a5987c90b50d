"""A whole recipe as its steps: train, self-train, plot, evaluate.

``speechtl run RECIPE`` is this list; each step is also a command of its own
(``speechtl train``, ``speechtl self-train``, ``speechtl plot tsne``,
``speechtl eval``). A step runs when the recipe asks for it: self-training when
``transfer.self_training.rounds`` > 0, the t-SNE map by domain when the recipe
trains with DANN; the evaluations are those the recipe's task judges a run by
(speech: the test split, and the target domain's test split when there is one).
"""

from __future__ import annotations

import logging

from speechtl.tasks import task_of
from speechtl.workflows.plot import save_domain_tsne
from speechtl.workflows.self_train import self_train
from speechtl.workflows.train import train

log = logging.getLogger(__name__)


def run(recipe, resume: bool = False, overwrite: bool = False, progress: bool = True) -> dict[str, dict]:
    """Run the recipe's steps; returns the evaluation reports by name (speech: ``test``, ``target``)."""
    exp = train(recipe, resume=resume, overwrite=overwrite, progress=progress)
    if recipe.transfer.self_training.rounds > 0:
        self_train(recipe, exp, resume=resume, progress=progress)
    if "dann" in recipe.transfer.methods:
        save_domain_tsne(exp / "model", exp / "tsne.png")
    return task_of(recipe).final_reports(exp / "model", progress=progress)
