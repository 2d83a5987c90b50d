"""Self-training on unlabelled target-domain audio: pseudo-label, keep the confident share, train, repeat.

The speech task's ``self_train`` step (:mod:`speechtl.workflows.self_train` runs it).

After the main training (with DANN, say) the model decodes the target domain's
unlabelled training audio (``data.target``) with the lexicon evaluation uses
(``decode.words``, or the corpus lexicon). A hypothesis's confidence is its
margin: how far its score beats the best hypothesis with other words (the
search's n-best list). The most confident share of the utterances (``keep[r]``
in round r, growing from round to round) becomes labelled training data, its
phonemes the path the search chose, and the model trains ``steps`` more steps
from its current weights on the source data plus these pseudo-labels (the rest
of the target stays unlabelled, still seen by DANN). The next round labels again
with the better model (Yarowsky 1995; Kahn et al. 2020 for end-to-end speech).

``balanced`` gives every hypothesised transcript the same quota, so that words
the model favours do not crowd out the others (class-balanced self-training,
Zou et al. 2018); it is meant for isolated-word target audio (commands, digits),
where a transcript is a class.

Layout: ``EXP/model`` is the final model; ``EXP/self-training/round-0/`` keeps the
model before self-training and ``round-k/`` each round's run, its
``pseudo_labels.jsonl`` and the summary ``EXP/self_training.json``. The target's
own transcripts, when its corpus has them, never train anything: they are only
compared with the pseudo-labels for that report (``pseudo_label_wer``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path

from speechtl.data.dataset import Utterance
from speechtl.decoding.config import DecodeConfig
from speechtl.decoding.evaluate import lexicon_decoders, word_hypotheses
from speechtl.decoding.metrics import error_counts
from speechtl.errors import RecipeError
from speechtl.files import load_model_files, save_model_files
from speechtl.models.acoustic import AcousticModel
from speechtl.models.io import load_model_and_meta
from speechtl.tasks.speech.data import load_target_domain
from speechtl.tasks.speech.evaluate import evaluation_lexicons
from speechtl.tasks.speech.recipe import Recipe

log = logging.getLogger(__name__)

MODEL_FILES = ("model.safetensors", "model.json")
KEPT_LABELS = "kept_labels.jsonl"  # the round's training labels (data.target.pseudo_labels)  # the JSON last: it marks a complete model (save_model_files)


def has_model(folder: Path) -> bool:
    return (folder / MODEL_FILES[-1]).is_file()


@dataclass
class PseudoLabel:
    """The decoder's answer for one unlabelled utterance."""

    id: str
    words: list[str]
    phonemes: str  # the decoded path: phonemes with "|" between words
    margin: float  # score over the runner-up with other words (inf: no rival in the n-best list)


def pseudo_label(model: AcousticModel, utterances: list[Utterance], lexicons: dict, decode: DecodeConfig,
                 nbest: int) -> list[PseudoLabel]:
    """Decode ``utterances`` with ``lexicons``; empty hypotheses are left out.

    ``nbest`` hypotheses are searched for each hypothesis's confidence margin.
    """
    decoders = lexicon_decoders(model, lexicons, decode, nbest=nbest)
    out = []
    for utt, hyp in zip(utterances, word_hypotheses(model, utterances, decoders)):
        if hyp is not None and hyp.words:
            phonemes = " ".join(model.inventories[utt.language].decode(hyp.tokens))
            out.append(PseudoLabel(utt.id, hyp.words, phonemes, hyp.margin))
    return out


def select(labels: list[PseudoLabel], total: int, keep: float, balanced: bool = False) -> list[PseudoLabel]:
    """The ``keep`` share of ``total`` utterances with the largest margins.

    Args:
        total: how many utterances were decoded (empty hypotheses count, and are never kept).
        balanced: each distinct transcript gets ``keep * total / transcripts`` places (at least
            one; the most confident fill them), and never more than the ``keep`` share in all.
    """
    def by_margin(items: list[PseudoLabel]) -> list[PseudoLabel]:
        return sorted(items, key=lambda p: -p.margin)

    n = int(round(keep * total))
    if not balanced:
        return by_margin(labels)[:n]
    groups: dict[tuple[str, ...], list[PseudoLabel]] = {}
    for p in labels:
        groups.setdefault(tuple(p.words), []).append(p)
    quota = max(1, int(round(n / max(1, len(groups)))))
    return by_margin([p for items in groups.values() for p in by_margin(items)[:quota]])[:n]


def round_recipe(recipe: Recipe, source: Path, exp: Path, labels: Path) -> Recipe:
    """The recipe of one round: ``steps`` steps from ``source``'s weights on the ``labels`` file, into ``exp``."""
    st = recipe.transfer.self_training
    training = dataclasses.replace(recipe.train, exp_dir=str(exp), max_steps=st.steps,
                                   warmup_steps=min(st.warmup_steps, st.steps),
                                   checkpoint_every=min(recipe.train.checkpoint_every, st.steps))
    transfer = dataclasses.replace(recipe.transfer, source=str(source),
                                   self_training=dataclasses.replace(st, rounds=0))
    target = dataclasses.replace(recipe.data.target, pseudo_labels=str(labels))
    return dataclasses.replace(recipe, train=training, transfer=transfer,
                               data=dataclasses.replace(recipe.data, target=target))


def copy_model(src: Path, dst: Path) -> None:
    """Copy ``src/model.*`` into ``dst``, the weights first."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(src / name, dst / name)


def label_report(labels: list[PseudoLabel], kept: list[PseudoLabel], targets: list[Utterance], keep: float) -> dict:
    """What one round labelled; with the target's transcripts (when it has them), how right the kept labels are."""
    texts = {u.id: u.text for u in targets if u.text}

    def wer(items: list[PseudoLabel]) -> float | None:
        if not items or not all(p.id in texts for p in items):
            return None
        return round(error_counts([texts[p.id] for p in items], [" ".join(p.words) for p in items]).rate, 4)

    least = min((p.margin for p in kept), default=math.inf)
    report = {"keep": keep, "utterances": len(targets), "hypotheses": len(labels), "kept": len(kept),
              "min_margin_kept": None if math.isinf(least) else round(least, 4)}
    # diagnostics only: never used to select
    for key, value in (("pseudo_label_wer", wer(kept)), ("all_hypotheses_wer", wer(labels))):
        if value is not None:
            report[key] = value
    return report


def write_labels(path: Path, labels: list[PseudoLabel], kept: list[PseudoLabel]) -> None:
    """Every hypothesis to ``path``; the kept ones also to ``kept_labels.jsonl`` beside it (the round's labels)."""
    chosen = {p.id for p in kept}
    with path.open("w", encoding="utf-8") as f:
        for p in labels:
            f.write(json.dumps({"id": p.id, "words": p.words, "phonemes": p.phonemes,
                                "margin": None if math.isinf(p.margin) else round(p.margin, 4),
                                "kept": p.id in chosen}, ensure_ascii=False) + "\n")
    with (path.parent / KEPT_LABELS).open("w", encoding="utf-8") as f:
        for p in kept:
            f.write(json.dumps({"id": p.id, "phonemes": p.phonemes}, ensure_ascii=False) + "\n")


def read_labels(path: Path) -> tuple[list[PseudoLabel], list[PseudoLabel]]:
    """The labels and the kept ones of a finished round, as :func:`write_labels` wrote them."""
    labels, kept = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        margin = math.inf if row["margin"] is None else row["margin"]
        labels.append(PseudoLabel(row["id"], row["words"], row["phonemes"], margin))
        if row["kept"]:
            kept.append(labels[-1])
    return labels, kept


def self_train(recipe: Recipe, exp: str | Path, train: Callable[..., Path], resume: bool = False,
               progress: bool = True) -> dict:
    """Run ``transfer.self_training.rounds`` rounds on ``exp/model`` (see the module docstring).

    Args:
        train: trains a round's recipe (:func:`speechtl.workflows.train.train`, passed in by the
            workflow that runs this step: tasks sit below the workflows).

    Returns:
        The summary also written to ``exp/self_training.json``.

    Raises:
        RecipeError: the recipe has no target domain, or its target audio is labelled already.
    """
    st, t = recipe.transfer.self_training, recipe.data.target
    if not t.corpus:
        raise RecipeError("transfer.self_training: needs unlabelled target-domain audio (data.target.corpus)")
    if t.labelled:
        raise RecipeError("transfer.self_training: data.target.labelled is true; there is nothing to pseudo-label")
    exp = Path(exp)
    work = exp / "self-training"
    if not resume:  # start the rounds again; round-0 (the model before self-training) stays
        for old in work.glob("round-*"):
            if old.name != "round-0":
                shutil.rmtree(old)
    if not has_model(work / "round-0"):
        copy_model(exp, work / "round-0")
    targets = load_target_domain(recipe, progress=progress)
    lexicons = evaluation_lexicons(recipe, sorted({u.language for u in targets}))
    decode = recipe.decode
    rounds = []
    for r in range(1, st.rounds + 1):
        prev, here = work / f"round-{r - 1}", work / f"round-{r}"
        keep = st.keep[min(r - 1, len(st.keep) - 1)]
        done = has_model(here)  # finished before an interruption: its labels are on disk
        if done:
            labels, kept = read_labels(here / "pseudo_labels.jsonl")
        else:
            labels = pseudo_label(load_model_and_meta(prev / "model")[0], targets, lexicons, decode, st.nbest)
            kept = select(labels, len(targets), keep, st.balanced)
        report = {"round": r, **label_report(labels, kept, targets, keep)}
        log.info("self-training round %d: %d of %d target utterances pseudo-labelled%s", r, len(kept), len(targets),
                 f" (WER of the kept labels against the target's transcripts: {100 * report['pseudo_label_wer']:.1f}%)"
                 if "pseudo_label_wer" in report else "")
        if not done:
            here.mkdir(parents=True, exist_ok=True)
            write_labels(here / "pseudo_labels.jsonl", labels, kept)
            train(round_recipe(recipe, prev / "model", here, here / KEPT_LABELS), resume=resume, progress=progress)
        rounds.append(report)
    state, meta = load_model_files(work / f"round-{st.rounds}" / "model")
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "sha256")}
    save_model_files(state, {**meta, "recipe": recipe.to_dict()}, exp / "model")  # the recipe run, not a round's
    summary = {"rounds": rounds, "initial_model": str(work / "round-0" / "model"), "model": str(exp / "model")}
    (exp / "self_training.json").write_text(json.dumps(summary, indent=2))
    return summary
