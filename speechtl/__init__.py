"""speechtl: transfer learning for speech recognition.

Multilingual phoneme models (one shared encoder, one CTC head per language),
lexicon decoding of words never heard in training, and the transfer methods
(conservative training, layer transfer, multitask, DANN, zero-shot) behind one
backbone interface.

The public API::

    import speechtl

    recipe = speechtl.load_recipe("recipes/tiny.yaml", ["train.max_steps=100"])
    exp = speechtl.train(recipe)                      # the experiment directory
    report = speechtl.evaluate(exp / "model", "test")  # PER / WER per language
    rec = speechtl.Recognizer.load(exp / "model")
    print(rec.transcribe("talk.wav", language="en", words=["hello", "world"]).text)
"""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["Recognizer", "evaluate", "load_recipe", "run", "train", "__version__"]


def __getattr__(name: str):
    # imported on first use, so that `import speechtl` (and the CLI's --help) stays fast
    if name == "load_recipe":
        from speechtl.tasks import load_recipe

        return load_recipe
    if name == "train":
        from speechtl.workflows.train import train

        return train
    if name == "run":
        from speechtl.workflows.run import run

        return run
    if name == "evaluate":
        from speechtl.workflows.evaluate import evaluate

        return evaluate
    if name == "Recognizer":
        from speechtl.decoding.recognizer import Recognizer

        return Recognizer
    raise AttributeError(f"module 'speechtl' has no attribute {name!r}")
