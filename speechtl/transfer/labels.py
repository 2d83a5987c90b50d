"""Item labels by name: how methods read domains, speakers or classes from any batch.

Every batch type (speech :class:`~speechtl.data.dataset.Batch`, image
:class:`~speechtl.tasks.image.data.ImageBatch`) answers ``batch.tags(key)`` with one
string per item, or None where the item has no such label (an unlabelled
target-domain image has no class). A :class:`LabelSpace` turns those strings
into class ids, -1 for unknown values, so one method serves every backbone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from speechtl.errors import RecipeError


class LabelSpace:
    """The ordered values of one item label, e.g. ``domain: [source, target]``.

    Args:
        key: the label's name (``domain``, ``speaker``, ``language``, ``label``...).
        values: its values, in class-id order.
    """

    def __init__(self, key: str, values: Sequence[str]) -> None:
        if not values:
            raise RecipeError(f"label {key!r}: no item of the training data has one")
        self.key = key
        self.values = list(values)
        self.index = {v: i for i, v in enumerate(self.values)}

    def __len__(self) -> int:
        return len(self.values)

    def ids(self, batch, device: torch.device | str | None = None) -> torch.Tensor:
        """``(batch,)`` long ids of ``batch.tags(key)``; -1 where absent or unknown."""
        tags = batch.tags(self.key)
        return torch.tensor([self.index.get(t, -1) if t is not None else -1 for t in tags],
                            dtype=torch.long, device=device)


def label_values(tags: Iterable[str | None]) -> list[str]:
    """Sorted distinct values, ignoring None (natural order for numbers)."""
    values = {t for t in tags if t is not None}
    return sorted(values, key=lambda v: (0, int(v), v) if v.lstrip("-").isdigit() else (1, 0, v))
