"""t-SNE maps of backbone features coloured by domain (or speaker, language, class).

For any model that satisfies the backbone contract: speech models give one
vector per utterance (encoder features pooled over valid frames), image models
one per image. Drawing a source-only and a DANN model side by side shows the
domain mismatch and its removal (van der Maaten & Hinton 2008, "Visualizing
Data using t-SNE").
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from speechtl.errors import RecipeError
from speechtl.tasks import task_of_model

log = logging.getLogger(__name__)


def features(model_path: str | Path, key: str = "domain", split: str = "test", max_items: int = 600,
             recipe=None) -> tuple[np.ndarray, list[str]]:
    """Pooled backbone features and labels for a model file, from its task.

    ``recipe`` (speech) takes the data from another recipe, e.g. a DANN recipe's target
    domain for a source-only model trained without one.
    """
    return task_of_model(model_path).embed(model_path, key, split, max_items, recipe)


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
    try:
        feats, tags = features(model_path, key, "test", max_items, recipe)
        return plot_tsne([(title or f"{Path(out).parent.name}: {key}", tsne_2d(feats), tags)], out, key)
    except RecipeError as err:
        log.warning("no t-SNE plot: %s", err)
        return None
