"""``speechtl export MODEL --format onnx -o OUT``: the acoustic model for other runtimes."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a model to ONNX or TorchScript (features -> log-probabilities)")
    p.add_argument("model", help="model file (.safetensors/.json), checkpoint or experiment directory")
    p.add_argument("--format", dest="fmt", choices=["onnx", "torchscript"], default="onnx")
    p.add_argument("-o", "--output", required=True, help="file to write (e.g. model.onnx)")
    p.add_argument("--language", dest="languages", action="append", default=[], metavar="LANG",
                   help="export this language's head (repeatable; default: every head)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.models.export import export_model
    from speechtl.models.io import load_model

    model = load_model(args.model)
    path = export_model(model, args.output, args.fmt, args.languages or None, opset=args.opset)
    languages = args.languages or model.languages
    print(f"{args.fmt} model written to {path}: inputs feats (batch, frames, "
          f"{model.recipe.features.num_mel_bins}) + lengths; outputs "
          + ", ".join(f"log_probs_{lang}" for lang in languages) + ", out_lengths")
    return 0
