"""The wheel: it holds the package data (lexicons, recipes), and an installed copy runs outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import speechtl

ROOT = Path(speechtl.__file__).resolve().parents[1]
PACKAGE_DATA = ["speechtl/lexicons/*.txt", "speechtl/lexicons/README.md", "speechtl/recipes/*.yaml",
                "speechtl/recipes/attributes/*", "speechtl/serve/static/*", "speechtl/models/builtin/*/*"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the checkout (so the build leaves nothing behind in it), no network."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "recipes"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, src / name)
    shutil.copytree(ROOT / "speechtl", src / "speechtl", symlinks=True,  # speechtl/recipes stays a link
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("speechtl-*.whl")
    return built


def test_the_wheel_holds_every_lexicon_and_recipe(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for pattern in PACKAGE_DATA:
        sources = sorted(ROOT.glob(pattern))
        assert sources, pattern  # the checkout has them: the test checks something
        missing = [str(p.relative_to(ROOT)) for p in sources if str(p.relative_to(ROOT)) not in names]
        assert not missing, f"package data missing from {wheel.name}: {missing[:5]}"
    metadata = zipfile.ZipFile(wheel).read(f"{wheel.name.split('-py3')[0]}.dist-info/METADATA").decode()
    assert "Requires-Python: <3.13,>=3.10" in metadata
    librosa = [line for line in metadata.splitlines() if line.startswith("Requires-Dist: librosa")]
    assert librosa and not any("extra ==" in line for line in librosa)  # the pitch stage (data/signal.py) needs it


@pytest.mark.slow
def test_the_installed_wheel_runs_outside_the_checkout(wheel, tmp_path, tdnn_en_model, en_phrases):
    """``pip install --no-deps --target`` (the shared venv gives the dependencies), then run from elsewhere."""
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}

    def run(*args: str) -> str:
        out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=work, env=env, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout

    where = run("-c", "import speechtl; print(speechtl.__file__)")
    assert Path(where.strip()).is_relative_to(target)  # the installed copy, not the checkout
    assert "multilingual-synth" in run("-m", "speechtl", "recipes", "list")
    assert run("-c", "from speechtl.text.g2p_lexicon import shipped_lexicon; print(len(shipped_lexicon('fr')))"
               ).strip() == "20000"
    run("-m", "speechtl", "recipes", "copy", "tiny-zeroshot")
    assert (work / "recipes" / "attributes" / "languages.tsv").is_file()
    run("-c", "from speechtl.tasks import load_recipe; load_recipe('recipes/tiny-zeroshot.yaml')")
    import soundfile as sf

    vocabulary, phrases = en_phrases
    samples, text = phrases[0]
    sf.write(work / "talk.wav", samples.numpy(), 16000)
    (work / "words.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    out = run("-m", "speechtl", "decode", "--model", str(tdnn_en_model), "--words", "words.txt", "--format", "vtt",
              "talk.wav", "-q")
    assert out.startswith("WEBVTT\n\n00:00:") and len(out.split("\n")) > 3  # words with times
    out = run("-m", "speechtl", "decode", "--model", "builtin:multilingual-synth", "--lang", "en", "talk.wav", "-q")
    assert out.strip()  # the shipped model, no training: words from the shipped English lexicon


def test_builtin_names_a_shipped_model_folder_or_lists_the_shipped(tmp_path):
    from speechtl.errors import CheckpointError
    from speechtl.files import resolve_model_path
    from speechtl.resources import builtin_model

    with pytest.raises(CheckpointError, match="no builtin model named 'nope'; shipped: none in this version"):
        builtin_model("builtin:nope", tmp_path / "absent")
    shipped = tmp_path / "builtin" / "tiny-en"
    shipped.mkdir(parents=True)
    (shipped / "model.json").write_text("{}")
    (tmp_path / "builtin" / "half-copied").mkdir()  # no model.json: not a model
    assert builtin_model("builtin:tiny-en", tmp_path / "builtin") == shipped
    with pytest.raises(CheckpointError, match="no builtin model named 'tiny'; shipped: tiny-en"):
        builtin_model("builtin:tiny", tmp_path / "builtin")
    with pytest.raises(CheckpointError, match="no builtin model named"):
        resolve_model_path("builtin:no-such-model")  # every model path goes through it
