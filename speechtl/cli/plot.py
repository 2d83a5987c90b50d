"""``speechtl plot tsne MODEL [MODEL ...] --out map.png``: t-SNE of backbone features by domain."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="plots of trained models (t-SNE of backbone features)")
    kinds = p.add_subparsers(dest="plot", required=True, metavar="PLOT")
    t = kinds.add_parser("tsne", help="t-SNE of pooled backbone features, one panel per model")
    t.add_argument("models", nargs="+", help="model files or experiment directories (speech or image)")
    t.add_argument("--out", required=True, help="PNG file to write")
    t.add_argument("--by", default="domain", help="colour by this item label: domain, speaker, language, label")
    t.add_argument("--titles", nargs="*", help="one title per model (default: the paths)")
    t.add_argument("--split", default="test", help="speech: which split of the model's corpus")
    t.add_argument("--max-items", type=int, default=600, help="points per panel")
    t.set_defaults(func=run)


def run(args) -> int:
    from speechtl.errors import RecipeError
    from speechtl.viz.tsne import features, plot_tsne, tsne_2d

    titles = args.titles or [str(m) for m in args.models]
    if len(titles) != len(args.models):
        raise RecipeError(f"--titles: {len(titles)} given for {len(args.models)} models")
    panels = []
    for title, model in zip(titles, args.models):
        feats, tags = features(model, args.by, args.split, args.max_items)
        panels.append((title, tsne_2d(feats), tags))
    print(f"wrote {plot_tsne(panels, args.out, args.by)}")
    return 0
