"""Length-bucketed batches that are the same global batch under any number of ranks.

Each epoch, utterances are sorted by length (random tie order), cut into global
batches of at most ``max_frames`` padded frames per rank, and the batch order is
shuffled, all from ``(seed, epoch)``. Under ``torchrun`` every rank takes an
interleaved share of each global batch, so 1 process with budget ``B`` and 2
processes with ``B/2`` each see the same global batches. Resuming skips the
batches an epoch already consumed, which makes an interrupted run continue
exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class BucketBatchSampler:
    """Yields lists of dataset indices for this rank.

    Args:
        lengths: frames per item.
        max_frames: padded frames per batch on each rank (global: ``max_frames * world_size``).
        seed: base seed; the epoch is mixed in.
        shuffle: shuffle within length ties and the batch order.
        rank / world_size: this process's share of each global batch.
    """

    def __init__(self, lengths: list[int], max_frames: int, seed: int = 0, shuffle: bool = True,
                 rank: int = 0, world_size: int = 1) -> None:
        if not lengths:
            raise ValueError("no utterances to batch")
        if max(lengths) > max_frames:
            raise ValueError(
                f"an utterance of {max(lengths)} frames exceeds max_frames={max_frames}; raise train.max_frames"
            )
        self.lengths = np.asarray(lengths)
        self.max_frames = max_frames
        self.seed = seed
        self.shuffle = shuffle
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start = 0  # batches of this epoch already consumed (resume)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch = epoch
        self.start = start

    def global_batches(self) -> list[list[int]]:
        """All global batches of the current epoch, in order."""
        rng = np.random.default_rng([self.seed, self.epoch])
        tiebreak = rng.random(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        order = np.lexsort((tiebreak, self.lengths))
        budget = self.max_frames * self.world_size
        batches, current, longest = [], [], 0
        for idx in order:
            length = int(self.lengths[idx])
            if current and max(longest, length) * (len(current) + 1) > budget:
                batches.append(current)
                current, longest = [], 0
            current.append(int(idx))
            longest = max(longest, length)
        if current:
            batches.append(current)
        # every rank needs at least one item of every global batch
        batches = [b for b in batches if len(b) >= self.world_size]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches()[self.start :]:
            yield batch[self.rank :: self.world_size]

    def __len__(self) -> int:
        return len(self.global_batches()) - self.start
