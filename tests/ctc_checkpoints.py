"""Tiny random Hugging Face ``*ForCTC`` phoneme checkpoints, saved as a user would bring them.

Made with ``transformers`` (the ``dev`` extra): a 2-layer, 32-wide encoder with
wav2vec 2.0's strides, an eSpeak-IPA vocabulary and the tokenizer files. The
special tokens' biases are lowered so a greedy decode never picks them (speechtl
leaves them out of its head; a trained phoneme model does not emit them either).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
# eSpeak IPA of English and Spanish words (multi-character units kept), the word delimiter
PHONES = ["a", "b", "d", "e", "f", "i", "k", "l", "m", "n", "o", "p", "s", "t", "u", "w", "z", "ð", "ɐ", "ɑː",
          "ɛ", "ɹ", "ə", "ɪ", "ʊ", "ʌ", "aɪ", "eɪ", "oʊ", "iː", "uː", "tʃ", "ʃ", "θ", "ŋ", "h", "v", "j", "ɾ", "ɔː",
          "ɜː", "æ", "ɡ", "r", "x", "ɲ", "β", "ɣ"]
VOCAB = SPECIALS + ["|"] + PHONES
FAMILIES = {  # name: (config class, model class, extra config)
    "wav2vec2": ("Wav2Vec2Config", "Wav2Vec2ForCTC", {}),
    "xlsr": ("Wav2Vec2Config", "Wav2Vec2ForCTC", {"do_stable_layer_norm": True, "feat_extract_norm": "layer",
                                                  "conv_bias": True}),  # pre-norm, layer-norm extractor
    "hubert": ("HubertConfig", "HubertForCTC", {}),
    "wavlm": ("WavLMConfig", "WavLMForCTC", {}),
}


def make_ctc_checkpoint(folder: Path, family: str = "wav2vec2", vocab: list[str] = VOCAB, seed: int = 0,
                        delimiter: str | None = "|", normalize: bool = True, size: dict | None = None):
    """Save a random ``*ForCTC`` model with ``vocab`` to ``folder``; returns the transformers model (eval)."""
    transformers = pytest.importorskip("transformers")
    config_name, model_name, extra = FAMILIES[family]
    torch.manual_seed(seed)
    shape = size or dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                         conv_dim=[16] * 7, num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4)
    config = getattr(transformers, config_name)(vocab_size=len(vocab), pad_token_id=vocab.index("<pad>"),
                                                **shape, **extra)
    model = getattr(transformers, model_name)(config).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)  # sharper outputs: greedy paths with many phonemes
        for token in SPECIALS[1:]:
            if token in vocab:
                model.lm_head.bias[vocab.index(token)] = -30.0
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False),
                                       encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>",
         "word_delimiter_token": delimiter}))
    (folder / "preprocessor_config.json").write_text(json.dumps({"sampling_rate": 16000,
                                                                 "do_normalize": normalize}))
    return model


def write_noise(path: Path, seconds: float, seed: int) -> np.ndarray:
    """A 16 kHz PCM-16 file of shaped noise (a whole number of 10 ms hops); returns its float samples."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 100) * 160
    wave = rng.standard_normal(n) * np.hanning(n) * 0.3 + 0.1 * np.sin(np.arange(n) * 0.05 * (1 + seed))
    sf.write(path, np.clip(wave, -1, 1), 16000, subtype="PCM_16")
    return sf.read(path, dtype="float32")[0]


def reference_logits(model, wave: np.ndarray, normalize: bool = True) -> torch.Tensor:
    """transformers' ``(frames, vocab)`` logits of one recording (normalised as its feature extractor does)."""
    x = torch.as_tensor(wave, dtype=torch.float32)
    if normalize:
        x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
    with torch.no_grad():
        return model(x[None]).logits[0]


def reference_greedy(model, wave: np.ndarray, vocab: list[str], normalize: bool = True) -> str:
    """transformers' greedy CTC decode: best token per frame, repeats merged, pad (blank) dropped."""
    ids = torch.unique_consecutive(reference_logits(model, wave, normalize).argmax(-1)).tolist()
    tokens = [vocab[i] for i in ids if vocab[i] != "<pad>"]
    return " ".join(tokens).strip("| ")
