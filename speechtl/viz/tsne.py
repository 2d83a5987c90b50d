"""t-SNE maps of backbone features coloured by domain (or speaker, language, class).

For any model that satisfies the backbone contract: speech models give one
vector per utterance (encoder features pooled over valid frames), image models
one per image. Drawing a source-only and a DANN model side by side shows the
domain mismatch and its removal (van der Maaten & Hinton 2008, "Visualizing
Data using t-SNE").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from speechtl.errors import RecipeError
from speechtl.models.backbone import pool
from speechtl.training.checkpoint import resolve_model_path


def model_kind(path: str | Path) -> str:
    """The ``kind`` recorded in a model's JSON metadata (``acoustic-model``, ``image-model``)."""
    meta_path = resolve_model_path(path).with_suffix(".json")
    try:
        return json.loads(meta_path.read_text(encoding="utf-8")).get("kind", "")
    except (OSError, json.JSONDecodeError):
        return ""


@torch.no_grad()
def pooled_features(encode, batches: Iterable, key: str) -> tuple[np.ndarray, list[str]]:
    """``(items, dim)`` pooled backbone features and each item's ``key`` label.

    Args:
        encode: ``batch -> (hidden, lengths)``.
        batches: batches answering ``tags(key)``.
    """
    feats, tags = [], []
    for batch in batches:
        hidden, lengths = encode(batch)
        feats.append(pool(hidden, lengths).cpu().numpy())
        tags.extend("?" if t is None else t for t in batch.tags(key))
    return np.concatenate(feats), tags


def _subsample(n: int, max_items: int, seed: int = 0) -> np.ndarray:
    if n <= max_items:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_items, replace=False))


def image_features(model_path: str | Path, key: str, max_items: int) -> tuple[np.ndarray, list[str]]:
    """Features of the test images of every domain the image model's recipe names."""
    from speechtl.vision.experiment import build_image_data
    from speechtl.vision.data import collate_images
    from speechtl.vision.model import load_image_model

    model, _ = load_image_model(model_path)
    data = build_image_data(model.recipe)
    feats, tags = [], []
    for ds in data.test.values():
        idx = _subsample(len(ds), max_items // len(data.test))
        f, t = pooled_features(lambda b: model(b.x), [collate_images([ds[int(i)] for i in idx])], key)
        feats.append(f)
        tags.extend(t)
    return np.concatenate(feats), tags


def speech_features(model_path: str | Path, key: str, split: str, max_items: int, recipe=None
                    ) -> tuple[np.ndarray, list[str]]:
    """Pooled encoder features of a split of the corpus plus its target-domain audio.

    The corpus and target domain (with their channels) are the model's recipe's, or ``recipe``'s.
    """
    from speechtl.data.dataset import collate
    from speechtl.experiment import load_split, load_target_domain
    from speechtl.models.io import load_model

    model = load_model(model_path)
    recipe = recipe or model.recipe
    utts = load_split(recipe, split) + load_target_domain(recipe)
    utts = [utts[int(i)] for i in _subsample(len(utts), max_items)]
    items = [(u, torch.zeros(0, dtype=torch.long)) for u in utts]
    batches = (collate(items[i:i + 32]) for i in range(0, len(items), 32))
    return pooled_features(lambda b: model(b.feats, b.lengths), batches, key)


def features(model_path: str | Path, key: str = "domain", split: str = "test", max_items: int = 600,
             recipe=None) -> tuple[np.ndarray, list[str]]:
    """Pooled backbone features and labels for a speech or image model file.

    ``recipe`` (speech) takes the data from another recipe, e.g. a DANN recipe's target
    domain for a source-only model trained without one.
    """
    kind = model_kind(model_path)
    if kind == "image-model":
        return image_features(model_path, key, max_items)
    if kind == "acoustic-model":
        return speech_features(model_path, key, split, max_items, recipe)
    raise RecipeError(f"{model_path}: not a speechtl model (kind {kind!r})")


def tsne_2d(feats: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(items, 2)`` t-SNE embedding (scikit-learn)."""
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise RecipeError("t-SNE plots need scikit-learn: pip install 'speechtl[viz]'") from None
    perplexity = float(min(30, max(2, (len(feats) - 1) // 3)))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(feats)


def plot_tsne(panels: list[tuple[str, np.ndarray, list[str]]], out: str | Path, key: str = "domain") -> Path:
    """One scatter panel per ``(title, points (items, 2), labels)``, same colours for same labels."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RecipeError("plots need matplotlib: pip install 'speechtl[viz]'") from None
    values = sorted({t for _, _, tags in panels for t in tags})
    cmap = plt.get_cmap("tab10" if len(values) <= 10 else "tab20")
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.6), squeeze=False)
    for ax, (title, points, tags) in zip(axes[0], panels):
        arr = np.asarray(tags)
        for i, v in enumerate(values):
            m = arr == v
            if m.any():
                ax.scatter(points[m, 0], points[m, 1], s=6, alpha=0.7, color=cmap(i % cmap.N),
                           label=v if len(values) <= 20 else None)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    if len(values) <= 20:
        axes[0][-1].legend(title=key, markerscale=3, loc="best", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def save_domain_tsne(model_path: str | Path, out: str | Path, key: str = "domain", max_items: int = 400,
                     recipe=None, title: str = "") -> Path | None:
    """Draw one model's t-SNE map by ``key`` to ``out`` (a run's ``tsne.png``).

    Missing plotting packages only log a warning: the plot is a by-product of training.
    """
    import logging

    try:
        feats, tags = features(model_path, key, "test", max_items, recipe)
        return plot_tsne([(title or f"{Path(out).parent.name}: {key}", tsne_2d(feats), tags)], out, key)
    except RecipeError as err:
        logging.getLogger(__name__).warning("no t-SNE plot: %s", err)
        return None
