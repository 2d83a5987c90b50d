"""Adding a language: new head, old heads kept bit-identical, the forgetting report, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from speechtl.workflows.add_language import add_language, forgetting_report
from speechtl.cli import main
from speechtl.config import to_dict
from speechtl.errors import CheckpointError, LanguageError, RecipeError
from speechtl.tasks.speech.data import first_minutes
from speechtl.tasks.speech.model import start_heads
from speechtl.workflows.train import train
from speechtl.models.acoustic import build_acoustic_model
from speechtl.models.io import load_model
from speechtl.text.inventory import Inventory
from tests.conftest import FAKE_FSDD_SPEAKERS

FAST = ["train.max_steps=4", "train.warmup_steps=1", "train.checkpoint_every=4", "train.log_every=1",
        "train.max_duration=40", "train.num_threads=1"]


@pytest.fixture
def base(tiny_recipe):
    """A model of two of the tiny corpus's languages (en, de)."""
    tiny_recipe.data.languages = ["en", "de"]
    tiny_recipe.train.max_steps = 8
    tiny_recipe.train.checkpoint_every = 8
    return train(tiny_recipe, progress=False) / "model"


@pytest.fixture
def es_data(tiny_corpus, tmp_path) -> Path:
    """A recipe whose data section holds the tiny corpus (Spanish is the language added)."""
    path = tmp_path / "es.yaml"
    path.write_text(yaml.safe_dump({"data": to_dict(tiny_corpus)}))
    return path


def load_model_recipe(model_path):
    """The recipe a model was trained with (its data: the old languages)."""
    from speechtl.files import read_metadata
    from speechtl.tasks import recipe_from_dict

    return recipe_from_dict(read_metadata(model_path)["recipe"])


def heads_of(model, languages):
    state = model.state_dict()
    return {n: t for n, t in state.items() if any(n.startswith(f"heads.heads.{lang}.") for lang in languages)}


def test_finetune_adds_a_head_keeps_old_heads_and_reports_forgetting(base, es_data, tmp_path):
    result = add_language(base, "es", es_data, "finetune", tmp_path / "ft", overrides=FAST, progress=False)
    old, new = load_model(base), load_model(result.exp_dir / "model")
    assert sorted(new.languages) == ["de", "en", "es"]
    before, after = heads_of(old, ["en", "de"]), heads_of(new, ["en", "de"])
    assert before and all(torch.equal(before[n], after[n]) for n in before)  # frozen: bit-identical
    encoder = [n for n in old.state_dict() if n.startswith("encoder.blocks.") and n.endswith("weight")]
    assert not all(torch.equal(old.state_dict()[n], new.state_dict()[n]) for n in encoder)  # the encoder adapted
    report = json.loads((result.exp_dir / "forgetting.json").read_text())
    assert set(report["old"]) == {"en", "de"} and set(report["new"]) == {"es"}
    for v in report["old"].values():
        assert 0 <= v["before"] and v["change"] == pytest.approx(v["after"] - v["before"])
    assert "en" in report["table"] and "before" in report["table"]


def test_conservative_trains_with_l2sp_and_kl_on_the_old_heads(base, es_data, tmp_path):
    result = add_language(base, "es", es_data, "conservative", tmp_path / "cons", overrides=FAST, progress=False)
    log = [json.loads(line) for line in (result.exp_dir / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "kl_loss" in r]
    assert steps and steps[-1]["l2sp_loss"] > 0 and steps[-1]["kl_loss"] > 0


def test_layer_transfer_freezes_the_first_blocks(base, es_data, tmp_path):
    result = add_language(base, "es", es_data, "layer-transfer", tmp_path / "lt", freeze_blocks=2,
                          overrides=FAST, progress=False)
    old, new = load_model(base).state_dict(), load_model(result.exp_dir / "model").state_dict()
    frozen = [n for n in old if n.startswith(("encoder.frontend.", "encoder.blocks.0.", "encoder.blocks.1."))]
    assert frozen and all(torch.equal(old[n], new[n]) for n in frozen)
    later = [n for n in old if n.startswith("encoder.blocks.3.") and n.endswith("weight")]
    assert later and not all(torch.equal(old[n], new[n]) for n in later)


def test_scratch_from_the_cli(base, es_data, tmp_path, capsys):
    code = main(["add-language", "--model", str(base), "--lang", "es", "--data", str(es_data), "--strategy",
                 "scratch", "-o", str(tmp_path / "scratch"), *sum((["--set", o] for o in FAST), [])])
    assert code == 0
    out = capsys.readouterr().out
    assert "added es (scratch)" in out and "scratch model starts over" in out
    assert load_model(tmp_path / "scratch" / "model").languages == ["es"]


def test_other_splits_are_scored_as_test_is_from_the_cli(base, es_data, tmp_path, capsys):
    """``--splits dev``: the new language and the old languages' forgetting on dev too (what a study chooses by)."""
    code = main(["add-language", "--model", str(base), "--lang", "es", "--data", str(es_data), "--strategy",
                 "finetune", "--splits", "dev", "-o", str(tmp_path / "ft"), *sum((["--set", o] for o in FAST), [])])
    assert code == 0 and "on dev:\nadded es (finetune)" in capsys.readouterr().out
    report = json.loads((tmp_path / "ft" / "forgetting.json").read_text())
    dev = report["splits"]["dev"]
    assert set(dev["old"]) == {"en", "de"} and set(dev["new"]) == {"es"}
    scored = json.loads((tmp_path / "ft" / "eval_old_before_dev.json").read_text())  # the base, on the dev split
    assert scored["split"] == "dev" and dev["old"]["en"]["before"] == scored["per"]["en"]["rate"]
    assert dev["old"]["en"]["before"] != report["old"]["en"]["before"]  # not test's figure under another name


def test_bad_input_is_named(base, es_data, tmp_path, capsys):
    with pytest.raises(LanguageError, match="already has a head for 'en'.*--replace-head"):
        add_language(base, "en", es_data, "finetune", tmp_path / "x", overrides=FAST, progress=False)
    with pytest.raises(RecipeError, match="does not exist"):
        add_language(base, "es", tmp_path / "missing.yaml", "finetune", tmp_path / "x", progress=False)
    with pytest.raises(RecipeError, match="unknown 'bogus'"):
        add_language(base, "es", es_data, "bogus", tmp_path / "x", progress=False)
    with pytest.raises(LanguageError, match="unknown language"):
        add_language(base, "xx", es_data, "finetune", tmp_path / "x", progress=False)
    not_a_model = tmp_path / "evil.safetensors"
    not_a_model.write_bytes(b"\x80\x04not a model")
    assert main(["add-language", "--model", str(not_a_model), "--lang", "es", "--data", str(es_data)]) == 2
    assert "evil" in capsys.readouterr().err


def test_new_head_rows_start_from_the_source_and_kept_heads_freeze(base):
    source = load_model(base)
    inventories = {**source.inventories, "es": Inventory.from_transcripts(["a b | o s", "p e ɾ o"])}
    model = build_acoustic_model(source.config, inventories)
    start_heads(model, source, init_new=True, kept=["en", "de"])
    es = model.heads.heads["es"]
    for symbol in ["<blank>", "|", "a"]:
        owner = next(lang for lang in source.languages if symbol in source.inventories[lang])
        src = source.heads.heads[owner]
        i, j = inventories["es"].index[symbol], source.inventories[owner].index[symbol]
        assert torch.equal(es.weight[i], src.weight[j]) and torch.equal(es.bias[i], src.bias[j])
    assert all(not p.requires_grad for lang in ["en", "de"] for p in model.heads.heads[lang].parameters())
    assert all(p.requires_grad for p in es.parameters())


def test_first_minutes_keeps_each_languages_first_audio():
    from speechtl.data.dataset import Utterance

    utts = [Utterance(f"{lang}{i}", lang, "s", torch.zeros(3000, 2), "a", "a", "f")
            for lang in ["en", "de"] for i in range(5)]  # 30 s each
    kept = first_minutes(utts, 1.0, frames_per_second=100)
    assert [u.id for u in kept] == ["en0", "en1", "de0", "de1"]


def test_forgetting_report_table():
    report = forgetting_report({"en": 0.10, "de": 0.20}, {"en": 0.11, "de": 0.19}, {"sv": 0.3}, "finetune", "sv")
    assert report["mean_change"] == pytest.approx(0.0)
    assert report["max_change"] == pytest.approx(0.01)
    assert "+1.00" in report["table"] and "-1.00" in report["table"]


def test_a_head_whose_inventory_the_new_data_outgrows_is_rebuilt_with_a_named_warning(base, caplog):
    source = load_model(base)
    grown = Inventory.from_transcripts([" ".join(source.inventories["en"].phonemes + ["ʘ"])])
    model = build_acoustic_model(source.config, {"en": grown})
    with caplog.at_level("WARNING"):
        start_heads(model, source, init_new=True, kept=[])
    assert "ʘ" in caplog.text and "rebuilt" in caplog.text
    symbol = next(p for p in source.inventories["en"].phonemes if p not in source.inventories["de"])
    assert torch.equal(model.heads.heads["en"].weight[grown.index[symbol]],
                       source.heads.heads["en"].weight[source.inventories["en"].index[symbol]])


def test_add_language_from_lhotse_manifests(base, tiny_corpus, tmp_path):
    manifests = Path(tiny_corpus.root) / "manifests"
    result = add_language(base, "es", manifests / "synth_es_recordings_train.jsonl.gz", "finetune", tmp_path / "lh",
                          test_data=manifests / "synth_es_recordings_test.jsonl.gz", overrides=FAST, progress=False)
    report = result.report
    assert set(report["new"]) == {"es"} and set(report["old"]) == {"en", "de"}
    assert sorted(load_model(result.exp_dir / "model").languages) == ["de", "en", "es"]


def test_replay_trains_on_the_base_audio_and_keeps_its_heads_frozen(base, es_data, tmp_path):
    """``--replay-minutes``: the base's own training audio (en, de) trains beside the new language."""
    from speechtl.data.training_cuts import TrainingCuts

    result = add_language(base, "es", es_data, "conservative", tmp_path / "replay", overrides=FAST,
                          replay_minutes=0.2, progress=False)
    cuts = TrainingCuts.read(result.exp_dir / "data")
    assert cuts.labels["language"] == ["de", "en", "es"]
    assert result.report["replay_minutes"] == pytest.approx(0.2)
    old, new = load_model(base), load_model(result.exp_dir / "model")
    assert sorted(new.languages) == ["de", "en", "es"]
    for name, tensor in heads_of(old, ["en", "de"]).items():  # trained on, yet bit-identical
        assert torch.equal(new.state_dict()[name], tensor), name
    for name in ("frontend.normalizer.mean", "frontend.normalizer.std"):  # the base's CMVN, not refitted
        assert torch.equal(new.state_dict()[name], old.state_dict()[name]), name
    plain = add_language(base, "es", es_data, "conservative", tmp_path / "plain", overrides=FAST,
                         replay_minutes=0, progress=False)
    assert TrainingCuts.read(plain.exp_dir / "data").labels["language"] == ["es"]


def test_replay_bad_settings_are_named(base, es_data, tiny_recipe, tmp_path):
    with pytest.raises(RecipeError, match="--replay-minutes"):
        add_language(base, "es", es_data, "conservative", tmp_path / "neg", replay_minutes=-1, progress=False)
    with pytest.raises(RecipeError, match="transfer.replay.languages: fr not among"):
        add_language(base, "es", es_data, "conservative", tmp_path / "fr", progress=False,
                     overrides=FAST + ["transfer.replay.languages=[fr]"])
    tiny_recipe.transfer.replay.minutes = 1.0
    with pytest.raises(RecipeError, match="transfer.replay.minutes.*needs a source model"):
        tiny_recipe.transfer.validate()


def test_replacing_a_head_leaves_it_out_of_kl_and_reads_the_data_recipes_decode(base, tiny_corpus, tmp_path):
    data = tmp_path / "en.yaml"
    data.write_text(yaml.safe_dump({"data": {**to_dict(tiny_corpus), "languages": ["en"]},
                                    "decode": {"isolated": True, "words": ["one", "two"]}}))
    result = add_language(base, "en", data, "conservative", tmp_path / "en", overrides=FAST, replace_head=True,
                          replay_minutes=0, progress=False)
    recipe = load_model_recipe(result.exp_dir / "model")
    assert recipe.transfer.kl.exclude == ["en"]
    assert recipe.decode.isolated and recipe.decode.words == ["one", "two"]


def test_the_cli_strategies_are_the_speech_tasks_strategies():
    # the CLI lists them without importing torch; the speech task holds their settings
    from speechtl.tasks.speech.add_language import STRATEGY_SETTINGS
    from speechtl.workflows.add_language_options import STRATEGIES

    assert tuple(STRATEGY_SETTINGS) == STRATEGIES


def one_word_manifests(root: Path, folder: Path) -> tuple[Path, Path]:
    """Lhotse manifests of one-word recordings (an FSDD-layout folder): one speaker's for training, another's for test."""
    from speechtl.data.fsdd import load_fsdd

    paths = []
    for split, speaker in (("train", FAKE_FSDD_SPEAKERS[0]), ("test", FAKE_FSDD_SPEAKERS[1])):
        recordings, supervisions, _ = load_fsdd(root, [speaker])
        recordings.to_file(folder / f"fsdd_recordings_{split}.jsonl.gz")
        supervisions.to_file(folder / f"fsdd_supervisions_{split}.jsonl.gz")
        paths.append(folder / f"fsdd_recordings_{split}.jsonl.gz")
    return paths[0], paths[1]


def test_isolated_from_a_manifest_of_one_word_recordings_reports_words_and_forgetting(base, fake_fsdd, tmp_path,
                                                                                        capsys):
    """The user path of issue 26: ``add-language`` from a Lhotse manifest with ``--isolated``."""
    train_manifest, test_manifest = one_word_manifests(fake_fsdd, tmp_path)
    code = main(["add-language", "--model", str(base), "--lang", "en", "--replace-head", "--isolated",
                 "--data", str(train_manifest), "--test-data", str(test_manifest), "--replay-minutes", "0",
                 "-o", str(tmp_path / "digits"), *sum((["--set", o] for o in FAST), [])])
    assert code == 0
    out = capsys.readouterr().out
    assert "each of its 6 test recordings decoded alone (the best word of 3): word accuracy" in out
    assert "de " in out and "mean" in out  # the forgetting table: the old language before and after
    report = json.loads((tmp_path / "digits" / "forgetting.json").read_text())
    assert report["new_words"]["recordings"] == 6 and 0 <= report["new_words"]["accuracy"] <= 1
    assert set(report["old"]) == {"de"} and report["old"]["de"]["change"] is not None
    recipe = load_model_recipe(tmp_path / "digits" / "model")
    assert recipe.decode.isolated
    assert recipe.decode.words == ["four", "one", "seven"]


def test_isolated_refuses_a_transcript_of_several_words(base, fake_fsdd, tmp_path):
    from lhotse import SupervisionSet
    from lhotse.utils import fastcopy

    train_manifest, _ = one_word_manifests(fake_fsdd, tmp_path)
    sibling = tmp_path / "fsdd_supervisions_train.jsonl.gz"
    sups = list(SupervisionSet.from_file(sibling))
    sups[0] = fastcopy(sups[0], text="turn on")
    SupervisionSet.from_segments(sups).to_file(sibling)
    with pytest.raises(RecipeError, match=f"--isolated: .*{sups[0].id}'s transcript 'turn on' has 2 words"):
        add_language(base, "en", train_manifest, "conservative", tmp_path / "x", replace_head=True, isolated=True,
                     overrides=FAST, progress=False)
