"""The benchmarks compare runs that differ only in the method, and choose settings on dev."""

import importlib.util
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import their helpers as `common`
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_channel_dann_baselines_see_the_same_batches():
    variants = _load("dann_speech").VARIANTS
    # source-only differs from DANN only in the domain loss: the target audio stays in its batches
    # (same data order, same normalisation statistics)
    assert variants["source-only"] == ["transfer.methods=[]"] and variants["dann"] == []
    assert variants["upper-bound"] == ["transfer.methods=[]", "data.target.labelled=true"]
    assert not any(o.startswith("data.target.corpus") for v in variants.values() for o in v)


def test_fsdd_ceiling_is_plain_supervised():
    runs = _load("fsdd_dann").RUNS
    assert "transfer.methods=[]" in runs["target-labels"] and "data.target.labelled=true" in runs["target-labels"]
    assert runs["source-only"][0] == "transfer.methods=[]"


def test_conservative_weights_are_chosen_on_dev_within_the_forgetting_bound():
    choose = _load("add_language").choose_on_dev
    grid = [{"kl": 1, "new_dev_per": 0.17, "old_dev_change": 0.04},
            {"kl": 30, "new_dev_per": 0.19, "old_dev_change": 0.009},
            {"kl": 100, "new_dev_per": 0.195, "old_dev_change": 0.007}]
    assert choose(grid, 0.01)["kl"] == 30  # best new-language PER that forgets at most +1.0 on dev
    assert choose(grid, 0.05)["kl"] == 1
    assert choose(grid, 0.001)["kl"] == 100  # none within the bound: the one that forgets least


def test_add_language_ships_the_conservative_weights_chosen_on_dev():
    import json

    from speechtl.tasks.speech import add_language

    selection = json.loads((BENCHMARKS / "results" / "add_language_dev.json").read_text())["dev_selection"]
    assert selection["split"] == "dev"
    chosen = selection["chosen"]
    assert chosen == _load("add_language").choose_on_dev(selection["candidates"], selection["max_forgetting"])
    assert (add_language.CONSERVATIVE_KL, add_language.CONSERVATIVE_L2SP) == (chosen["kl"], chosen["l2sp"])
    shipped = add_language.STRATEGY_SETTINGS["conservative"]
    assert f"transfer.kl.weight={chosen['kl']:g}" in shipped and f"transfer.l2sp.weight={chosen['l2sp']:g}" in shipped


def _speakers_main_reads(bench, monkeypatch, argv: list[str], runner: str,
                         written: list[str] | None = None) -> list[tuple[list[str], list[str]]]:
    """The (training, scored) speakers of every run a benchmark's ``main(argv)`` starts, with the
    run function ``runner`` (and anything that trains or writes) replaced by a recorder; the names of
    the raw outputs it would write go to ``written``."""
    calls, written = [], [] if written is None else written

    def record(name, source_or_recipe, overrides, train_spk, test_spk, exp):
        calls.append((list(train_spk), list(test_spk)))
        return {"word_accuracy": 50.0, "train_seconds": 1.0}

    monkeypatch.setattr(bench, runner, record)
    monkeypatch.setattr(bench, "write_result", lambda name, report: written.append(name) or Path(name))
    monkeypatch.setattr(bench, "machine", lambda: {})
    bench.main(argv)
    return calls


def _raw(name: str) -> dict:
    import json

    return json.loads((BENCHMARKS / "results" / f"{name}.json").read_text())


def test_fsdd_supervised_check_is_plain_supervised_and_selects_without_the_test_pairs(monkeypatch):
    import yaml

    bench = _load("fsdd_supervised")
    recipe = yaml.safe_load((BENCHMARKS.parent / bench.RECIPE).read_text())
    assert not recipe.get("transfer", {}).get("methods")  # no transfer method in the supervised recipe
    synth_recipe, synth = bench.RUNS["recipe + synthetic words"]
    assert {"transfer.methods=[]", "transfer.self_training.rounds=0", "data.target.labelled=true"} <= set(synth)
    # the speakers the settings studies (--select, --norm) actually train on and score, as main() runs them
    for study, out in ((["--select"], "fsdd_supervised_select"), (["--norm", "--seeds", "0"], "fsdd_normalisation")):
        for k in (1, 2, 3):  # nested: rotation k's study reads only rotation k's training speakers
            written = []
            argv = [*study, "--rotation", str(k)]
            calls = _speakers_main_reads(bench, monkeypatch, argv, "run_one", written)
            assert calls and all(c == bench.selection_speakers(k) for c in calls), argv
            assert not {s for train, dev in calls for s in train + dev} & set(bench.PAIRS[k - 1]), argv
            assert set(written) == {out if k == 1 else f"{out}_rotation{k}"}  # rotation 1's outputs stay apart
        # the studies measured so far: rotation 1's (the raw outputs' dev speaker), used in every rotation;
        # rotations 2 and 3 test on speakers they read, so only rotation 1 is free of the selection (the
        # results documents say so beside those rotations' figures)
        calls = _speakers_main_reads(bench, monkeypatch, study, "run_one")
        read = {s for train, dev in calls for s in train + dev}
        assert _raw(out)["dev_speaker"] == bench.selection_speakers(1)[1]
        assert bench.rotations_free_of(sorted(read)) == bench.FREE_OF_SELECTION == [1]
    # train and dev take disjoint recordings of the same speakers
    parts = bench.parts(*bench.selection_speakers(1))
    assert "index: [5, 50]" in parts and "index: [0, 5]" in parts


def test_fsdd_few_labels_arms_differ_only_in_the_method_and_select_without_their_test_pair(monkeypatch, tmp_path):
    import yaml

    bench = _load("fsdd_few_labels")
    recipe = yaml.safe_load((BENCHMARKS.parent / bench.FEW_RECIPE).read_text())
    assert recipe["transfer"]["source"] and not recipe["transfer"].get("methods")  # the recipe fine-tunes
    # no arm changes the data, the steps, the learning rate or the front end
    shared = ("data.", "features.", "model.", "train.", "specaugment.")
    assert not any(o.startswith(shared) for v in bench.METHODS.values() for o in v)
    assert bench.METHODS["scratch"] == ["transfer.source="] and bench.METHODS["fine-tune"] == []
    # the synthetic model hears no FSDD audio
    assert "data.target.corpus=" in bench.SYNTHETIC and "transfer.methods=[]" in bench.SYNTHETIC
    monkeypatch.setattr(bench, "synthetic_model", lambda root, overrides: (root / "synthetic", 0.0))
    monkeypatch.setattr(bench, "score_synthetic", lambda *a: {"word_accuracy": 40.0})
    monkeypatch.setattr(bench, "REPO", tmp_path)  # no raw output yet: main() keeps the runs of an existing one
    # the rotations as main() runs them: labelled speakers never include the rotation's test pair
    calls = _speakers_main_reads(bench, monkeypatch, ["--sizes", "1", "2"], "arm")
    assert len(calls) == 2 * 3 * len(bench.METHODS)
    assert all(not set(train) & set(test) for train, test in calls)
    assert {tuple(test) for _, test in calls} == {tuple(p) for p in bench.PAIRS}
    for k in (1, 2, 3):  # nested: rotation k's study reads neither rotation k's test pair
        written = []
        calls = _speakers_main_reads(bench, monkeypatch, ["--select", "--rotation", str(k)], "arm", written)
        assert calls and all(c == tuple(bench.selection_speakers(k)) for c in calls)
        read = {s for train, dev in calls for s in train + dev}
        assert not read & set(bench.PAIRS[k - 1]) and len(read) == 3
        assert set(written) == {"fsdd_few_labels_select" + ("" if k == 1 else f"_rotation{k}")}
    # the study measured so far is rotation 1's (its raw output's speakers), used in every rotation: rotation 2
    # tests the speaker it trained and rotation 3 its dev pair, so only rotation 1 is free of the selection
    measured = _raw("fsdd_few_labels_select")
    assert (measured["train_speakers"], measured["dev_speakers"]) == bench.selection_speakers(1)
    read = set(measured["train_speakers"] + measured["dev_speakers"])
    assert [k for k, p in enumerate(bench.PAIRS, 1) if not set(p) & read] == bench.FREE_OF_SELECTION == [1]


def test_fsdd_dann_writes_its_raw_output_and_no_prose(monkeypatch, tmp_path):
    import argparse

    bench = _load("fsdd_dann")
    written = {}
    monkeypatch.setattr(bench, "REPO", tmp_path)
    monkeypatch.setattr(bench, "write_result", lambda name, report: written.setdefault(name, report) and tmp_path / name)
    rotation = {"pair": 1, "test_speakers": ["george", "jackson"],
                "methods": {m: {"word_accuracy": 40.0 + i} for i, m in enumerate(bench.METHODS)}}
    bench.save({"rotations": [rotation]}, argparse.Namespace(peer=False, out="fsdd_dann_test"), 0.0)
    assert written["fsdd_dann_test"]["summary"]["dann"]["mean"] == 41.0
    assert not any(tmp_path.rglob("*.md"))  # no results document (its prose is hand-written, its tables generated)
    assert not hasattr(bench, "DEVELOPMENT") and not hasattr(bench, "markdown")


def test_real_recordings_before_and_after_differ_only_in_the_fix():
    bench = _load("add_language_real")
    before, after = bench.VARIANTS["before"], bench.VARIANTS["after"]
    assert before["replay"] == 0 and after["replay"] > 0 and after["overrides"] == []
    # the pre-fix behaviour: KL on every head, the sentence beam search with the same word list
    assert sorted(o.split("=")[0] for o in before["overrides"]) == ["decode.isolated", "decode.words",
                                                                    "transfer.kl.exclude"]
    # the diagnosis: each row after the first changes one thing (then both), all on seed 0 and dev
    first = bench.DIAGNOSIS[0]
    assert first[2] == "conservative" and first[3] == 0 and first[4] == ["transfer.kl.exclude=[]"]
    excl, replay = bench.DIAGNOSIS[1], bench.DIAGNOSIS[2]
    assert excl[3] == 0 and excl[4] == [] and replay[3] > 0 and replay[4] == first[4]


def test_fsdd_randomised_runs_differ_only_in_the_method_and_the_ablation_removes_one_group():
    bench = _load("fsdd_randomised")
    assert bench.RUNS["dann+st"] == [] and bench.RUNS["source-only"][0] == "transfer.methods=[]"
    assert not any("labelled" in o for v in bench.RUNS.values() for o in v)  # no real label in any run
    channels = bench.recipe_channels(bench.RECIPE)
    assert len(channels) == 2 and channels[0] == channels[1]
    for group, stages in bench.GROUPS.items():
        kept = bench.without(channels[0], stages)
        names = [s.split(":")[0].split("@")[0] for s in kept.split("+")]
        assert not set(stages) & set(names)  # the group is gone
        assert len(names) == len(channels[0].split("+")) - len(stages)  # and nothing else
    assert bench.augment_override(["eq:15", "noise:15,40,any@0.4"]) == 'data.augment=["eq:15", "noise:15,40,any@0.4"]'


def test_add_language_fsdd_chooses_on_dev_and_rotates_every_speaker_through_test_train_and_dev():
    bench = _load("add_language_fsdd")
    for role in ("test", "train", "dev"):  # each FSDD speaker once in each role
        names = [s for r in bench.ROTATIONS for s in r[role]]
        assert len(names) == len(set(names))
    assert all(not set(r["test"]) & set(r["train"] + r["dev"]) for r in bench.ROTATIONS)

    def run(name, dev, dev_change, test):
        return {"config": name, "dev": {"words": {"accuracy": dev}, "old_mean_change": dev_change},
                "test": {"words": {"accuracy": test}}}
    # the test figures never decide; a config forgetting more than +1.0 on dev is never chosen over one within it
    assert bench.choose([run("a", 0.6, 0.005, 0.9), run("b", 0.7, 0.005, 0.2)])["config"] == "b"
    assert bench.choose([run("a", 0.6, 0.005, 0.2), run("b", 0.9, 0.02, 0.9)])["config"] == "a"
    assert bench.choose([run("a", 0.6, 0.03, 0.2), run("b", 0.9, 0.02, 0.9)])["config"] == "b"
    # the configs differ only in the voice augmentation (and the seed, data and decoding are shared)
    assert bench.CONFIGS["defaults"] == [] and bench.CONFIGS["voice augmentation"] == [bench.VOICES]
