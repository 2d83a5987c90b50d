"""Batches for training: Lhotse's ``DynamicBucketingSampler`` and a torch DataLoader with workers.

The sampler reads the training manifest lazily, buckets cuts by duration and
shuffles with a bounded buffer, so memory does not grow with the corpus. Under
``torchrun`` every rank draws the same sequence of batches and takes every
``world_size``-th one (its rank's turn), so N processes see exactly the batches
one process sees with ``train.accum_grad = N`` (the DDP equivalence test); an
epoch's last, incomplete round of batches is left out under DDP. (Lhotse's own
rank split either makes the sequence depend on the world size, with
``sync_buckets``, or, without it, loses cuts at the end of an epoch: measured
with lhotse 1.33, 16 of 300.)

An epoch is a function of ``(seed, epoch)``. Resuming skips the batches an
epoch already consumed: the sampler is replayed (cheap: it reads only the
manifest) and the DataLoader starts at the next batch, so an interrupted run
continues exactly where it stopped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # a worker featurises one utterance at a time


class CutBatchLoader:
    """Yields :class:`~speechtl.data.dataset.Batch` objects of one epoch, from any batch on.

    Args:
        cuts: the training CutSet (lazy).
        dataset: ``dataset[cuts] -> Batch`` (:class:`~speechtl.data.dataset.CutBatches`).
        max_duration: seconds of audio per batch on each rank.
        seed: the sampler's seed; each epoch mixes in its number.
        rank / world_size: this process's share.
        num_workers: DataLoader worker processes (0: batches are made in this process).
        num_buckets: duration buckets.
    """

    def __init__(self, cuts, dataset, max_duration: float, seed: int = 0, rank: int = 0, world_size: int = 1,
                 num_workers: int = 0, num_buckets: int = 10) -> None:
        self.cuts, self.max_duration, self.seed, self.num_buckets = cuts, max_duration, seed, num_buckets
        self.rank, self.world_size = rank, world_size
        self.dataset = dataset
        self.num_workers = num_workers

    def sampler(self, epoch: int):
        """Lhotse's sampler for ``epoch`` (a fresh one: its order is a function of the seed and the epoch)."""
        from lhotse.dataset import DynamicBucketingSampler

        sampler = DynamicBucketingSampler(self.cuts, max_duration=self.max_duration, shuffle=True, drop_last=False,
                                          num_buckets=self.num_buckets, seed=self.seed, world_size=1, rank=0)
        sampler.set_epoch(epoch)
        return sampler

    def batches(self, epoch: int) -> Iterator:
        """This rank's cut batches of ``epoch``: its turn in each round of ``world_size`` batches."""
        group = []
        for batch in self.sampler(epoch):
            group.append(batch)
            if len(group) == self.world_size:
                yield group[self.rank]
                group = []
        # an incomplete last round (never with one process) is left out

    def epoch(self, epoch: int, start: int = 0) -> Iterator:
        """The batches of ``epoch`` from the ``start``-th on."""
        chosen = itertools.islice(self.batches(epoch), start, None)
        loader = torch.utils.data.DataLoader(
            self.dataset, sampler=_Once(chosen), batch_size=None, num_workers=self.num_workers,
            worker_init_fn=_worker_init if self.num_workers else None,
            persistent_workers=False, prefetch_factor=2 if self.num_workers else None,
            # its own generator: a DataLoader draws a seed from the one it has at every epoch, and the
            # global one also drives dropout and SpecAugment (exact resume needs them untouched)
            generator=torch.Generator().manual_seed(epoch))
        yield from loader


class _Once:
    """An iterable over an iterator (what the DataLoader wants as its sampler)."""

    def __init__(self, items: Iterator) -> None:
        self.items = items

    def __iter__(self) -> Iterator:
        return self.items


class IndexBatchLoader:
    """Batches of an indexable dataset from an index sampler (``set_epoch(epoch, start)``, yields index lists).

    The same interface as :class:`CutBatchLoader`, for datasets held in memory (images).
    """

    def __init__(self, dataset, sampler, collate) -> None:
        self.dataset = dataset
        self.sampler = sampler
        self.collate = collate

    def epoch(self, epoch: int, start: int = 0) -> Iterator:
        self.sampler.set_epoch(epoch, start=start)
        for indices in self.sampler:
            yield self.collate([self.dataset[i] for i in indices])
