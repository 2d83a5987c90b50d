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


def test_fsdd_supervised_check_is_plain_supervised_and_selects_without_the_test_pairs():
    import yaml

    bench = _load("fsdd_supervised")
    recipe = yaml.safe_load((BENCHMARKS.parent / bench.RECIPE).read_text())
    assert not recipe.get("transfer", {}).get("methods")  # no transfer method in the supervised recipe
    synth_recipe, synth = bench.RUNS["recipe + synthetic words"]
    assert {"transfer.methods=[]", "transfer.self_training.rounds=0", "data.target.labelled=true"} <= set(synth)
    # the selection study trains and scores only rotation 1's training speakers, never its test pair
    parts = bench.parts(["lucas", "nicolas", "theo"], ["yweweler"])
    assert "george" not in parts and "jackson" not in parts
    # train and dev take disjoint recordings of the same speakers
    assert "index: [5, 50]" in parts and "index: [0, 5]" in parts


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
