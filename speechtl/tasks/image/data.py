"""Image items and batches for the one training loop.

An image batch carries, like a speech batch, a domain and a labelled flag per
item: DANN trains on labelled source images and unlabelled target images in the
same batch, and the task loss sees only the labelled ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from speechtl.errors import RecipeError
from speechtl.tasks.image.attributes import DIGIT_ATTRIBUTES, DIGIT_TABLE
from speechtl.tasks.image.digits import domain_images, few_shot, stratified_split
from speechtl.tasks.image.recipe import ImageDataConfig, ImageRecipe
from speechtl.transfer.labels import label_values


@dataclass
class ImageBatch:
    """Images with class ids (-1 where unlabelled), domains and labelled flags."""

    x: torch.Tensor  # (batch, 3, size, size)
    labels: torch.Tensor  # (batch,) digit class (0-9) of every image, labelled or not
    labelled: torch.Tensor  # (batch,) bool: the class may train the task
    domains: list[str]

    def to(self, device: torch.device | str) -> "ImageBatch":
        self.x = self.x.to(device)
        self.labels = self.labels.to(device)
        self.labelled = self.labelled.to(device)
        return self

    def __len__(self) -> int:
        return self.x.shape[0]

    def tags(self, key: str) -> list[str | None]:
        """One label per image by name: ``label`` (None if unlabelled), ``domain`` or ``attr.NAME``."""
        if key == "domain":
            return list(self.domains)
        known = [bool(v) for v in self.labelled.tolist()]
        classes = [str(int(c)) for c in self.labels.tolist()]
        if key == "label":
            return [c if k else None for c, k in zip(classes, known)]
        if key.startswith("attr.") and key[5:] in DIGIT_ATTRIBUTES:
            col = DIGIT_ATTRIBUTES.index(key[5:])
            return [str(DIGIT_TABLE[c][col]) if k else None for c, k in zip(classes, known)]
        raise ValueError(f"image batches have no label {key!r}; they have: label, domain, attr.NAME "
                         f"({', '.join(DIGIT_ATTRIBUTES)})")


class ImageDataset(torch.utils.data.Dataset):
    """Images of one or more domains: item ``i`` is ``(image, class, labelled, domain)``."""

    def __init__(self) -> None:
        self.x: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []
        self.labelled: list[torch.Tensor] = []
        self.domains: list[str] = []

    def add(self, images: torch.Tensor, labels: torch.Tensor, domain: str, labelled: bool) -> None:
        self.x.append(images)
        self.labels.append(labels)
        self.labelled.append(torch.full((len(labels),), labelled, dtype=torch.bool))
        self.domains.extend([domain] * len(labels))

    def finish(self) -> "ImageDataset":
        self.x, self.labels, self.labelled = torch.cat(self.x), torch.cat(self.labels), torch.cat(self.labelled)
        return self

    def __len__(self) -> int:
        return len(self.domains)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, bool, str]:
        return self.x[i], int(self.labels[i]), bool(self.labelled[i]), self.domains[i]


def collate_images(items: list[tuple[torch.Tensor, int, bool, str]]) -> ImageBatch:
    return ImageBatch(x=torch.stack([i[0] for i in items]),
                      labels=torch.tensor([i[1] for i in items], dtype=torch.long),
                      labelled=torch.tensor([i[2] for i in items], dtype=torch.bool),
                      domains=[i[3] for i in items])


class GroupBatchSampler:
    """Shuffled batches with the same number of items from each group (domain).

    An epoch is one pass over the largest group; smaller groups are reshuffled
    and cycled. With one group it is a plain shuffled batch sampler. Like
    :class:`~speechtl.data.sampler.BucketBatchSampler` it is a function of
    ``(seed, epoch)`` and can skip the batches an epoch already consumed (resume).

    Args:
        groups: group name per item.
        batch_size: items per batch (split evenly between the groups).
        seed: base seed.
    """

    def __init__(self, groups: list[str], batch_size: int, seed: int = 0) -> None:
        names = sorted(set(groups))
        self.members = [np.flatnonzero(np.asarray(groups) == g) for g in names]
        self.per_group = [max(1, min(batch_size // len(names), len(m))) for m in self.members]
        self.seed = seed
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        count = max(-(-len(m) // k) for m, k in zip(self.members, self.per_group))
        streams = []
        for members, k in zip(self.members, self.per_group):
            need = count * k
            order = np.concatenate([rng.permutation(members) for _ in range(-(-need // len(members)))])
            streams.append(order[:need].reshape(count, k))
        return [sorted(int(i) for s in streams for i in s[b]) for b in range(count)]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()[self.start:]

    def __len__(self) -> int:
        return len(self.batches()) - self.start


@dataclass
class ImageData:
    train: ImageDataset
    test: dict[str, ImageDataset]  # per domain: evaluation images of every class (seen and unseen)


def scored_domains(d: ImageDataConfig) -> list[str]:
    """The domains a model of these data is scored on: the source, the target and ``eval_domains``, each once."""
    return list(dict.fromkeys([d.source, *([d.target] if d.target else []), *d.eval_domains]))


def build_image_data(recipe: ImageRecipe, split: str = "test") -> ImageData:
    """Labelled (few-shot) source images, unlabelled target images, and the ``split`` images of each domain.

    Test and dev images are the same digits in every domain and never train
    (``data.split_seed``): ``test_fraction`` of each class is test, ``dev_fraction`` of
    the rest dev. Which few-shot images train depends on ``train.seed``.
    """
    d = recipe.data
    if split not in ("dev", "test"):
        raise RecipeError(f"image recipes evaluate on dev or test, not {str(split)[:40]!r}")
    x, y = domain_images(d.source, d.size)
    train_idx, test_idx = stratified_split(y, d.test_fraction, d.split_seed)
    rest, dev_idx = stratified_split(y[train_idx], d.dev_fraction, d.split_seed + 1)
    train_idx, dev_idx = train_idx[rest], train_idx[dev_idx]
    if split == "dev":
        if not len(dev_idx):
            raise RecipeError("data.dev_fraction: 0 holds no dev images; set a share to score on dev")
        test_idx = dev_idx
    labelled = few_shot(train_idx, y, d.classes, d.shots, recipe.train.seed)
    train = ImageDataset()
    train.add(x[labelled], y[labelled], d.source, True)
    test = {}
    for domain in scored_domains(d):
        dx, dy = domain_images(domain, d.size)
        if domain == d.target and domain != d.source:
            unlabelled = few_shot(train_idx, dy, d.classes, 0, 0)
            train.add(dx[unlabelled], dy[unlabelled], domain, False)
        part = ImageDataset()
        part.add(dx[test_idx], dy[test_idx], domain, True)
        test[domain] = part.finish()
    return ImageData(train.finish(), test)


def image_labels(dataset: ImageDataset) -> dict[str, list[str]]:
    """Values of each item label in a dataset (``label``, ``domain``, ``attr.NAME``)."""
    batch = collate_images([dataset[i] for i in range(len(dataset))])
    keys = ["label", "domain"] + [f"attr.{a}" for a in DIGIT_ATTRIBUTES]
    return {k: label_values(batch.tags(k)) for k in keys if label_values(batch.tags(k))}


def batches(dataset: ImageDataset, size: int = 512) -> Iterator[ImageBatch]:
    """The dataset in order, ``size`` images per batch."""
    for start in range(0, len(dataset), size):
        yield collate_images([dataset[i] for i in range(start, min(start + size, len(dataset)))])
