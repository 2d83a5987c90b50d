"""Per-language CTC heads over a shared encoder."""

from __future__ import annotations

import torch
from torch import nn

from speechtl.errors import LanguageError
from speechtl.text.inventory import Inventory


class LanguageHeads(nn.Module):
    """One linear CTC output layer per language, keyed by language code.

    Each head maps ``(batch, time, in_dim)`` to ``(batch, time, len(inventory))``
    logits over that language's blank, word boundary and phonemes.
    """

    def __init__(self, in_dim: int, inventories: dict[str, Inventory]) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.inventories: dict[str, Inventory] = {}
        self.heads = nn.ModuleDict()
        for language, inventory in inventories.items():
            self.add(language, inventory)

    @property
    def languages(self) -> list[str]:
        return list(self.heads.keys())

    def add(self, language: str, inventory: Inventory, init_from: "LanguageHeads | None" = None) -> nn.Linear:
        """Add a head; rows of symbols another head already has can be copied from it.

        Args:
            language: the new head's key.
            inventory: its symbols.
            init_from: copy each shared symbol's output row (weight and bias) from
                the first existing head that has the symbol (blank and ``|`` included).
        """
        head = nn.Linear(self.in_dim, len(inventory))
        if init_from is not None:
            with torch.no_grad():
                for i, symbol in enumerate(inventory.tokens):
                    for other, inv in init_from.inventories.items():
                        if symbol in inv:
                            j = inv.index[symbol]
                            head.weight[i] = init_from.heads[other].weight[j]
                            head.bias[i] = init_from.heads[other].bias[j]
                            break
        self.heads[language] = head
        self.inventories[language] = inventory
        return head

    def put(self, language: str, inventory: Inventory, head: nn.Linear) -> None:
        """Install a head built elsewhere (a composed zero-shot head), replacing any of that language."""
        if head.in_features != self.in_dim or head.out_features != len(inventory):
            raise ValueError(f"{language}: head {head.in_features}x{head.out_features} does not fit "
                             f"{self.in_dim}x{len(inventory)}")
        self.heads[language] = head
        self.inventories[language] = inventory

    def head(self, language: str) -> nn.Linear:
        if language not in self.heads:
            raise LanguageError(
                f"the model has no head for language {language!r}; it has: {', '.join(self.languages)}"
            )
        return self.heads[language]

    def forward(self, hidden: torch.Tensor, language: str) -> torch.Tensor:
        return self.head(language)(hidden)
