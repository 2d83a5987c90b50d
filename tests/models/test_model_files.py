"""Model and recipe files from a stranger (issue #27, item 11): bounded before they are parsed or allocated.

Each test is the probe's reproduction, ending in a named error (exit 2) instead of a RecursionError,
gigabytes allocated, a hang, or weights loaded without their checksum.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hostile_catalogue import make_fixtures
from speechtl.cli import main
from speechtl.errors import CheckpointError, RecipeError
from speechtl.models.io import load_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return make_fixtures(tmp_path_factory.mktemp("model-files"))


def _copy(fixtures: Path, folder: Path, stem: str = "model", meta=None, weights: bytes | None = None) -> Path:
    """The fixtures' model copied to ``folder/stem``, its metadata replaced by ``meta(old)`` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    old = json.loads((fixtures / "model.json").read_text(encoding="utf-8"))
    new = meta(old) if meta else old
    (folder / f"{stem}.json").write_text(new if isinstance(new, str) else json.dumps(new), encoding="utf-8")
    (folder / f"{stem}.safetensors").write_bytes(weights or (fixtures / "model.safetensors").read_bytes())
    return folder / stem


def _decode(model: Path, fixtures: Path, *extra: str) -> list[str]:
    return ["decode", "--model", str(model), str(fixtures / "speech.wav"), "--greedy", *extra]


def test_a_model_json_nested_ten_thousand_deep_is_refused_by_name(fixtures, tmp_path, capsys):
    model = _copy(fixtures, tmp_path, meta=lambda m: json.dumps(m)[:-1] + ', "x": ' + "[" * 10000 + "]" * 10000
                  + "}")
    with pytest.raises(CheckpointError, match="JSON nested more than 64 levels deep"):
        load_model(model)
    assert main(_decode(model, fixtures)) == 2
    err = capsys.readouterr().err
    assert "nested more than 64 levels deep" in err and "RecursionError" not in err


@pytest.mark.parametrize("where", ["recipe", "set-value", "set-key"])
def test_a_recipe_or_override_nested_fifty_thousand_deep_is_refused(tmp_path, capsys, where):
    deep = "[" * 50000 + "]" * 50000
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"name: {deep}\n" if where == "recipe" else "name: x\n", encoding="utf-8")
    argv = ["train", str(recipe)]
    if where == "set-value":
        argv += ["--set", f"name={deep}"]
    elif where == "set-key":
        argv += ["--set", ".".join(["a"] * 50000) + "=1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("nested more than 32 levels deep" in err or "dotted parts" in err), err[-500:]
    assert "RecursionError" not in err and "internal error" not in err and len(err) < 2000


@pytest.mark.parametrize("dim", [4096, 16384])
def test_an_edited_dim_is_refused_before_the_model_is_allocated(fixtures, tmp_path, capsys, dim):
    model = _copy(fixtures, tmp_path, meta=lambda m: {**m, "model": {**m["model"], "dim": dim}})
    started = time.monotonic()
    assert main(_decode(model, fixtures)) == 2
    assert time.monotonic() - started < 5  # the probe: 13 s and 2.4 GB at 4096, an allocation failure at 16384
    err = capsys.readouterr().err
    assert f"{model}.json: weights do not fit the recorded model: it describes " in err
    assert f"{dim}" in err and "the weights hold [8" in err


def test_a_fifo_where_a_checkpoints_model_json_should_be_is_refused_without_waiting(fixtures, tmp_path):
    step = tmp_path / "exp" / "checkpoints" / "step-0000001"
    _copy(fixtures, step)
    (step / "model.json").unlink()
    os.mkfifo(step / "model.json")
    for model in (step / "model", step):  # named directly, and found as the newest checkpoint
        proc = subprocess.run([sys.executable, "-m", "speechtl", *_decode(model, fixtures)], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 2 and "model.json: is a FIFO" in proc.stderr, proc.stderr[-1000:]


def test_weights_without_a_checksum_are_refused_unless_accepted(fixtures, tmp_path, capsys, caplog):
    """The probe: model.json without its sha256 and 1,000 zeroed weight bytes loaded and decoded silently."""
    data = bytearray((fixtures / "model.safetensors").read_bytes())
    data[-1000:] = bytes(1000)
    model = _copy(fixtures, tmp_path, meta=lambda m: {k: v for k, v in m.items() if k != "sha256"},
                  weights=bytes(data))
    assert main(_decode(model, fixtures)) == 2
    err = capsys.readouterr().err
    assert "records no SHA-256 of its weights" in err and "--accept-unverified" in err
    assert main(_decode(model, fixtures, "--accept-unverified")) == 0  # the user said so
    assert "loading them unverified, as asked" in caplog.text
    assert "SPEECHTL_ACCEPT_UNVERIFIED" not in os.environ  # for that command only
    hashed = _copy(fixtures, tmp_path, "hashed", weights=bytes(data))  # checksum recorded: zeroed bytes found
    with pytest.raises(CheckpointError, match="do not match their recorded hash"):
        load_model(hashed)


def test_a_weights_file_that_is_not_regular_is_refused(fixtures, tmp_path):
    model = _copy(fixtures, tmp_path)
    (tmp_path / "model.safetensors").unlink()
    os.mkfifo(tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"model\.safetensors: is a FIFO"):
        load_model(model)


def test_a_model_saved_by_speechtl_still_loads(fixtures):
    assert load_model(fixtures / "model").languages == ["en"]


def test_recipe_errors_name_the_depth_limit(tmp_path):
    from speechtl.config import parse_json, safe_load

    assert safe_load("a: " + "[" * 30 + "]" * 30) is not None  # deep, but within the bound
    with pytest.raises(Exception, match="nested more than 32 levels deep"):
        safe_load("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 40)) + "  " * 40 + "v")
    with pytest.raises(RecipeError, match=r"x\.json: JSON nested more than 3 levels deep"):
        parse_json('{"a": [[{"b": "[[[[[["}]]]}', "x.json", max_depth=3)
    assert parse_json('{"a": "[[[[[[[["}', "x.json", max_depth=1) == {"a": "[[[[[[[["}  # strings are skipped
