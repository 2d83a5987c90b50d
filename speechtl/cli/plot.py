"""``speechtl plot tsne | curves | confusions``: t-SNE of backbone features by domain, training curves of
an experiment directory, a confusion matrix of a hypothesis file against its references."""

from __future__ import annotations

from speechtl.cli import add_output_arg, command
from speechtl.cli.score import add_pair_args


def add_parser(sub) -> None:
    p = command(sub, "plot", "plots: t-SNE of backbone features, training curves, confusion matrices")
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
    c = command(kinds, "curves", "training loss, learning rate and dev scores of an experiment directory")
    c.add_argument("exp", help="experiment directory (holding train_log.jsonl)")
    add_output_arg(c, "PNG file to write (None: EXP/curves.png)")
    c.set_defaults(func=run_curves)
    m = command(kinds, "confusions", "confusion matrix of hypotheses against references (phonemes by default)")
    add_pair_args(m)
    m.set_defaults(unit="phoneme")
    add_output_arg(m, "PNG file to write", required=True)
    m.add_argument("--top", type=int, default=40, help="the most frequent reference tokens shown (the rest left out)")
    m.set_defaults(func=run_confusions)


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


def run_curves(args) -> int:
    from speechtl.workflows.plot import plot_curves

    print(f"wrote {plot_curves(args.exp, args.output)}")
    return 0


def run_confusions(args) -> int:
    from speechtl.cli.score import scored
    from speechtl.decoding.scoring import confusion_counts
    from speechtl.errors import SpeechtlError
    from speechtl.workflows.plot import plot_confusions

    if args.top < 1:
        raise SpeechtlError(f"--top must be >= 1, got {args.top}")
    result = scored(args)
    labels, matrix = confusion_counts(result, args.top)
    unit = "PER" if args.unit == "phoneme" else "WER"
    title = f"{unit} {100 * result.counts.rate:.1f}% over {result.counts.utterances} utterances"
    print(f"wrote {plot_confusions(labels, matrix, args.output, title)}")
    return 0
