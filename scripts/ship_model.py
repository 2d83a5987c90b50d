#!/usr/bin/env python
"""Ship a trained model as package data: ``speechtl/models/builtin/NAME/`` (``builtin:NAME``).

Writes a Hugging Face Hub-style folder: ``model.safetensors`` (the parameters in
float16, half the bytes; buffers such as the CMVN statistics and integer tensors
stay as they are), ``model.json`` (the trained model's metadata, with the SHA-256
of the float16 file, so the loader's hash check holds) and ``README.md``, a model
card made from the run's ``eval_test.json`` (and ``eval_dev.json``, the FSDD
figure of ``benchmarks/results/shipped_fsdd.json`` when they exist). Loading
upcasts: ``load_state_dict`` copies each float16 tensor into the float32 parameter.

The script checks what it wrote: the folder loads through the normal loader, its
log-probabilities on a random batch stay within ``TOLERANCE`` of the float32 model's,
and the folder stays under ``MAX_BYTES`` (the CI hook's size limit).

    python -m scripts.ship_model exp/multilingual-synth-shipped/model multilingual-synth
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]

from speechtl.files import save_model_files
from speechtl.models.io import read_model

MAX_BYTES = 20_000_000  # the CI hook refuses larger files
TOLERANCE = 0.05  # largest log-probability difference float16 storage may make (nats)
CARD_TEMPLATE = "README.md"


def half_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's state with its parameters in float16 (buffers unchanged: statistics keep float32's range)."""
    params = {name for name, _ in model.named_parameters()}
    return {name: t.half() if name in params and t.is_floating_point() else t
            for name, t in model.state_dict().items()}


def max_logprob_difference(a, b) -> float:
    """The largest |log p| difference of two acoustic models on the same random features, over every head.

    Features: ``(2, 300, features.dim)``, 3 s of frames.
    """
    torch.manual_seed(0)
    feats = torch.randn(2, 300, a.features.dim)
    lengths = torch.tensor([300, 240])
    with torch.no_grad():
        (ha, _), (hb, _) = a(feats, lengths), b(feats, lengths)
        return max((a.log_probs(ha, lang) - b.log_probs(hb, lang)).abs().max().item() for lang in a.languages)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the trained model (EXP/model stem, or the experiment folder)")
    parser.add_argument("name", help="the builtin name: speechtl/models/builtin/NAME")
    parser.add_argument("--out", default=str(REPO / "speechtl" / "models" / "builtin"))
    parser.add_argument("--note", default="", help="how the run went, for the card (e.g. a run stopped and resumed)")
    args = parser.parse_args()
    from model_card import model_card  # scripts/model_card.py, beside this file

    model, extra, meta = read_model(args.model)
    dest = Path(args.out) / args.name
    state = {**half_state(model), **extra}
    save_model_files(state, {k: v for k, v in meta.items() if k not in ("format", "version", "sha256")}
                     | {"weights_dtype": "float16"}, dest / "model")
    shipped, _, _ = read_model(dest)  # the loader's own checks: hash, shapes, weights
    diff = max_logprob_difference(model, shipped)
    if diff > TOLERANCE:
        raise SystemExit(f"float16 weights change log-probabilities by {diff:.3f} > {TOLERANCE}; not shipped")
    exp = Path(args.model)
    exp = exp if exp.is_dir() else exp.parent
    (dest / CARD_TEMPLATE).write_text(model_card(args.name, meta, exp, REPO, args.note), encoding="utf-8")
    size = folder_bytes(dest)
    if size > MAX_BYTES:
        raise SystemExit(f"{dest}: {size} bytes, over the {MAX_BYTES}-byte limit")
    print(json.dumps({"folder": str(dest), "bytes": size, "max_logprob_difference": round(diff, 5),
                      "parameters": sum(p.numel() for p in model.parameters())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
