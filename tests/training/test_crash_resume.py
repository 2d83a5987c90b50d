"""``kill -9`` in the middle of training, then ``--resume``: the same model as an uninterrupted run."""

import json
import logging
import signal
import subprocess
import time
from pathlib import Path

import torch
from test_distributed import read_log, run_env, speechtl_cmd, write_recipe

from speechtl.cli import main
from speechtl.workflows.train import train
from speechtl.models.io import load_model
from speechtl.files import latest_checkpoint


def start_and_kill(cmd: list[str], log_path: Path, kill_at_step: int, timeout: float = 300) -> int:
    """Run ``cmd``, SIGKILL it once its log reaches ``kill_at_step``; the last step it logged."""
    proc = subprocess.Popen(cmd, env=run_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    last = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if log_path.is_file():
                lines = log_path.read_text().splitlines()
                last = json.loads(lines[-1])["step"] if lines and lines[-1].endswith("}") else last
                if last >= kill_at_step:
                    proc.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.02)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, f"not killed in time (rc {proc.returncode}): {proc.stderr.read()[-2000:]}"
    return last


def test_kill_9_then_resume_matches_an_uninterrupted_run(tiny_recipe, tmp_path, caplog):
    tiny_recipe.train.max_steps = 45
    tiny_recipe.train.checkpoint_every = 10
    tiny_recipe.train.keep_checkpoints = 3
    tiny_recipe.train.log_every = 1  # SpecAugment stays on: the RNG state must come back exactly
    tiny_recipe.train.exp_dir = str(tmp_path / "straight")
    straight = train(tiny_recipe, progress=False)

    exp = tmp_path / "killed"
    tiny_recipe.train.exp_dir = str(exp)
    recipe_path = write_recipe(tiny_recipe, tmp_path / "killed.yaml")
    last = start_and_kill(speechtl_cmd("train", str(recipe_path)), exp / "train_log.jsonl", kill_at_step=25)
    newest = latest_checkpoint(exp / "checkpoints")
    step = int(newest.name.split("-")[1])
    assert 20 <= step <= last < step + 10  # at most one checkpoint interval is lost

    # a checkpoint damaged after the fact: detected, and the previous one is used
    weights = newest / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with caplog.at_level(logging.INFO):
        assert main(["train", str(recipe_path), "--resume"]) == 0
    assert f"checkpoint {newest} is incomplete or corrupt; falling back" in caplog.text
    assert f"step-{step - 10:07d} (step {step - 10})" in caplog.text

    a, b = load_model(straight / "model"), load_model(exp / "model")
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)
    # the log reads as one run: each step once, the same losses
    killed_log, straight_log = read_log(exp), read_log(straight)
    assert [r["step"] for r in killed_log] == list(range(1, 46))
    assert [r["loss"] for r in killed_log] == [r["loss"] for r in straight_log]
