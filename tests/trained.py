"""Small models trained on the tiny corpus, for the tests that need a real recogniser."""

from __future__ import annotations

import torch

from speechtl.tasks.speech.recipe import Recipe


def train_small(tiny_corpus, exp_dir, language: str, encoder: str, dim: int, layers: int, steps: int):
    """A one-language model trained ``steps`` steps on the tiny corpus (dropout 0, one thread); its stem."""
    import dataclasses

    from speechtl.workflows.train import train

    recipe = Recipe(name=f"tiny-{language}-{encoder}", data=dataclasses.replace(tiny_corpus, languages=[language]))
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = encoder, dim, layers, 0.0
    recipe.train.exp_dir = str(exp_dir)
    recipe.train.max_duration, recipe.train.max_steps, recipe.train.warmup_steps = 40, steps, 10
    recipe.train.lr, recipe.train.num_threads = 3e-3, 1
    recipe.train.log_every, recipe.train.checkpoint_every = 100, 1000
    torch.manual_seed(0)
    return train(recipe, progress=False) / "model"
