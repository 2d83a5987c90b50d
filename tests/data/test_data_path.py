"""The training data path: one lazily read manifest, features stored once or made on the fly; dev checks."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from speechtl.data.dataset import CutBatches
from speechtl.data.training_cuts import TrainingCuts
from speechtl.files import load_model_files
from speechtl.tasks.speech.data import training_manifest
from speechtl.text.inventory import Inventory
from speechtl.training.checkpoint import average_checkpoints
from speechtl.workflows.train import train


def test_stored_and_on_the_fly_features_agree_and_storage_is_reused(tiny_recipe, tmp_path):
    tiny_recipe.data.augment = ["noise:10"]
    stored = training_manifest(tiny_recipe, tmp_path / "stored")
    cache = sorted((Path(tiny_recipe.data.root) / "features").iterdir())
    again = training_manifest(tiny_recipe, tmp_path / "again")
    assert sorted((Path(tiny_recipe.data.root) / "features").iterdir()) == cache  # nothing computed twice
    assert again.count == stored.count and torch.allclose(again.stats.mean, stored.stats.mean)
    tiny_recipe.data.feature_storage = "on_the_fly"
    fly = training_manifest(tiny_recipe, tmp_path / "fly")
    assert fly.count == stored.count == 2 * 450  # the tiny corpus's 3 x 150 utterances and their noisy copies
    assert TrainingCuts.read(tmp_path / "fly").count == fly.count
    inventories = {lang: Inventory(symbols) for lang, symbols in stored.symbols.items()}
    dataset = CutBatches(inventories, tiny_recipe.features, tiny_recipe.data.synth.seed)
    by_id = {c.id: c for c in fly.cuts()}
    checked = 0
    for cut in stored.cuts():
        if cut.id.endswith("+aug0") and checked < 5:  # a noisy copy: the channel is applied the same way
            a, b = dataset.item(cut), dataset.item(by_id[cut.id])
            assert by_id[cut.id].features is None and cut.features is not None
            assert a[0].feats.shape == b[0].feats.shape and torch.equal(a[1], b[1])
            assert (a[0].feats - b[0].feats).abs().max() < 0.1  # lilcom's lossy compression only
            checked += 1
    assert checked == 5


def test_dev_validation_keeps_and_averages_the_best_checkpoints(tiny_recipe):
    tiny_recipe.train.max_steps = 6
    tiny_recipe.train.valid_every = 2
    tiny_recipe.train.average_best = 2
    tiny_recipe.train.keep_checkpoints = 1
    tiny_recipe.train.checkpoint_every = 100
    exp = train(tiny_recipe, progress=False)
    valid = [json.loads(line) for line in (exp / "valid_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in valid] == [2, 4, 6] and all(0 <= r["dev_per"] for r in valid)
    best = sorted(valid, key=lambda r: (r["dev_per"], -r["step"]))[:2]
    kept = sorted(p.name for p in (exp / "checkpoints").glob("step-*"))
    assert {f"step-{r['step']:07d}" for r in best} | {"step-0000006"} == set(kept)
    model, _ = load_model_files(exp / "model")
    want = average_checkpoints([exp / "checkpoints" / f"step-{r['step']:07d}" / "model" for r in best])
    name = "encoder.blocks.0.conv.weight"
    assert torch.equal(model[name], want[name])
    single = [load_model_files(exp / "checkpoints" / f"step-{r['step']:07d}" / "model")[0][name] for r in best]
    assert not torch.equal(model[name], single[0]) and torch.allclose(model[name], (single[0] + single[1]) / 2)


def test_a_part_needed_by_two_runs_at_once_is_made_once(tmp_path, monkeypatch):
    """Runs side by side (study --jobs) wait for the one making a part instead of writing it together."""
    import json
    import multiprocessing
    import time

    from speechtl.data import training_cuts

    def slow_store(part, folder, *args):
        with open(tmp_path / "made.txt", "a") as f:
            f.write("x")
        time.sleep(0.5)
        (folder / "done.json").write_text(json.dumps({"count": 1}))
        return {"count": 1}

    monkeypatch.setattr(training_cuts, "_store_part", slow_store)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=training_cuts._stored_part, args=(None, tmp_path / "part")) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert (tmp_path / "made.txt").read_text() == "x"
