"""Watching training: TensorBoard scalars when tensorboard is installed, ``speechtl plot curves EXP``."""

from __future__ import annotations

import json

import pytest

from speechtl.cli import main
from speechtl.training.tensorboard import open_writer, write_scalars

PNG = b"\x89PNG\r\n\x1a\n"


def test_scalars_reach_tensorboard_at_their_steps(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    writer = open_writer(tmp_path)
    for step, loss in ((5, 2.0), (10, 1.5)):
        write_scalars(writer, {"step": step, "loss": loss, "lr": 1e-3, "grad_norm": None}, "train")
    write_scalars(writer, {"step": 10, "per_en": 0.4}, "dev")
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()  # no close(): a running (or killed) job's scalars are already on disk
    assert {"train/loss", "train/lr", "dev/per_en"} <= set(events.Tags()["scalars"])
    assert "train/grad_norm" not in events.Tags()["scalars"]  # None is not a number
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(5, 2.0), (10, 1.5)]


def test_training_writes_tensorboard_by_default(tiny_recipe):
    pytest.importorskip("tensorboard")
    from speechtl.workflows.train import train

    tiny_recipe.train.max_steps = 10
    exp = train(tiny_recipe, progress=False)
    assert list((exp / "tensorboard").glob("events.out.tfevents.*"))


def write_logs(exp, valid: bool = True) -> None:
    exp.mkdir()
    (exp / "train_log.jsonl").write_text("".join(json.dumps({"step": s, "loss": 10 / s, "lr": 1e-3 * s}) + "\n"
                                                 for s in range(1, 20)) + '{"step": 20, "lo')  # torn last line
    if valid:
        (exp / "valid_log.jsonl").write_text("".join(json.dumps({"step": s, "per_en": 0.5 / s, "per_mean": 0.4 / s})
                                                     + "\n" for s in (5, 10, 15)))


def test_plot_curves_draws_loss_lr_and_dev(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    write_logs(tmp_path / "exp")
    assert main(["plot", "curves", str(tmp_path / "exp")]) == 0
    png = tmp_path / "exp" / "curves.png"
    assert png.read_bytes()[:8] == PNG and f"wrote {png}" in capsys.readouterr().out
    write_logs(tmp_path / "no-dev", valid=False)
    narrow = tmp_path / "narrow.png"
    assert main(["plot", "curves", str(tmp_path / "no-dev"), "-o", str(narrow)]) == 0
    from PIL import Image

    assert Image.open(narrow).width < Image.open(png).width  # two panels, not three


def test_plot_curves_of_a_folder_without_logs_says_so(tmp_path, capsys):
    assert main(["plot", "curves", str(tmp_path)]) == 2
    assert "no train_log.jsonl" in capsys.readouterr().err
