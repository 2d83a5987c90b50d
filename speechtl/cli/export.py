"""``speechtl export --model M --format onnx -o OUT``: the acoustic model for other runtimes."""

from __future__ import annotations

from speechtl.cli import add_model_arg, add_output_arg, command


def add_parser(sub) -> None:
    p = command(sub, "export", "export a speech model to ONNX or TorchScript (features -> log-probabilities)")
    add_model_arg(p)
    p.add_argument("--format", dest="fmt", choices=["onnx", "torchscript"], default="onnx",
                   help="onnx (with metadata: inventories, feature settings) or torchscript")
    add_output_arg(p, "file to write (e.g. model.onnx)", required=True)
    p.add_argument("--lang", dest="languages", action="append", default=[], metavar="LANG",
                   help="export this language's head (repeatable; none given: every head)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    p.set_defaults(func=run)


def run(args) -> int:
    from speechtl.models.export import export_model
    from speechtl.models.io import load_model

    model = load_model(args.model)
    path = export_model(model, args.output, args.fmt, args.languages or None, opset=args.opset)
    languages = args.languages or model.languages
    print(f"{args.fmt} model written to {path}: inputs feats (batch, frames, "
          f"{model.features.dim}) + lengths; outputs "
          + ", ".join(f"log_probs_{lang}" for lang in languages) + ", out_lengths")
    return 0
