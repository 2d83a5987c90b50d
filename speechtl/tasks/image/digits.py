"""scikit-learn's bundled 8x8 handwritten digits, and "digits-M", a shifted domain made from them.

The digits (1,797 images of 10 classes, from the UCI "Optical Recognition of
Handwritten Digits" set) ship with scikit-learn, so nothing is downloaded.

digits-M is made the way MNIST-M was made from MNIST (Ganin et al. 2016): each
digit is blended into a random crop of a colour texture,
``out = |digit - background|`` per channel, so strokes invert the background's
colours. The textures are generated (random oriented gratings and smoothed
noise in random colours), and every image's crop is a deterministic function of
the image index, so digits-M is the same on every machine.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from speechtl.errors import RecipeError

NUM_CLASSES = 10
TEXTURES = 24  # distinct background textures
TEXTURE_SIZE = 64  # pixels per side; crops are taken from these
DIGITS_M_SEED = 1234  # fixes digits-M once and for all


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise RecipeError("the digits images need scikit-learn: pip install 'speechtl[viz]'") from None
    data = load_digits()
    return data.images.astype(np.float32) / 16.0, data.target.astype(np.int64)


def digit_images(size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as grey ``(N, 1, size, size)`` in [0, 1] (bilinear resize) and labels ``(N,)``."""
    images, labels = _load()
    x = torch.from_numpy(images)[:, None]
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return x, torch.from_numpy(labels)


def make_textures(count: int = TEXTURES, size: int = TEXTURE_SIZE, seed: int = DIGITS_M_SEED) -> torch.Tensor:
    """``(count, 3, size, size)`` colour textures in [0, 1]: gratings plus smoothed noise, random palettes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.empty((count, 3, size, size), dtype=np.float32)
    for i in range(count):
        field = np.zeros((size, size), dtype=np.float32)
        for _ in range(3):
            angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(1.5, 6.0), rng.uniform(0, 2 * np.pi)
            field += np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
        coarse = rng.normal(size=(8, 8)).astype(np.float32)
        noise = F.interpolate(torch.from_numpy(coarse)[None, None], size=(size, size), mode="bicubic",
                              align_corners=False)[0, 0].numpy()
        field = field / 3 + noise
        field = (field - field.min()) / (field.max() - field.min() + 1e-6)
        low, high = rng.uniform(0, 1, size=3), rng.uniform(0, 1, size=3)
        out[i] = low[:, None, None] + (high - low)[:, None, None] * field[None]
    return torch.from_numpy(out).clamp(0, 1)


def blend(digits: torch.Tensor, textures: torch.Tensor, seed: int = DIGITS_M_SEED) -> torch.Tensor:
    """``|digit - crop|`` of each grey digit ``(N, 1, S, S)`` with a random texture crop: ``(N, 3, S, S)``.

    Image ``i``'s texture and crop depend only on ``(seed, i)``.
    """
    n, _, s, _ = digits.shape
    t = textures.shape[-1]
    out = torch.empty((n, 3, s, s))
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        k, y, x = rng.integers(len(textures)), rng.integers(0, t - s + 1), rng.integers(0, t - s + 1)
        out[i] = (digits[i] - textures[k, :, y:y + s, x:x + s]).abs()
    return out


@functools.lru_cache(maxsize=4)
def domain_images(domain: str, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 3, size, size)`` and labels of a domain: ``digits`` or ``digits-m``.

    Both domains hold the same 1,797 digits in the same order (image ``i`` of
    digits-M is digit ``i`` on a texture), as MNIST-M holds MNIST's digits.
    """
    grey, labels = digit_images(size)
    if domain == "digits":
        return grey.expand(-1, 3, -1, -1).contiguous(), labels
    if domain == "digits-m":
        return blend(grey, make_textures()), labels
    raise RecipeError(f"unknown image domain {domain!r}; available: digits, digits-m")


def stratified_split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test indices, ``test_fraction`` of each class in test; a function of ``seed``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(int(labels.max()) + 1):
        idx = np.flatnonzero(labels.numpy() == c)
        idx = idx[rng.permutation(len(idx))]
        cut = int(round(len(idx) * test_fraction))
        test.extend(idx[:cut].tolist())
        train.extend(idx[cut:].tolist())
    return torch.tensor(sorted(train), dtype=torch.long), torch.tensor(sorted(test), dtype=torch.long)


def few_shot(indices: torch.Tensor, labels: torch.Tensor, classes: list[int], shots: int, seed: int
             ) -> torch.Tensor:
    """``shots`` indices per class (all when 0), drawn by ``seed`` from ``indices``, only ``classes``."""
    rng = np.random.default_rng([seed, 7])
    keep = []
    for c in classes:
        idx = indices[labels[indices] == c].numpy()
        if shots:
            if shots > len(idx):
                raise RecipeError(f"data.shots: {shots} asked, class {c} has {len(idx)} training images")
            idx = idx[rng.permutation(len(idx))[:shots]]
        keep.extend(idx.tolist())
    return torch.tensor(sorted(keep), dtype=torch.long)
