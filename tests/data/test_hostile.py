"""Hostile input: malformed manifests and Kaldi files, lying audio headers, poisoned batches, foreign model files."""

import gzip
import json
import logging

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.data.dataset import Utterance, collate, load_utterances
from speechtl.data.kaldi import load_kaldi_dir, read_kaldi_table
from speechtl.data.manifests import read_manifest
from speechtl.data.sampler import IndexBatchLoader
from speechtl.errors import CheckpointError, ManifestError
from speechtl.tasks.speech.model import build_model
from speechtl.models.io import load_model, save_model
from speechtl.data.config import FeatureConfig
from speechtl.models.config import ModelConfig
from speechtl.tasks.speech.recipe import Recipe
from speechtl.training.config import TrainConfig
from speechtl.text.inventory import Inventory
from speechtl.tasks.speech.objective import CTCTask
from speechtl.training.loop import Trainer
from speechtl.training.objective import Objective

RECORDING = {"id": "r1", "sources": [{"type": "file", "channels": [0], "source": "a.wav"}],
             "sampling_rate": 16000, "num_samples": 16000, "duration": 1.0}


def _jsonl(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("lines, message", [
    ([json.dumps(RECORDING), '{"id": "r2", "sources": [', ""], r"m.jsonl:2: not valid JSON"),
    ([json.dumps(RECORDING), "[1, 2]"], r"m.jsonl:2: expected a JSON object, got list"),
    ([json.dumps(RECORDING), json.dumps({**RECORDING, "sources": "nope"})], r"m.jsonl:2: not a Lhotse manifest item"),
    ([json.dumps(RECORDING), json.dumps(RECORDING)], r"m.jsonl:2: id 'r1' already on line 1"),
    ([json.dumps(RECORDING), json.dumps({"id": "s", "recording_id": "r1", "start": 0, "duration": 1})],
     r"m.jsonl:2: a SupervisionSegment in a manifest of recordings"),
])
def test_malformed_manifest_lines_are_named(tmp_path, lines, message):
    with pytest.raises(ManifestError, match=message):
        read_manifest(_jsonl(tmp_path / "m.jsonl", lines))


def test_truncated_gzip_and_bad_bytes_are_named(tmp_path):
    data = gzip.compress(("\n".join(json.dumps({**RECORDING, "id": f"r{i}"}) for i in range(2000))).encode())
    (tmp_path / "t.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ManifestError, match=r"t.jsonl.gz: unreadable or truncated after line \d+"):
        read_manifest(tmp_path / "t.jsonl.gz")
    (tmp_path / "b.jsonl").write_bytes(json.dumps(RECORDING).encode() + b"\n\xff\xfe\n")
    with pytest.raises(ManifestError, match=r"b.jsonl:2: not UTF-8"):
        read_manifest(tmp_path / "b.jsonl")
    with pytest.raises(ManifestError, match=r"missing.jsonl: manifest not found"):
        read_manifest(tmp_path / "missing.jsonl")


def test_malformed_kaldi_files_are_named(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text("u1 /a.wav\n\nu2\n")
    with pytest.raises(ManifestError, match=r"wav.scp:3: expected 'key value', got 'u2'"):
        read_kaldi_table(d / "wav.scp")
    (d / "wav.scp").write_text("u1 /a.wav\nu1 /b.wav\n")
    with pytest.raises(ManifestError, match=r"wav.scp:2: 'u1' already on line 1"):
        load_kaldi_dir(d, "en")
    (d / "wav.scp").write_text("u1 sox a.wav -t wav - |\n")
    (d / "text").write_text("u1 hello\n")
    with pytest.raises(ManifestError, match="pipe commands are not supported"):
        load_kaldi_dir(d, "en")
    (d / "wav.scp").write_text("u1 /a.wav\n")
    (d / "segments").write_text("u1 r1 2.0 1.0\n")
    with pytest.raises(ManifestError, match=r"segments:1: expected 'utterance recording start end'"):
        load_kaldi_dir(d, "en")
    (d / "segments").unlink()
    (d / "text").write_bytes(b"u1 caf\xe9\n")
    with pytest.raises(ManifestError, match=r"text:1: not UTF-8"):
        load_kaldi_dir(d, "en")
    (d / "text").write_text("u1 hello\n")
    with pytest.raises(ManifestError, match="give the part a language, or add an utt2lang file"):
        load_kaldi_dir(d, "")
    with pytest.raises(ManifestError, match="no such Kaldi data directory"):
        load_kaldi_dir(tmp_path / "nope", "en")


def test_audio_truncated_after_its_manifest_was_made_is_skipped_and_named(tmp_path):
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    path = tmp_path / "cut-short.wav"
    sf.write(path, 0.1 * np.sin(np.arange(16000) / 5), 16000)
    rec = Recording.from_file(path, recording_id="r1")
    path.write_bytes(path.read_bytes()[:20000])  # a copy interrupted half-way
    sup = SupervisionSegment("u1", "r1", 0, 1.0, language="en", text="a", custom={"phonemes": "a"})
    cuts = CutSet.from_manifests(recordings=RecordingSet.from_recordings([rec]),
                                 supervisions=SupervisionSet.from_segments([sup]))
    utts, report = load_utterances(cuts, FeatureConfig())
    assert utts == [] and report.skipped[0][0] == "u1" and "cut-short.wav: the file holds 0.62 s of audio, its manifest says 1.00 s" in report.skipped[0][1]


class _InOrder:
    """Index batches of two, in order (an index sampler for IndexBatchLoader)."""

    def __init__(self, n: int) -> None:
        self.n, self.start = n, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.start = start

    def __iter__(self):
        yield from ([i, i + 1] for i in range(2 * self.start, self.n - 1, 2))


def test_a_poisoned_batch_is_skipped_not_fatal(tmp_path, caplog):
    """NaN features reaching the loss: the update is skipped and counted, the weights stay finite."""
    torch.manual_seed(0)
    torch.set_num_threads(1)  # as the tiny recipes do: a tiny model on a shared 2-core machine
    inv = Inventory(["a", "b"])
    utts = [Utterance(f"u{i}", "en", "s", torch.randn(40 + i, 80), "a b | a", "a b", f"u{i}.wav") for i in range(12)]
    utts[5].feats[:] = float("nan")  # all of it: SpecAugment masks cannot hide it
    recipe = Recipe(model=ModelConfig(encoder="tdnn", dim=16, layers=1))
    recipe.features.cmvn = "utterance"
    model = build_model(recipe, {"en": inv})
    items = [(u, torch.tensor(inv.encode(u.phonemes))) for u in utts]
    cfg = TrainConfig(max_steps=12, warmup_steps=2, log_every=3, checkpoint_every=100)
    trainer = Trainer(Objective(CTCTask(model)), IndexBatchLoader(items, _InOrder(len(items)), collate),
                      cfg, tmp_path, model_meta=dict, progress=False)
    with caplog.at_level(logging.WARNING):
        trainer.fit()
    assert trainer.step == 12 and trainer.skipped_steps >= 1
    assert "update skipped" in caplog.text and "u5" in caplog.text
    assert all(torch.isfinite(p).all() for p in model.parameters())
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["skipped_steps"] == trainer.skipped_steps and all(r["loss"] is None or np.isfinite(r["loss"])
                                                                    for r in log)


def test_an_utterance_longer_than_a_batch_may_hold_is_skipped_and_named():
    from lhotse import CutSet, SupervisionSegment
    from lhotse.testing.dummies import dummy_cut

    from speechtl.data.dataset import LoadReport
    from speechtl.data.training_cuts import CutPart, _pieces

    cuts = CutSet.from_cuts(dummy_cut(i, duration=d, supervisions=[SupervisionSegment(
        f"u{i}", f"dummy-recording-{i:04d}", 0.0, d, language="en")]) for i, d in enumerate([2.0, 50.0]))
    report = LoadReport()
    kept = [uid for uid, _, _ in _pieces(CutPart("train", cuts), ["en"], 30.0, report)]
    assert len(kept) == 1 and len(report.skipped) == 1
    assert "50.0 s is longer than the 30 s an utterance may last" in report.skipped[0][1]


def test_model_files_that_are_not_ours(tmp_path, capsys):
    torch.save({"weight": torch.zeros(3)}, tmp_path / "torch.safetensors")  # a zip of pickles
    (tmp_path / "torch.json").write_text(json.dumps({"format": "speechtl-model", "version": 2, "kind": "acoustic-model"}))
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        load_model(tmp_path / "torch")
    (tmp_path / "x.json").write_bytes(b"\x80\x04K\x01.")  # a pickle where the metadata should be
    (tmp_path / "x.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a speechtl model metadata file"):
        load_model(tmp_path / "x")
    small = build_model(Recipe(model=ModelConfig(encoder="tdnn", dim=8, layers=1)), {"en": Inventory(["a"])})
    save_model(small, tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["model"]["dim"] = 16  # metadata that does not fit the weights
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="weights do not fit the recorded model"):
        load_model(tmp_path / "m")
    meta["model"]["dim"] = "wide"
    (tmp_path / "m.json").write_text(json.dumps(meta))
    assert main(["eval", "--model", str(tmp_path / "m")]) == 2
    assert "malformed model metadata: model.dim: expected int, got str 'wide'" in capsys.readouterr().err
