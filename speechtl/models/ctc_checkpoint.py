"""Whole CTC phoneme recognisers from Hugging Face checkpoints: encoder plus one universal phoneme head.

A directory with ``config.json`` (``Wav2Vec2ForCTC``, ``HubertForCTC``, ``WavLMForCTC``;
base and pre-norm XLS-R layouts), ``vocab.json`` (with ``tokenizer_config.json`` /
``special_tokens_map.json`` / ``added_tokens.json`` when present) and weights
(``model.safetensors``, its shards, or ``pytorch_model.bin`` read through
``torch.load(weights_only=True)`` only) becomes an :class:`AcousticModel`:

* the encoder: the checkpoint's backbone (:mod:`speechtl.models.pretrained` maps the names);
* one head, :data:`UNIVERSAL` (``mul``, ISO 639 "multiple languages"), whose rows are
  ``lm_head``'s rows of the tokens that map to speechtl symbols
  (:func:`~speechtl.text.ctc_vocab.map_vocabulary`); rows left out (special tokens,
  non-IPA tokens) are masked by not being outputs. A vocabulary without a word
  delimiter (eSpeak phoneme checkpoints have none) gets a ``|`` row that never wins:
  the blank's row lowered by :data:`BOUNDARY_OFFSET` (trainable, unlike a masked
  row, so a head adapted on transcripts with word boundaries can learn it);
* features: the waveform in frames of 10 ms at ``preprocessor_config.json``'s rate,
  normalised per utterance when its ``do_normalize`` is true (the default).

Nothing is downloaded, and nothing but tensors is unpickled. The model's metadata
carries a recipe of its sections, so adaptation (add-language, fine-tuning with
``transfer.source``) starts from the directory as from a speechtl model.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from speechtl.config import to_dict
from speechtl.data.config import FeatureConfig, SpecAugmentConfig
from speechtl.errors import CheckpointError, shorten
from speechtl.models.acoustic import AcousticModel, AcousticModelConfig, build_acoustic_model
from speechtl.models.attributes import nearest_phone_head
from speechtl.models.config import ModelConfig
from speechtl.models.heads import LanguageHeads
from speechtl.models.pretrained import (architecture_of_huggingface, huggingface_to_torchaudio, huggingface_weights,
                                        load_pretrained)
from speechtl.text.ctc_vocab import VocabMapping, map_vocabulary
from speechtl.text.g2p import WORD_BOUNDARY
from speechtl.text.inventory import BLANK, Inventory
from speechtl.text.phonesets import segments

log = logging.getLogger(__name__)

UNIVERSAL = "mul"  # the universal phoneme head's key (ISO 639-2 "multiple languages")
SUPPORTED = ("Wav2Vec2ForCTC", "HubertForCTC", "WavLMForCTC")
NO_FEATURES = -1e4  # bias of a language phoneme without articulatory features in a restricted head: never wins
BOUNDARY_OFFSET = 20.0  # a missing word delimiter's row: the blank's, this much less likely (e^-20: never wins)
HEAD_PREFIXES = ("lm_head.",)
_REPORTED: set[tuple[str, str]] = set()  # (directory, report line) already logged


def is_ctc_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a Hugging Face directory (``config.json``, no speechtl ``model.json``)."""
    path = Path(path)
    return path.is_dir() and (path / "config.json").is_file() and not (path / "model.json").is_file()


def has_ctc_head(path: str | Path) -> bool:
    """Whether ``path`` is a Hugging Face directory of a supported ``*ForCTC`` model (its ``architectures``)."""
    if not is_ctc_checkpoint(path):
        return False
    try:
        archs = json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get("architectures")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return False
    return isinstance(archs, list) and any(a in SUPPORTED for a in archs)


def read_json(path: Path, required: bool = True) -> dict:
    """A JSON object from ``path`` (``{}`` when it is absent and not ``required``)."""
    if not path.is_file():
        if required:
            raise CheckpointError(f"{path}: missing; a CTC checkpoint directory holds config.json, vocab.json "
                                  "and its weights")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not JSON ({shorten(err, 120)})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: holds a {type(data).__name__}; expected a JSON object")
    return data


def check_architecture(config: dict, source: str) -> None:
    """Refuse a ``config.json`` that is not a supported ``*ForCTC`` model, naming what it is.

    Raises:
        CheckpointError: naming ``model_type`` and ``architectures`` and the supported ones.
    """
    archs = config.get("architectures") or []
    if not isinstance(archs, list) or not any(a in SUPPORTED for a in archs):
        kind = f"model_type {shorten(repr(config.get('model_type')), 40)}, architectures {shorten(repr(archs), 80)}"
        hint = ("; an encoder without a CTC head goes in a recipe as model.pretrained"
                if str(config.get("model_type")) in ("wav2vec2", "hubert", "wavlm") else "")
        raise CheckpointError(f"{source}: {kind}: not a CTC recogniser speechtl reads; supported: "
                              f"{', '.join(SUPPORTED)} (wav2vec 2.0, XLS-R, MMS, HuBERT, WavLM){hint}")


def read_vocabulary(folder: Path, config: dict, rows: int) -> VocabMapping:
    """``vocab.json`` (plus added tokens) mapped to speechtl symbols, checked against ``lm_head``'s ``rows``.

    Raises:
        CheckpointError: no vocabulary, ids that are not ``0..n-1``, a size other than ``rows``.
    """
    vocab = read_json(folder / "vocab.json")
    if len(vocab) == 1 and isinstance(next(iter(vocab.values())), dict):  # {language: vocab} (MMS adapters)
        vocab = next(iter(vocab.values()))
    vocab = {**vocab, **read_json(folder / "added_tokens.json", required=False)}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in vocab.values()):
        raise CheckpointError(f"{folder / 'vocab.json'}: expected {{token: id}} with integer ids")
    if len(vocab) != rows:
        raise CheckpointError(f"{folder / 'vocab.json'}: {len(vocab)} tokens, but lm_head has {rows} output rows; "
                              "the vocabulary and the weights must come from the same checkpoint")
    if sorted(vocab.values()) != list(range(rows)):
        raise CheckpointError(f"{folder / 'vocab.json'}: token ids are not 0..{rows - 1} (each once)")
    tokenizer = {**read_json(folder / "special_tokens_map.json", required=False),
                 **read_json(folder / "tokenizer_config.json", required=False)}
    by_id = {i: t for t, i in vocab.items()}
    pad_id = config.get("pad_token_id")
    blank = by_id.get(pad_id) if isinstance(pad_id, int) else _token(tokenizer.get("pad_token", "<pad>"))
    if blank not in vocab:
        raise CheckpointError(f"{folder}: the pad token (CTC blank) {shorten(repr(blank), 40)} is not in vocab.json")
    delimiter = _token(tokenizer.get("word_delimiter_token", "|"))
    specials = {_token(tokenizer.get(k)) for k in ("unk_token", "bos_token", "eos_token", "pad_token")}
    specials |= {_token(t) for t in tokenizer.get("additional_special_tokens") or []}
    specials |= {t for t in vocab if len(t) > 2 and t.startswith("<") and t.endswith(">")}
    return map_vocabulary(vocab, blank, delimiter if delimiter in vocab else None, specials - {None})


def _token(value) -> str | None:
    """A tokenizer setting's token: a string, or an ``AddedToken`` written as ``{"content": ...}``."""
    return value.get("content") if isinstance(value, dict) else value


def phoneme_inventory(mapping: VocabMapping, folder: Path) -> Inventory:
    """The universal head's symbols; tokens left out are reported, a spelling vocabulary is warned about.

    Raises:
        CheckpointError: no token is an IPA phoneme.
    """
    for line in mapping.report():
        if (str(folder), line) not in _REPORTED:  # once per process, however often the directory is read
            _REPORTED.add((str(folder), line))
            log.warning("%s: %s", folder, line)
    inventory = Inventory(mapping.rows)
    if not inventory.phonemes:
        raise CheckpointError(f"{folder / 'vocab.json'}: no token maps to an IPA phoneme; speechtl reads phoneme "
                              "recognisers (a character or word-piece vocabulary is not one)")
    tokens = {symbol: token for token, symbol in mapping.renamed.items()}
    if all(len(t) == 1 and t.isascii() for t in (tokens.get(p, p) for p in inventory.phonemes)):
        log.warning("%s: every output is a single ASCII letter (%s): a character (spelling) vocabulary read as IPA? "
                    "speechtl reads phoneme recognisers; words will not match a lexicon's pronunciations",
                    folder, shorten(" ".join(inventory.phonemes), 80))
    return inventory


def features_of(folder: Path) -> FeatureConfig:
    """The waveform features ``preprocessor_config.json`` describes (16 kHz, normalised, when absent)."""
    pre = read_json(folder / "preprocessor_config.json", required=False)
    rate = pre.get("sampling_rate", 16000)
    if not isinstance(rate, int) or not 4000 <= rate <= 96000:
        raise CheckpointError(f"{folder / 'preprocessor_config.json'}: sampling_rate {shorten(repr(rate), 20)}; "
                              "expected an integer from 4000 to 96000")
    features = FeatureConfig(kind="waveform", sample_rate=rate, frame_shift_ms=10.0,
                             cmvn="utterance" if pre.get("do_normalize", True) else "none")
    features.validate()
    return features


def universal_head_state(head_weight: torch.Tensor, head_bias: torch.Tensor, mapping: VocabMapping,
                         inventory: Inventory) -> dict[str, torch.Tensor]:
    """The universal head's ``weight`` ``(|inventory|, dim)`` and ``bias``: ``lm_head``'s rows in inventory order."""
    rows = dict(mapping.rows)
    rows.setdefault(WORD_BOUNDARY, mapping.rows[BLANK])
    index = torch.tensor([rows[symbol] for symbol in inventory.tokens])
    bias = head_bias[index].clone()
    if WORD_BOUNDARY not in mapping.rows:
        bias[inventory.boundary] -= BOUNDARY_OFFSET
    return {"weight": head_weight[index].clone(), "bias": bias}


def read_ctc_checkpoint(path: str | Path) -> tuple[AcousticModel, dict]:
    """The recogniser a Hugging Face ``*ForCTC`` directory holds, and metadata as a speechtl model's.

    Returns:
        The model (eval mode; one head, :data:`UNIVERSAL`) and its metadata (``kind``,
        sections, ``inventories``, ``recipe``, ``decode``, ``ctc_checkpoint``: the path,
        tokens left out and renamed).

    Raises:
        CheckpointError: another architecture, missing files, a vocabulary that does not fit
            ``lm_head``, pickled objects, weights that do not fit ``config.json``.
    """
    folder = Path(path)
    config = read_json(folder / "config.json")
    check_architecture(config, str(folder / "config.json"))
    arch = architecture_of_huggingface(config, ModelConfig(encoder="wav2vec2", dropout=0.0), str(folder / "config.json"))
    state = huggingface_weights(folder)
    head = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(HEAD_PREFIXES)}
    if set(head) != {"weight", "bias"}:
        raise CheckpointError(f"{folder}: no lm_head.weight and lm_head.bias in the weights (a CTC checkpoint's "
                              "output layer); an encoder alone goes in a recipe as model.pretrained")
    mapping = read_vocabulary(folder, config, head["weight"].shape[0])
    inventory = phoneme_inventory(mapping, folder)
    sections = AcousticModelConfig(features=features_of(folder), specaugment=SpecAugmentConfig(enabled=False),
                                   model=arch)
    model = build_acoustic_model(sections, {UNIVERSAL: inventory})
    backbone = huggingface_to_torchaudio(state, arch.layers, arch.ssl.family == "wavlm", folder)
    load_pretrained(model.encoder, backbone, model.encoder.final_norm is None, str(folder), "its config.json")
    model.heads.head(UNIVERSAL).load_state_dict(universal_head_state(head["weight"].float(), head["bias"].float(),
                                                                     mapping, inventory))
    if WORD_BOUNDARY not in mapping.rows:
        log.info("%s: the vocabulary has no word delimiter; the head's | never wins", folder)
    meta = {"kind": "acoustic-model", **to_dict(sections), "inventories": {UNIVERSAL: inventory.tokens},
            "recipe": to_dict(sections), "decode": {},  # the recipe adaptation starts from: its sections
            "ctc_checkpoint": {"path": str(folder), "left_out": mapping.left_out, "renamed": mapping.renamed}}
    return model.eval(), meta


def restricted_head(heads: LanguageHeads, inventory: Inventory) -> tuple[torch.nn.Linear, dict[str, str]]:
    """A head over ``inventory`` whose rows are the :data:`UNIVERSAL` head's same or nearest symbols.

    Each phoneme takes the universal head's row of the same symbol, or of the articulatorily
    nearest one (:func:`~speechtl.models.attributes.nearest_phone_head`); a phoneme without
    articulatory features never wins (bias :data:`NO_FEATURES`). The universal head's other
    outputs are not in the new head: masked (the allophone mask of Li et al. 2020, here made
    of feature distances rather than learned).

    Returns:
        The head ``(dim -> |inventory|)`` and ``{phoneme: universal symbol whose row it took}``
        for the phonemes the universal head lacks.
    """
    universal = LanguageHeads(heads.in_dim, {UNIVERSAL: heads.inventories[UNIVERSAL]})
    universal.heads[UNIVERSAL] = heads.head(UNIVERSAL)
    head, mapped = nearest_phone_head(universal, inventory)
    with torch.no_grad():
        for i, symbol in enumerate(inventory.phonemes, start=2):
            if not segments(symbol) and symbol not in universal.inventories[UNIVERSAL]:
                head.bias[i] = NO_FEATURES
    return head, mapped
