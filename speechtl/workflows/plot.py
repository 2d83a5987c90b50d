"""Plots: t-SNE maps of backbone features, training curves, phoneme confusion matrices.

t-SNE, for any model that satisfies the backbone contract: speech models give one
vector per utterance (encoder features pooled over valid frames), image models
one per image. Drawing a source-only and a DANN model side by side shows the
domain mismatch and its removal (van der Maaten & Hinton 2008, "Visualizing
Data using t-SNE").
"""

from __future__ import annotations

import json
import logging
import math
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


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend.

    Raises:
        RecipeError: matplotlib is not installed (names the extra to install).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RecipeError("plots need matplotlib: pip install 'speechtl[viz]'") from None
    return plt


def save_figure(fig, out: str | Path) -> Path:
    """Write ``fig`` as a PNG (its folder made) and free it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    pyplot().close(fig)
    return out


def plot_tsne(panels: list[tuple[str, np.ndarray, list[str]]], out: str | Path, key: str = "domain") -> Path:
    """One scatter panel per ``(title, points (items, 2), labels)``, same colours for same labels."""
    plt = pyplot()
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
    return save_figure(fig, out)


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


def read_log(path: Path) -> list[dict]:
    """The records of a JSON-lines log; a torn last line (a killed run) is left out."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def series(records: list[dict], key: str) -> tuple[list[int], list[float]]:
    """``(steps, values)`` of one key, finite numbers only."""
    pairs = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    return [s for s, _ in pairs], [v for _, v in pairs]


def plot_curves(exp_dir: str | Path, out: str | Path | None = None) -> Path:
    """Training loss, learning rate and dev scores of an experiment directory, one panel each.

    Reads ``EXP/train_log.jsonl`` (loss, lr) and ``EXP/valid_log.jsonl`` (``train.valid_every``:
    per-language dev PER, or error rate for images); writes ``EXP/curves.png`` unless ``out`` says otherwise.

    Raises:
        RecipeError: the folder holds no training log.
    """
    exp_dir = Path(exp_dir)
    train_log = read_log(exp_dir / "train_log.jsonl")
    if not train_log:
        raise RecipeError(f"{exp_dir}: no train_log.jsonl with records (not an experiment directory, "
                          "or a run that logged nothing yet)")
    valid = read_log(exp_dir / "valid_log.jsonl")
    dev_keys = sorted({k for r in valid for k in r if k != "step" and series(valid, k)[0]})
    plt = pyplot()
    panels = 3 if dev_keys else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.6), squeeze=False)
    for ax, key, title in zip(axes[0], ("loss", "lr"), ("training loss", "learning rate")):
        ax.plot(*series(train_log, key), marker="." if len(train_log) < 30 else None)
        ax.set_title(title)
        ax.set_xlabel("step")
    if dev_keys:
        for key in dev_keys:
            ax = axes[0][2]
            steps, values = series(valid, key)
            ax.plot(steps, [100 * v for v in values], marker=".", label=key,
                    linewidth=2.5 if key.endswith("mean") else 1.0)
        axes[0][2].set_title("dev (%)")
        axes[0][2].set_xlabel("step")
        axes[0][2].legend(fontsize=7)
    fig.suptitle(exp_dir.name)
    fig.tight_layout()
    return save_figure(fig, out or exp_dir / "curves.png")


def plot_confusions(labels: list[str], matrix: list[list[int]], out: str | Path, title: str = "") -> Path:
    """A confusion matrix: reference tokens down, hypothesis tokens across, counts in each cell.

    Args:
        labels: the tokens, the last one ``*`` (deletions in its column, insertions in its row).
        matrix: ``(len(labels), len(labels))`` counts.
    """
    plt = pyplot()
    counts = np.asarray(matrix, dtype=float)
    size = max(4.0, 0.32 * len(labels) + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    # row-normalised, so frequent and rare phonemes read alike; the counts are written in the cells
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=90)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("hypothesis (* = deleted)")
    ax.set_ylabel("reference (* = inserted)")
    if len(labels) <= 40:
        for i, j in zip(*np.nonzero(counts)):
            ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=6,
                    color="white" if shown[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the reference row")
    ax.set_title(title or "confusions")
    fig.tight_layout()
    return save_figure(fig, out)
