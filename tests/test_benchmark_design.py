"""The comparisons behind the results compare runs that differ only in the method, and choose settings on dev.

Checked on what was run (the raw outputs in ``benchmarks/results/`` record each arm's overrides and
speakers) and on the study files that express the same comparisons, never by importing a benchmark:
``tests/`` and ``benchmarks/`` do not import each other.
"""

import ast
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "benchmarks" / "results"


def _raw(name: str) -> dict:
    return json.loads((RAW / f"{name}.json").read_text())


def _study(name: str):
    from speechtl.workflows.study_file import load_study

    return load_study(ROOT / "studies" / f"{name}.yaml")


def test_channel_dann_baselines_see_the_same_batches():
    # source-only differs from DANN only in the domain loss: the target audio stays in its batches
    # (same data order, same normalisation statistics)
    expected = {"source-only": ["transfer.methods=[]"], "dann": [],
                "upper-bound": ["transfer.methods=[]", "data.target.labelled=true"]}
    for name in ("dann-channel", "dann-channel-snr20", "dann-speaker"):
        assert _study(name).arms == expected
    # what was run behind the channel-DANN goal: the study's recorded arms and every cell finished
    summary = json.loads((ROOT / "studies" / "results" / "dann-channel" / "summary.json").read_text())
    assert summary["arms"] == expected and summary["cells"]["ok"] == summary["cells"]["planned"] == 9


def test_image_studies_compare_runs_that_differ_only_in_the_method_and_choose_k_on_dev():
    dann = _study("image-dann").arms  # source-only keeps the target images in its batches, domain loss off
    assert dann["source-only"] == ["transfer.methods=[]"] and dann["dann"] == []
    for shots in ("5shot", "20shot"):
        study = _study(f"image-finetune-{shots}")
        # every arm starts from the study's own source model of its seed (scratch clears it), same labelled images
        assert study.set[0] == "transfer.source={prepare.source}" and set(study.prepare) == {"source"}
        assert study.arms["scratch"] == ["transfer.source=''"] and study.arms["fine-tune"] == []
        choice = study.select["layer-transfer"]
        assert (choice.split, choice.criterion, list(choice.grid)) == ("dev", "acc_digits", ["transfer.layers.blocks"])
        summary = json.loads((ROOT / "studies" / "results" / study.name / "summary.json").read_text())
        assert summary["selection"]["layer-transfer"]["all"]["split"] == "dev"  # what was run chose on dev too


def test_fsdd_ceiling_is_plain_supervised():
    arms = _study("fsdd-dann").arms
    assert {"transfer.methods=[]", "data.target.labelled=true"} <= set(arms["target-labels"])
    assert arms["source-only"][0] == "transfer.methods=[]" and arms["dann+st"] == []


def test_add_language_ships_the_conservative_weights_chosen_on_dev():
    from speechtl.tasks.speech import add_language

    selection = _raw("add_language_dev")["dev_selection"]
    assert selection["split"] == "dev"
    # the rule: the best new-language dev PER among the weights that forget at most the bound on dev;
    # when none stays within it (as here), the weights that forget least
    candidates = selection["candidates"]
    within = [c for c in candidates if c["old_dev_change"] <= selection["max_forgetting"]]
    best = min(within, key=lambda c: c["new_dev_per"]) if within else min(candidates, key=lambda c: c["old_dev_change"])
    assert selection["chosen"] == best
    chosen = selection["chosen"]
    assert (add_language.CONSERVATIVE_KL, add_language.CONSERVATIVE_L2SP) == (chosen["kl"], chosen["l2sp"])
    shipped = add_language.STRATEGY_SETTINGS["conservative"]
    assert f"transfer.kl.weight={chosen['kl']:g}" in shipped and f"transfer.l2sp.weight={chosen['l2sp']:g}" in shipped


def test_fsdd_selection_studies_read_no_test_speaker_of_rotation_1_only():
    # the settings studies measured so far read speakers that rotations 2 and 3 test on: only rotation 1
    # is free of the selection (the results documents say so beside those rotations' figures)
    tests = [r["test_speakers"] for r in _raw("fsdd_supervised")["rotations"]]
    supervised = set()
    for name in ("fsdd_supervised_select", "fsdd_normalisation"):
        study = _raw(name)
        runs = [r for v in study["variants"].values() for r in v.get("runs", [v])]  # one run, or one per seed
        supervised |= {s for r in runs for s in r["train_speakers"] + r["test_speakers"]}
    assert [k for k, t in enumerate(tests, 1) if not set(t) & supervised] == [1]


def _roles(overrides: list[str], key: str = "data.parts") -> dict[str, set[str]]:
    """``{split: speakers}`` of a rotation's ``data.parts`` (or another parts key's) override."""
    import yaml

    parts = next(o for o in overrides if o.startswith(f"{key}="))
    return {p["split"]: set(p["speakers"]) for p in yaml.safe_load(parts.split("=", 1)[1])}


def test_fsdd_few_labels_studies_choose_inside_each_rotation_and_differ_only_in_the_method():
    one, two = _study("fsdd-few-labels"), _study("fsdd-few-labels-2")
    shared = ("data.", "features.", "model.", "train.", "specaugment.")
    for study, labelled in ((one, 1), (two, 2)):
        assert not any(o.startswith(shared) for v in study.arms.values() for o in v)  # arms: only transfer.*
        assert study.arms["scratch"] == ["transfer.source="] and study.arms["fine-tune"] == []
        assert {sel.split for sel in study.select.values()} == {"dev"}
        devs = []
        for rotation in study.rotations.values():  # nested: the dev pair is neither labelled nor tested
            roles = _roles(rotation)
            assert len(roles["train"]) == labelled and len(roles["test"]) == len(roles["dev"]) == 2
            assert not roles["train"] & roles["test"] and not roles["dev"] & (roles["train"] | roles["test"])
            devs.append(roles["dev"])
        assert all(a != b for a, b in zip(devs, devs[1:]))  # each rotation chooses on its own pair
    # the two sizes: the same rotations' test and dev pairs, arms and grids; the one speaker is among the two
    assert one.arms == two.arms and one.select == two.select
    for a, b in zip(one.rotations.values(), two.rotations.values()):
        ra, rb = _roles(a), _roles(b)
        assert (ra["test"], ra["dev"]) == (rb["test"], rb["dev"]) and ra["train"] < rb["train"]


def test_real_recordings_before_and_after_differ_only_in_the_fix():
    variants = _raw("add_language_real")["variants"]
    before, after = variants["before"], variants["after"]
    assert before["replay_minutes"] == 0 and after["replay_minutes"] > 0 and after["overrides"] == []
    # the pre-fix behaviour: KL on every head, the sentence beam search with the same word list
    assert sorted(o.split("=")[0] for o in before["overrides"]) == ["decode.isolated", "decode.words",
                                                                    "transfer.kl.exclude"]
    # the diagnosis: each row after the first changes one thing (then both), all on seed 0 and dev
    diagnosis = _raw("add_language_real_diagnosis")
    assert diagnosis["split"] == "dev" and diagnosis["seed"] == 0
    first, excl, replay = diagnosis["runs"][:3]
    assert first["strategy"] == "conservative" and first["replay_minutes"] == 0
    assert first["overrides"] == ["transfer.kl.exclude=[]"]
    assert excl["replay_minutes"] == 0 and excl["overrides"] == []
    assert replay["replay_minutes"] > 0 and replay["overrides"] == first["overrides"]


def test_fsdd_randomised_ablation_removes_one_group_and_nothing_else():
    channels = _raw("fsdd_randomised_ablation")["rotations"][0]["channels"]
    full = channels["all"][0].split("+")
    assert channels["all"][0] == channels["all"][1] and channels["none"] == []
    for group, kept in channels.items():
        if group.startswith("-"):
            stages = kept[0].split("+")
            assert stages == [s for s in full if s in stages] and len(stages) < len(full), group


def _imports(path: Path) -> set[str]:
    """The top-level names of the modules ``path`` imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_benchmarks_scripts_and_tests_neither_import_each_other_nor_edit_sys_path():
    local = {p.stem for p in (ROOT / "tests").glob("*.py")}
    for folder, foreign in (("benchmarks", {"tests"} | local), ("scripts", {"tests"} | local),
                            ("tests", {"benchmarks"})):
        for path in (ROOT / folder).rglob("*.py"):
            assert not _imports(path) & foreign, path
            if path.name != Path(__file__).name:
                assert "sys.path." not in path.read_text(), path


def test_add_language_fsdd_chose_on_dev_and_rotated_every_speaker_through_test_train_and_dev():
    folder, select = ROOT / "studies" / "results" / "add-language-fsdd", _study("add-language-fsdd").select
    summary, rule = json.loads((folder / "summary.json").read_text()), select["conservative"]
    assert rule.split == "dev" and rule.constraint.at_most
    roles = []
    for rotation in summary["rotations"]:
        cells = [json.loads(p.read_text()) for p in sorted((folder / "cells").glob(f"*/{rotation}/**/*.json"))]
        parts = {o for c in cells for o in c["overrides"] if o.startswith("data.parts=")}
        assert len(parts) == 1, rotation  # both arms and every grid point on the same speakers
        roles.append({p["split"]: p["speakers"] for p in yaml.safe_load(parts.pop().split("=", 1)[1])})
        grid = [c for c in cells if c["arm"] == "conservative" and c["status"] == "ok"]
        assert [c["point"] for c in grid] == rule.grid, rotation  # every point ran in every rotation
        within = [c for c in grid if c["metrics"]["dev"][rule.constraint.metric] <= rule.constraint.bound]
        best = max(within, key=lambda c: c["metrics"]["dev"][rule.criterion])  # the first of equals, as the study
        assert summary["selection"]["conservative"][rotation]["chosen"] == best["point_name"], rotation
    for role in ("test", "train", "dev"):  # each FSDD speaker once in each role
        names = [s for r in roles for s in r[role]]
        assert len(names) == len(set(names)), role
    assert all(not set(r["test"]) & set(r["train"] + r["dev"]) for r in roles)


def test_shipped_voices_arms_add_only_the_synthetic_words_to_the_level_arm():
    # voices = level + a labelled synthetic second domain (data.target.*, data.synth.*), nothing else; the
    # learning-curve study trains exactly the one-speaker study's voices set-up on 2 and 3 speakers
    for name in ("fsdd-one-speaker-shipped", "fsdd-supervised-shipped"):
        study = _study(name)
        level, voices = study.arms["level"], study.arms["voices"]
        assert voices[:len(level)] == level
        assert all(o.startswith(("data.target.", "data.synth.")) for o in voices[len(level):])
    one, curve = _study("fsdd-one-speaker-shipped"), _study("fsdd-curve-shipped")
    assert curve.set == one.set and list(curve.arms.values()) == [one.arms["voices"]]
    for name, rotation in curve.rotations.items():  # TESTPAIR-SIZE: SIZE labelled speakers, never the test pair
        roles, size = _roles(rotation), int(name.rsplit("-", 1)[1])
        assert len(roles["train"]) == size and not roles["train"] & roles["test"]
        assert "-".join(sorted(roles["test"])) == name.rsplit("-", 1)[0]


def test_no_label_shipped_studies_adapt_to_the_rotations_other_speakers_never_its_test_pair():
    # no-label study: DANN and self-training read the 4 other speakers' train split; the pair is only tested;
    # the arms differ only in the transfer stages
    study = _study("fsdd-no-label-shipped")
    assert all(o.startswith("transfer.") for v in study.arms.values() for o in v) and study.arms["adapted"] == []
    for name, rotation in study.rotations.items():
        roles = _roles(rotation, "data.target.parts")
        assert "-".join(sorted(roles["test"])) == name and len(roles["train"]) == 4
        assert not roles["train"] & roles["test"]
    # one-speaker study: each rotation's prepared source adapts to that rotation's 4 training speakers' audio
    # (the labelled one among them) and holds nothing of its test pair; the arms differ only in the source
    two = _study("fsdd-one-speaker-adapted")
    prep = two.prepare["adapted"]
    assert prep.steps == "run" and set(prep.rotations) == set(two.rotations)
    assert all(o.startswith("transfer.source=") for v in two.arms.values() for o in v)
    for name, rotation in two.rotations.items():
        cells, target = _roles(rotation), _roles(prep.rotations[name], "data.target.parts")
        assert set(target) == {"train"} and len(target["train"]) == 4 and not target["train"] & cells["test"]
        assert cells["train"] <= target["train"]


def test_adapted_alone_study_scores_the_one_speaker_studys_own_sources_on_its_rotations():
    alone, one = _study("fsdd-one-speaker-adapted-alone"), _study("fsdd-one-speaker-adapted")
    prep, theirs = alone.prepare["adapted"], one.prepare["adapted"]
    assert (prep.recipe, prep.set, prep.rotations, prep.steps, prep.splits) == (
        theirs.recipe, theirs.set, theirs.rotations, theirs.steps, theirs.splits)
    assert str(prep.reuse) == "studies/results/fsdd-one-speaker-adapted" and alone.steps == "eval"
    assert alone.rotations == one.rotations and alone.seeds == one.seeds and alone.recipe == one.recipe
    assert "eval.model={prepare.adapted}" in alone.set


def test_supervised_adapted_study_reuses_the_one_speaker_studys_sources_and_differs_only_in_the_source():
    # the 4 labelled speakers are exactly the ones the prepared source adapted to (unlabelled); the held-out pair
    # is in neither; the prepared entry is the one-speaker study's, so linking its runs is sound
    study, one = _study("fsdd-supervised-adapted"), _study("fsdd-one-speaker-adapted")
    prep, theirs = study.prepare["adapted"], one.prepare["adapted"]
    assert (prep.recipe, prep.set, prep.rotations, prep.steps, prep.splits) == (
        theirs.recipe, theirs.set, theirs.rotations, theirs.steps, theirs.splits)
    assert str(prep.reuse) == "studies/results/fsdd-one-speaker-adapted"
    assert study.arms["adapted-voices"] == [*study.arms["voices"], "transfer.source={prepare.adapted}"]
    for name, rotation in study.rotations.items():
        cells, target = _roles(rotation), _roles(prep.rotations[name], "data.target.parts")
        assert cells["train"] == target["train"] and not target["train"] & cells["test"]
        assert "-".join(sorted(cells["test"])) == name
