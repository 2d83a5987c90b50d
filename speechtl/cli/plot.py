"""``speechtl plot tsne --model A --model B -o map.png``: t-SNE of backbone features by domain."""

from __future__ import annotations

from speechtl.cli import add_output_arg, command


def add_parser(sub) -> None:
    p = command(sub, "plot", "plots of trained models (t-SNE of backbone features)")
    kinds = p.add_subparsers(dest="plot", required=True, metavar="PLOT")
    t = command(kinds, "tsne", "t-SNE of pooled backbone features, one panel per model")
    t.add_argument("--model", dest="models", action="append", required=True,
                   help="model file or experiment directory, speech or image (repeat for one panel each)")
    add_output_arg(t, "PNG file to write", required=True)
    t.add_argument("--by", default="domain", help="colour by this item label: domain, speaker, language, label")
    t.add_argument("--titles", nargs="*", help="one title per model (None: the paths)")
    t.add_argument("--split", default="test", help="which split of the model's data")
    t.add_argument("--max-items", type=int, default=600, help="points per panel")
    t.set_defaults(func=run)


def run(args) -> int:
    from speechtl.errors import RecipeError
    from speechtl.workflows.plot import features, plot_tsne, tsne_2d

    titles = args.titles or [str(m) for m in args.models]
    if len(titles) != len(args.models):
        raise RecipeError(f"--titles: {len(titles)} given for {len(args.models)} models")
    panels = []
    for title, model in zip(titles, args.models):
        feats, tags = features(model, args.by, args.split, args.max_items)
        panels.append((title, tsne_2d(feats), tags))
    print(f"wrote {plot_tsne(panels, args.output, args.by)}")
    return 0
