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

    from speechtl.workflows import add_language

    selection = json.loads((BENCHMARKS / "results" / "add_language_dev.json").read_text())["dev_selection"]
    assert selection["split"] == "dev"
    chosen = selection["chosen"]
    assert chosen == _load("add_language").choose_on_dev(selection["candidates"], selection["max_forgetting"])
    assert (add_language.CONSERVATIVE_KL, add_language.CONSERVATIVE_L2SP) == (chosen["kl"], chosen["l2sp"])
    shipped = add_language.STRATEGY_SETTINGS["conservative"]
    assert f"transfer.kl.weight={chosen['kl']:g}" in shipped and f"transfer.l2sp.weight={chosen['l2sp']:g}" in shipped


def _speakers_main_reads(bench, monkeypatch, argv: list[str], runner: str) -> list[tuple[list[str], list[str]]]:
    """The (training, scored) speakers of every run a benchmark's ``main(argv)`` starts, with the
    run function ``runner`` (and anything that trains or writes) replaced by a recorder."""
    calls = []

    def record(name, source_or_recipe, overrides, train_spk, test_spk, exp):
        calls.append((list(train_spk), list(test_spk)))
        return {"word_accuracy": 50.0, "train_seconds": 1.0}

    monkeypatch.setattr(bench, runner, record)
    monkeypatch.setattr(bench, "write_result", lambda name, report: Path(name))
    monkeypatch.setattr(bench, "machine", lambda: {})
    bench.main(argv)
    return calls


def test_fsdd_supervised_check_is_plain_supervised_and_selects_without_the_test_pairs(monkeypatch):
    import yaml

    bench = _load("fsdd_supervised")
    recipe = yaml.safe_load((BENCHMARKS.parent / bench.RECIPE).read_text())
    assert not recipe.get("transfer", {}).get("methods")  # no transfer method in the supervised recipe
    synth_recipe, synth = bench.RUNS["recipe + synthetic words"]
    assert {"transfer.methods=[]", "transfer.self_training.rounds=0", "data.target.labelled=true"} <= set(synth)
    # the speakers the settings studies (--select, --norm) actually train on and score, as main() runs them
    for argv in (["--select"], ["--norm", "--seeds", "0"]):
        calls = _speakers_main_reads(bench, monkeypatch, argv, "run_one")
        assert calls and all(c == (bench.SELECT_TRAIN, bench.SELECT_DEV) for c in calls), argv
        read = {s for train, dev in calls for s in train + dev}
        # never rotation 1's test pair ...
        assert not read & set(bench.PAIRS[0])
        # ... but not nested either: rotations 2 and 3 test on speakers the study read, so only rotation 1
        # is free of the selection (the results documents say so beside those rotations' figures)
        assert bench.rotations_free_of(sorted(read)) == bench.FREE_OF_SELECTION == [1]
    # train and dev take disjoint recordings of the same speakers
    parts = bench.parts(bench.SELECT_TRAIN, bench.SELECT_DEV)
    assert "index: [5, 50]" in parts and "index: [0, 5]" in parts


def test_fsdd_few_labels_arms_differ_only_in_the_method_and_select_without_their_test_pair(monkeypatch):
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
    absent = "no_such_raw_output_for_the_test"  # main() keeps the runs of an existing raw output
    # the rotations as main() runs them: labelled speakers never include the rotation's test pair
    calls = _speakers_main_reads(bench, monkeypatch, ["--sizes", "1", "2", "--out", absent], "arm")
    assert len(calls) == 2 * 3 * len(bench.METHODS)
    assert all(not set(train) & set(test) for train, test in calls)
    assert {tuple(test) for _, test in calls} == {tuple(p) for p in bench.PAIRS}
    # the settings study as main() runs it: never rotation 1's test pair, but not nested: rotation 2 tests
    # the speaker it trained and rotation 3 its dev pair, so only rotation 1 is free of the selection
    calls = _speakers_main_reads(bench, monkeypatch, ["--select", "--out", absent], "arm")
    assert calls and all(c == tuple(bench.selection_speakers()) for c in calls)
    read = {s for train, dev in calls for s in train + dev}
    assert not read & set(bench.PAIRS[0])
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
