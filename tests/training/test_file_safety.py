"""Files the user owns (issue #27, items 7-10): outputs complete or not at all, never over an input;
``--overwrite`` removes only a run's outputs; one run per experiment directory; a full disk is a user error.

Each test is a reproduction of the independent probe's finding, ending in the behaviour the issue asks for.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from hostile_catalogue import make_fixtures
from speechtl.cli import main
from speechtl.errors import OutputError
from speechtl.training.experiment import LOCK, MANIFEST, claim_experiment_dir, release_lock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return make_fixtures(tmp_path_factory.mktemp("files"))


def _no_temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ decode -o
def test_decode_into_its_own_input_is_refused_before_anything_is_opened(fixtures, tmp_path, capsys):
    rec = tmp_path / "rec.wav"
    rec.write_bytes((fixtures / "speech.wav").read_bytes())
    before = rec.read_bytes()
    assert main(["decode", "--model", str(fixtures / "model"), str(rec), "-o", str(rec), "--greedy"]) == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert rec.read_bytes() == before
    folder = tmp_path / "folder"  # a recording found inside a folder given as input
    folder.mkdir()
    (folder / "a.wav").write_bytes(before)
    assert main(["decode", "--model", str(fixtures / "model"), str(folder), "-o", str(folder / "a.wav"),
                 "--greedy"]) == 2
    assert (folder / "a.wav").read_bytes() == before


def test_decode_of_a_missing_file_leaves_the_earlier_report(fixtures, tmp_path, capsys):
    report = tmp_path / "report.txt"
    report.write_text("last week's results\n")
    code = main(["decode", "--model", str(fixtures / "model"), str(tmp_path / "missing.wav"), "-o", str(report),
                 "--greedy"])
    assert code == 2 and report.read_text() == "last week's results\n"
    assert "nothing written to" in capsys.readouterr().err
    assert _no_temporaries(tmp_path) == []
    assert main(["decode", "--model", str(fixtures / "model"), str(fixtures / "speech.wav"), "-o", str(report),
                 "--greedy"]) == 0
    assert report.read_text().startswith(str(fixtures / "speech.wav"))  # replaced once complete


class _FullDisk:
    """A file whose writes fail as on a full disk (everything else passes through)."""

    def __init__(self, file) -> None:
        self.file = file

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def test_a_full_disk_while_decoding_is_a_user_error_and_the_report_stays(fixtures, tmp_path, capsys, monkeypatch):
    from speechtl.outputs import AtomicOutput

    report = tmp_path / "report.txt"
    report.write_text("keep me\n")
    real_init = AtomicOutput.__init__

    def full_disk_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.file = _FullDisk(self.file)

    monkeypatch.setattr(AtomicOutput, "__init__", full_disk_init)
    code = main(["decode", "--model", str(fixtures / "model"), str(fixtures / "speech.wav"), "-o", str(report),
                 "--greedy"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "internal error" not in err
    assert f"{report}: cannot write: No space left on device" in err
    assert report.read_text() == "keep me\n" and _no_temporaries(tmp_path) == []


def test_atomic_output_writes_through_links_and_devices(tmp_path):
    from speechtl.outputs import AtomicOutput, write_text

    real = tmp_path / "real.txt"
    real.write_text("old")
    (tmp_path / "link.txt").symlink_to(real)
    write_text(tmp_path / "link.txt", "new")
    assert (tmp_path / "link.txt").is_symlink() and real.read_text() == "new"  # the link's target replaced
    with AtomicOutput("/dev/null") as out:  # not a regular file: written directly, never renamed over
        out.write("x")
    assert Path("/dev/null").exists() and not Path("/dev/null").is_file()
    with pytest.raises(OutputError, match="is a folder"):
        AtomicOutput(tmp_path)


# ------------------------------------------------------------------ --overwrite
def test_overwrite_removes_only_the_runs_files_in_a_folder_without_manifest(tmp_path, caplog):
    """The probe: a stray model.json beside the user's thesis and data; --overwrite deleted everything."""
    exp = tmp_path / "exp"
    (exp / "thesis").mkdir(parents=True)
    (exp / "thesis" / "chapter1.tex").write_text("\\chapter{One}")
    (exp / "mydata").mkdir()
    (exp / "mydata" / "a.wav").write_bytes(b"RIFF")
    (exp / "data").mkdir()  # a user's folder that only shares a run's folder name
    (exp / "data" / "notes.txt").write_text("mine")
    (exp / "model.json").write_text("{}")
    (exp / "checkpoints" / "step-0000001").mkdir(parents=True)
    (exp / "train_log.jsonl").write_text("{}\n")
    claim_experiment_dir(exp, resume=False, overwrite=True)
    release_lock(exp)
    assert (exp / "thesis" / "chapter1.tex").read_text() == "\\chapter{One}"
    assert (exp / "mydata" / "a.wav").exists() and (exp / "data" / "notes.txt").exists()
    assert not (exp / "model.json").exists() and not (exp / "checkpoints").exists()
    assert not (exp / "train_log.jsonl").exists() and not (exp / LOCK).exists()
    assert "kept 3 entries that are not a run's outputs: data, mydata, thesis" in caplog.text


def test_overwrite_with_a_manifest_keeps_what_was_there_before_and_what_came_after(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "README.md").write_text("my notes")  # there before the first run
    claim_experiment_dir(exp, resume=False, overwrite=False)
    (exp / "model.json").write_text("{}")  # what the run writes
    (exp / "data").mkdir()
    (exp / "data" / "whatever.bin").write_bytes(b"")
    release_lock(exp)
    manifest = json.loads((exp / MANIFEST).read_text())
    assert manifest["found"] == ["README.md"] and manifest["written"] == ["data", "model.json"]
    (exp / "later.txt").write_text("added after the run")
    claim_experiment_dir(exp, resume=False, overwrite=True)
    release_lock(exp)
    assert sorted(p.name for p in exp.iterdir()) == [MANIFEST, "README.md", "later.txt"]


def test_pretrain_overwrite_in_the_probes_folder_keeps_the_users_files(tmp_path):
    """The probe's reproduction through the command line (pretrain and train claim a folder the same way)."""
    exp = tmp_path / "exp"
    (exp / "thesis").mkdir(parents=True)
    (exp / "thesis" / "chapter1.tex").write_text("text")
    (exp / "mydata").mkdir()
    (exp / "model.json").write_text("{}")
    recipe = _pretrain_recipe(tmp_path, _recordings(tmp_path / "audio", 7), exp)
    assert main(["pretrain", str(recipe)]) == 2  # a run is there: neither --resume nor --overwrite
    assert main(["pretrain", str(recipe), "--overwrite"]) == 0
    assert (exp / "thesis" / "chapter1.tex").read_text() == "text" and (exp / "mydata").is_dir()
    assert (exp / "model.json").exists() and not (exp / LOCK).exists()


# ------------------------------------------------------------------ one run per folder
def _holder(exp: Path) -> subprocess.Popen:
    """Another process holding ``exp``'s lock until it is killed."""
    code = ("import sys, time; from pathlib import Path; from speechtl.training.experiment import acquire_lock; "
            "acquire_lock(Path(sys.argv[1])); print('locked', flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(exp)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path, capsys):
    exp = tmp_path / "exp"
    exp.mkdir()
    holder = _holder(exp)
    try:
        with pytest.raises(OutputError, match=rf"in use by another run \(pid {holder.pid}"):
            claim_experiment_dir(exp, resume=False, overwrite=True)
        recipe = _pretrain_recipe(tmp_path, _recordings(tmp_path / "audio", 3), exp)
        assert main(["pretrain", str(recipe), "--overwrite"]) == 2
        assert f"in use by another run (pid {holder.pid}" in capsys.readouterr().err
        assert sorted(p.name for p in exp.iterdir()) == [LOCK]  # nothing written, the holder's lock kept
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path, caplog):
    exp = tmp_path / "exp"
    exp.mkdir()
    holder = _holder(exp)
    holder.kill()  # dies holding the lock
    holder.wait()
    claim_experiment_dir(exp, resume=False, overwrite=False)
    assert f"taking over a stale lock (of pid {holder.pid}, which is no longer running)" in caplog.text
    assert json.loads((exp / LOCK).read_text())["pid"] == os.getpid()
    release_lock(exp)
    assert not (exp / LOCK).exists()


# ------------------------------------------------------------------ a full disk
def test_a_full_disk_during_a_checkpoint_leaves_no_temporary_and_names_the_path(tmp_path, monkeypatch):
    """The probe: exit 1 "internal error" and an orphan step-0000002.tmp; now a user error and no orphan."""
    import builtins

    import speechtl.files
    from speechtl.files import latest_checkpoint
    from speechtl.training.checkpoint import save_checkpoint

    ckpt = tmp_path / "exp" / "checkpoints"
    state = {"w": torch.zeros(4)}
    save_checkpoint(ckpt, 1, state, {"kind": "test"}, {"step": 1}, keep=3)

    def full_for_the_trainer_half(path, mode="r", *args, **kwargs):  # the model half fits, then the disk is full
        file = builtins.open(path, mode, *args, **kwargs)
        return _FullDisk(file) if "w" in mode and "trainer" in str(path) else file

    monkeypatch.setattr(speechtl.files, "open", full_for_the_trainer_half, raising=False)
    with pytest.raises(OutputError, match=r"step-0000002\.tmp.*: cannot write: No space left on device"):
        save_checkpoint(ckpt, 2, state, {"kind": "test"}, {"step": 2}, keep=3)
    assert _no_temporaries(tmp_path) == [] and latest_checkpoint(ckpt).name == "step-0000001"


def test_a_full_disk_with_no_path_is_still_a_user_error(monkeypatch, capsys):
    from speechtl.cli import export as export_cli

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_cli, "run", full)
    assert main(["export", "--model", "m", "-o", "out.onnx"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "internal error" not in err


# ------------------------------------------------------------------ pretrain on few files
def _recordings(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        sf.write(folder / f"r{i}.wav", (0.1 * rng.standard_normal(8000 + 800 * i)).astype(np.float32), 16000)
    return folder


def _pretrain_recipe(tmp_path: Path, audio: Path, exp: Path) -> Path:
    path = tmp_path / "pretrain.yaml"
    path.write_text(f"model: {{encoder: tdnn, dim: 32, layers: 1, dropout: 0.0}}\n"
                    f"pretrain: {{audio: [{audio}], codebook_size: 16, mask_prob: 0.05, mask_span: 5}}\n"
                    f"train: {{exp_dir: {exp}, max_steps: 2, warmup_steps: 1, max_duration: 5, num_threads: 1, "
                    f"checkpoint_every: 1000, log_every: 1}}\n")
    return path


def test_pretrain_on_seven_files_adapts_its_buckets_and_counts_skips_by_cause(tmp_path, caplog):
    audio = _recordings(tmp_path / "audio", 7)
    os.mkfifo(audio / "pipe.wav")
    (audio / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    (audio / "broken.wav").write_bytes(b"RIFF not audio")
    started = time.monotonic()
    assert main(["pretrain", str(_pretrain_recipe(tmp_path, audio, tmp_path / "exp"))]) == 0
    assert time.monotonic() - started < 120  # the FIFO was never opened (it would block forever)
    meta = json.loads((tmp_path / "exp" / "model.json").read_text())["pretraining"]
    assert meta["recordings"] == 7 and meta["skipped"] == 3
    assert meta["skipped_by_cause"] == {"FIFO": 1, "dangling link": 1, "cannot read audio": 1}
    assert "kept 7 recordings, skipped 3 (1 dangling link, 1 FIFO, 1 cannot read audio)" in caplog.text
