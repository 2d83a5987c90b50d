"""``speechtl recipes list | show | copy``: the recipes shipped as package data."""

from __future__ import annotations

from pathlib import Path

import speechtl
from speechtl.cli import main
from speechtl.tasks import load_recipe

ROOT = Path(speechtl.__file__).resolve().parents[1]


def test_list_names_every_recipe_with_its_purpose(capsys):
    assert main(["recipes", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == sorted(p.stem for p in (ROOT / "speechtl" / "recipes").glob("*.yaml"))
    tiny = next(line for line in lines if line.split()[0] == "tiny")
    assert "A minutes-long recipe for tests" in tiny


def test_show_prints_the_file_and_unknown_names_list_the_shipped(capsys):
    assert main(["recipes", "show", "recipes/tiny.yaml"]) == 0
    assert capsys.readouterr().out == (ROOT / "recipes" / "tiny.yaml").read_text(encoding="utf-8")
    assert main(["recipes", "show", "tinny"]) == 2
    err = capsys.readouterr().err
    assert "no shipped recipe named 'tinny'" in err and "tiny-dann" in err


def test_copy_brings_the_tables_a_recipe_names_and_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["recipes", "copy", "tiny-zeroshot", "tiny"]) == 0
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "recipes").rglob("*") if p.is_file()) == [
        "recipes/attributes/languages.tsv", "recipes/tiny-zeroshot.yaml", "recipes/tiny.yaml"]
    load_recipe("recipes/tiny-zeroshot.yaml")  # its recipes/attributes/... path resolves from here
    (tmp_path / "recipes" / "tiny.yaml").write_text("# mine\n")
    assert main(["recipes", "copy", "tiny"]) == 2
    assert "already exist" in capsys.readouterr().err
    assert (tmp_path / "recipes" / "tiny.yaml").read_text() == "# mine\n"
    assert main(["recipes", "copy", "tiny", "--overwrite", "--to", "recipes"]) == 0
    assert (tmp_path / "recipes" / "tiny.yaml").read_text() != "# mine\n"
