"""wav2vec 2.0-family encoders: torchaudio equivalence, both checkpoint layouts, freezing, layer choice, bad input.

Every checkpoint here is a tiny random-initialised model saved in the layout a user
would bring (nothing is downloaded). The Hugging Face tests need ``transformers``
(the ``dev`` extra) and skip without it.
"""

from __future__ import annotations

import copy
import json

import pytest
import torch

from speechtl.data.config import FeatureConfig
from speechtl.data.features import compute_features, num_frames
from speechtl.errors import CheckpointError, RecipeError
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.config import ModelConfig, SSLConfig
from speechtl.models.io import load_model
from speechtl.models.pretrained import architecture_of_preset, read_pretrained
from speechtl.models.ssl import build_torchaudio_model, build_wav2vec2, from_torchaudio
from speechtl.tasks.speech.model import build_model
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import Inventory
from speechtl.transfer.layer_transfer import decay_scales, param_groups

CONV = [(16, 10, 5)] + [(16, 3, 2)] * 4 + [(16, 2, 2)] * 2  # wav2vec 2.0's strides (20 ms), 16 channels
HOP = 160  # samples per waveform frame: 10 ms at 16 kHz


def tiny(family: str = "wav2vec2", large: bool = False, **ssl) -> ModelConfig:
    """A 2-layer, 32-wide architecture of the family (``large``: pre-norm layers, layer-norm extractor)."""
    return ModelConfig(encoder="wav2vec2", dim=32, layers=2, heads=4, ff_dim=64, dropout=0.0, ssl=SSLConfig(
        family=family, conv_layers=list(CONV), pos_conv_kernel=8, pos_conv_groups=4, layer_norm_first=large,
        extractor_mode="layer_norm" if large else "group_norm", conv_bias=large, attention_dropout=0.0, **ssl))


def waveform_recipe(corpus, exp, model: ModelConfig, steps: int = 4) -> Recipe:
    recipe = Recipe(name="ssl-test", data=copy.deepcopy(corpus), model=model)
    recipe.features.kind, recipe.features.cmvn = "waveform", "utterance"
    recipe.data.feature_storage = "on_the_fly"
    recipe.train.exp_dir = str(exp)
    recipe.train.max_steps, recipe.train.max_duration, recipe.train.warmup_steps = steps, 20, 1
    recipe.train.lr, recipe.train.num_threads, recipe.train.log_every = 3e-3, 1, 1
    recipe.train.checkpoint_every = 1000
    return recipe


FAMILIES = [("wav2vec2", False), ("wav2vec2", True), ("hubert", False), ("wavlm", False)]


@pytest.mark.parametrize("family,large", FAMILIES)
def test_encoder_equals_torchaudios_model_of_the_same_weights(family, large):
    torch.manual_seed(0)
    arch = tiny(family, large)
    reference = build_torchaudio_model(arch).eval()
    encoder = from_torchaudio(reference, HOP, arch.ssl).eval()
    wave = torch.randn(1, 20 * HOP)
    with torch.no_grad():
        expected, expected_lengths = reference(wave)
        layers, _ = reference.extract_features(wave)
        hidden, lengths = encoder(wave.reshape(1, 20, HOP), torch.tensor([20]))
        states, _ = encoder.hidden_states(wave, torch.tensor([20 * HOP]))
    assert expected_lengths is None and lengths.tolist() == [expected.shape[1]] == [9] and encoder.subsampling == 2
    torch.testing.assert_close(hidden, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(states[1], layers[0], atol=1e-5, rtol=0)  # the first layer's output


def test_layer_norm_extractor_batched_equals_per_item():
    # group-norm extractors (base models) normalise over the padded length too, as in torchaudio and fairseq
    torch.manual_seed(0)
    encoder = build_wav2vec2(HOP, tiny(large=True)).eval()
    x = torch.randn(2, 20, HOP)
    x[1, 15:] = 0
    with torch.no_grad():
        both, lengths = encoder(x, torch.tensor([20, 15]))
        alone, alone_lengths = encoder(x[1:, :15], torch.tensor([15]))
    assert lengths.tolist() == [9, 7] and alone_lengths.tolist() == [7]
    torch.testing.assert_close(both[1, :7], alone[0], atol=1e-5, rtol=1e-5)
    assert both[1, 7:].abs().sum() == 0


def test_output_layer_and_weighted_sum_of_all_layers():
    torch.manual_seed(0)
    arch = tiny()
    one = build_wav2vec2(HOP, dataclasses_replace(arch, output_layer=1)).eval()
    mixed = build_wav2vec2(HOP, dataclasses_replace(arch, weighted_sum=True)).eval()
    mixed.load_state_dict({**one.state_dict(), "layer_weights": torch.tensor([0.5, -1.0, 2.0])})
    x = torch.randn(1, 20, HOP)
    with torch.no_grad():
        states, _ = one.hidden_states(x.reshape(1, -1), torch.tensor([20 * HOP]))
        first, _ = one(x, torch.tensor([20]))
        total, _ = mixed(x, torch.tensor([20]))
    assert len(states) == 3  # the input to layer 1, then each layer's output
    torch.testing.assert_close(first, states[1])
    weights = torch.softmax(torch.tensor([0.5, -1.0, 2.0]), 0)
    torch.testing.assert_close(total, sum(w * s for w, s in zip(weights, states)), atol=1e-6, rtol=1e-5)
    mixed.train()
    out, _ = mixed(x, torch.tensor([20]))
    out.pow(2).mean().backward()
    assert mixed.layer_weights.grad is not None and mixed.layer_weights.grad.abs().sum() > 0
    with pytest.raises(RecipeError, match="output_layer: 3; the encoder has 2 layers"):
        build_wav2vec2(HOP, dataclasses_replace(arch, output_layer=3))


def dataclasses_replace(arch: ModelConfig, **ssl) -> ModelConfig:
    import dataclasses

    return dataclasses.replace(arch, ssl=dataclasses.replace(arch.ssl, **ssl))


def test_waveform_features_are_frames_of_one_hop():
    cfg = FeatureConfig(kind="waveform", cmvn="utterance")
    wave = torch.randn(1234)
    frames = compute_features(wave, 16000, cfg)
    assert frames.shape == (7, HOP) == (num_frames(1234, 16000, cfg), cfg.dim)
    torch.testing.assert_close(frames.flatten(), wave[: 7 * HOP])
    assert num_frames(399, 16000, cfg) == 0  # shorter than one 25 ms frame (wav2vec 2.0's receptive field)
    with pytest.raises(RecipeError, match="features.cmvn: global is for filterbanks"):
        Recipe.from_dict({"features": {"kind": "waveform"}})
    with pytest.raises(RecipeError, match="features.cmvn: sliding is for filterbanks"):
        Recipe.from_dict({"features": {"kind": "waveform", "cmvn": "sliding"}})
    with pytest.raises(RecipeError, match="model.encoder: wav2vec2 reads waveform features; the recipe's "
                                          "features.kind is fbank"):
        build_acoustic_model(AcousticModelConfig(model=tiny()), {"en": Inventory(["a"])})


def test_layerwise_learning_rate_decay():
    model = build_acoustic_model(AcousticModelConfig(features=FeatureConfig(kind="waveform", cmvn="none"),
                                                     model=tiny()), {"en": Inventory(["a", "b"])})
    scales = decay_scales(model, 0.5)
    assert scales["encoder.blocks.1.final_layer_norm.weight"] == 0.5  # the last of 2 layers: d^1
    assert scales["encoder.blocks.0.final_layer_norm.weight"] == 0.25
    assert scales["encoder.frontend.feature_projection.projection.weight"] == 0.125  # front end: d^(L+1)
    assert "heads.heads.en.weight" not in scales and decay_scales(model, 1.0) == {}
    groups = param_groups(model, "", [], 1e-3, scales=scales)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert lr_of[id(model.heads.heads["en"].weight)] == pytest.approx(1e-3)
    assert lr_of[id(model.encoder.blocks[0].final_layer_norm.weight)] == pytest.approx(2.5e-4)


def test_preset_architecture_is_torchaudios():
    arch = architecture_of_preset("wav2vec2_base", ModelConfig(encoder="wav2vec2"))
    assert (arch.dim, arch.layers, arch.heads, arch.ff_dim) == (768, 12, 12, 3072)
    assert arch.ssl.conv_layers[0] == (512, 10, 5) and not arch.ssl.layer_norm_first
    large = architecture_of_preset("wav2vec2_xlsr_300m", ModelConfig(encoder="wav2vec2"))
    assert (large.dim, large.layers, large.ssl.layer_norm_first, large.ssl.extractor_mode) == \
        (1024, 24, True, "layer_norm")
    wavlm = architecture_of_preset("wavlm_base", ModelConfig(encoder="wav2vec2"))
    assert (wavlm.ssl.family, wavlm.ssl.num_buckets) == ("wavlm", 320)


# -- checkpoints on disk ---------------------------------------------------------------------------

def save_torchaudio(path, arch: ModelConfig, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_torchaudio_model(arch)
    torch.save(model.state_dict(), path)
    return model


def test_a_recipe_fine_tunes_a_torchaudio_checkpoint_frozen_parts_stay_bit_identical(tiny_corpus, tmp_path):
    from speechtl.workflows.train import train

    original = save_torchaudio(tmp_path / "wav2vec2.pt", tiny())
    model = tiny(freeze_layers=1, weighted_sum=True)
    model.pretrained = str(tmp_path / "wav2vec2.pt")
    exp = train(waveform_recipe(tiny_corpus, tmp_path / "exp", model, steps=4), progress=False)
    (tmp_path / "wav2vec2.pt").unlink()
    tuned = load_model(exp / "model")  # rebuilt from the stored architecture, without the checkpoint
    reference = dict(original.state_dict())
    names = {"frontend.feature_extractor.conv_layers.0.conv.weight": "feature_extractor.conv_layers.0.conv.weight",
             "frontend.feature_projection.projection.weight": "encoder.feature_projection.projection.weight",
             "blocks.0.attention.q_proj.weight": "encoder.transformer.layers.0.attention.q_proj.weight",
             "blocks.1.attention.q_proj.weight": "encoder.transformer.layers.1.attention.q_proj.weight"}
    state = tuned.encoder.state_dict()
    for ours, theirs in list(names.items())[:3]:  # frozen: the extractor, projection, layer 1
        assert torch.equal(state[ours], reference[theirs]), ours
    assert not torch.equal(state["blocks.1.attention.q_proj.weight"], reference[names["blocks.1.attention.q_proj.weight"]])
    assert not torch.equal(state["layer_weights"], torch.zeros(3))  # the layer weights trained
    log = [json.loads(line) for line in (exp / "train_log.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in log if "loss" in r)


def test_huggingface_directory_without_transformers_layout(tmp_path, tiny_corpus):
    """A Hugging Face directory written by hand (config.json + pytorch_model.bin): read through weights_only."""
    from speechtl.workflows.train import train

    original = save_torchaudio(tmp_path / "ta.pt", tiny())
    hf = {}
    for name, value in original.state_dict().items():
        name = name.replace("encoder.transformer.", "encoder.").replace("encoder.feature_projection.",
                                                                          "feature_projection.")
        name = name.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v")
        hf["wav2vec2." + name] = value
    hf["lm_head.weight"] = torch.zeros(5, 32)  # a *ForCTC checkpoint's head is left out
    folder = tmp_path / "hf"
    folder.mkdir()
    torch.save(hf, folder / "pytorch_model.bin")
    (folder / "config.json").write_text(json.dumps(hf_config(tiny())))
    arch, state = read_pretrained(folder, ModelConfig(encoder="wav2vec2"))
    assert (arch.dim, arch.layers, arch.ssl.conv_layers) == (32, 2, CONV)
    assert set(state) == set(original.state_dict())
    model = copy.deepcopy(arch)
    model.pretrained = str(folder)
    recipe = waveform_recipe(tiny_corpus, tmp_path / "exp", model, steps=2)
    recipe.data.feature_storage = "stored"  # waveform frames stored losslessly (.npy), not by lilcom
    exp = train(recipe, progress=False)
    tuned = load_model(exp / "model")
    assert torch.equal(tuned.encoder.frontend.feature_extractor.conv_layers[1].conv.weight,
                       original.feature_extractor.conv_layers[1].conv.weight)  # frozen by default


def hf_config(arch: ModelConfig, model_type: str = "wav2vec2") -> dict:
    return {"model_type": model_type, "hidden_size": arch.dim, "num_hidden_layers": arch.layers,
            "num_attention_heads": arch.heads, "intermediate_size": arch.ff_dim,
            "conv_dim": [c for c, _, _ in arch.ssl.conv_layers], "conv_kernel": [k for _, k, _ in arch.ssl.conv_layers],
            "conv_stride": [s for _, _, s in arch.ssl.conv_layers], "conv_bias": arch.ssl.conv_bias,
            "feat_extract_norm": arch.ssl.extractor_mode.split("_")[0],
            "num_conv_pos_embeddings": arch.ssl.pos_conv_kernel,
            "num_conv_pos_embedding_groups": arch.ssl.pos_conv_groups,
            "do_stable_layer_norm": arch.ssl.layer_norm_first, "hidden_act": "gelu"}


HF_MODELS = [("Wav2Vec2Config", "Wav2Vec2Model", {}),
             ("Wav2Vec2Config", "Wav2Vec2Model", {"do_stable_layer_norm": True, "feat_extract_norm": "layer",
                                                  "conv_bias": True}),  # large, XLS-R, MMS
             ("Wav2Vec2Config", "Wav2Vec2ForCTC", {"vocab_size": 12}),
             ("HubertConfig", "HubertModel", {}),
             ("WavLMConfig", "WavLMModel", {})]


@pytest.mark.parametrize("config_name,model_name,extra", HF_MODELS)
def test_huggingface_conversion_fidelity(config_name, model_name, extra, tmp_path):
    """A converted Hugging Face checkpoint gives the Hugging Face model's hidden states (tolerance 1e-5)."""
    transformers = pytest.importorskip("transformers")
    from torchaudio.models.wav2vec2.utils import import_huggingface_model

    torch.manual_seed(0)
    config = getattr(transformers, config_name)(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, conv_dim=[16] * 7,
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4, **extra)
    original = getattr(transformers, model_name)(config).eval()
    original.save_pretrained(tmp_path)  # config.json + model.safetensors
    assert (tmp_path / "model.safetensors").is_file()
    arch, state = read_pretrained(tmp_path, ModelConfig(encoder="wav2vec2", dropout=0.0))
    encoder = build_wav2vec2(HOP, arch)
    from speechtl.models.pretrained import load_pretrained

    load_pretrained(encoder, state, encoder.final_norm is None, str(tmp_path))
    encoder.eval()
    wave = torch.randn(1, 30 * HOP)
    backbone = getattr(original, "wav2vec2", original)
    with torch.no_grad():
        expected = backbone(wave, output_hidden_states=True)
        states, _ = encoder.hidden_states(wave, torch.tensor([wave.shape[1]]))
        imported = import_huggingface_model(original).eval()  # torchaudio's own importer (needs transformers)
        imported.aux = None  # a *ForCTC model's head
        by_torchaudio, _ = imported(wave)
    torch.testing.assert_close(states[-1], expected.last_hidden_state, atol=1e-5, rtol=0)
    torch.testing.assert_close(states[-1], by_torchaudio, atol=1e-5, rtol=0)
    for ours, theirs in zip(states[:-1], expected.hidden_states[:-1]):  # the earlier layers too
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


# -- bad input -------------------------------------------------------------------------------------

def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothere.pt: no such file or directory; expected a torchaudio "
                                              r"state-dict file .* or a Hugging Face checkpoint directory"):
        read_pretrained(tmp_path / "nothere.pt", tiny())
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="a directory without config.json"):
        read_pretrained(tmp_path / "empty", tiny())
    (tmp_path / "empty" / "config.json").write_text(json.dumps(hf_config(tiny())))
    with pytest.raises(CheckpointError, match="config.json but no weights; expected model.safetensors"):
        read_pretrained(tmp_path / "empty", tiny())


class NotATensor:  # a pickled object: torch.load(weights_only=True) must refuse it
    def __reduce__(self):
        return (print, ("this ran",))


def test_a_pickle_outside_weights_only_is_refused(tmp_path, capsys):
    torch.save({"feature_extractor.x": NotATensor()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"evil.pt: torch.load\(weights_only=True\) refused it: it pickles "
                                              r"objects other than tensors"):
        read_pretrained(tmp_path / "evil.pt", tiny())
    assert "this ran" not in capsys.readouterr().out
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(hf_config(tiny())))
    torch.save({"wav2vec2.x": NotATensor()}, folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pytorch_model.bin: torch.load\(weights_only=True\) refused it"):
        read_pretrained(folder, tiny())


def test_a_checkpoint_of_another_architecture_is_named(tmp_path):
    tdnn = build_model(Recipe(model=ModelConfig(encoder="tdnn", dim=16, layers=1)), {"en": Inventory(["a"])})
    torch.save(tdnn.state_dict(), tmp_path / "tdnn.pt")
    with pytest.raises(CheckpointError, match=r"tdnn.pt: not a wav2vec 2.0-family checkpoint: expected torchaudio "
                                              r"Wav2Vec2Model weights \(feature_extractor.\*, encoder.transformer.\*\), "
                                              r"found frontend"):
        read_pretrained(tmp_path / "tdnn.pt", tiny())
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32}))
    with pytest.raises(CheckpointError, match="model_type 'bert'; expected one of wav2vec2, hubert, wavlm"):
        read_pretrained(tmp_path / "bert", tiny())


def test_shapes_that_do_not_match_the_weights_are_named(tmp_path, tiny_corpus):
    save_torchaudio(tmp_path / "w.pt", tiny())
    wider = tiny()
    wider.dim, wider.heads, wider.pretrained = 48, 4, str(tmp_path / "w.pt")
    recipe = waveform_recipe(tiny_corpus, tmp_path / "exp", wider)
    with pytest.raises(CheckpointError, match=r"w.pt: frontend.feature_projection.projection.weight has shape "
                                              r"\(32, 16\) in the checkpoint; the recipe's model section makes it "
                                              r"\(48, 16\)"):
        build_model(recipe, {"en": Inventory(["a"])})
    deeper = tiny()
    deeper.layers, deeper.pretrained = 3, str(tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match="w.pt has 2 transformer layers, the recipe's model section describes 3"):
        build_model(waveform_recipe(tiny_corpus, tmp_path / "exp", deeper), {"en": Inventory(["a"])})
    preset = tiny(preset="wav2vec2_base")
    preset.pretrained = str(tmp_path / "w.pt")
    with pytest.raises(CheckpointError, match="w.pt has 2 transformer layers, model.ssl.preset wav2vec2_base "
                                              "describes 12"):
        build_model(waveform_recipe(tiny_corpus, tmp_path / "exp", preset), {"en": Inventory(["a"])})
    with pytest.raises(CheckpointError, match="model.ssl.preset: 'wav2vec3'; expected one of wav2vec2_base"):
        read_pretrained(tmp_path / "w.pt", tiny(preset="wav2vec3"))


def test_a_config_json_that_does_not_fit_its_weights_is_named(tmp_path):
    original = build_torchaudio_model(tiny())
    folder = tmp_path / "hf"
    folder.mkdir()
    from safetensors.torch import save_file

    state = {("wav2vec2." + k.replace("encoder.transformer.", "encoder.")
              .replace("encoder.feature_projection.", "feature_projection.")): v.contiguous()
             for k, v in original.state_dict().items()}
    save_file(state, str(folder / "model.safetensors"))
    config = hf_config(tiny())
    config["intermediate_size"] = 128  # the weights have 64
    (folder / "config.json").write_text(json.dumps(config))
    model = tiny()
    model.pretrained = str(folder)
    recipe = Recipe(model=model)
    recipe.features.kind, recipe.features.cmvn = "waveform", "none"
    with pytest.raises(CheckpointError, match=r"hf: blocks.0.feed_forward.intermediate_dense.bias has shape "
                                              r"\(64,\) in the checkpoint; its config.json makes it \(128,\)"):
        build_model(recipe, {"en": Inventory(["a"])})


def test_layer_transfer_and_l2sp_apply_to_a_wav2vec2_source(tiny_corpus, tmp_path):
    """The backbone contract is unchanged: a fine-tuned wav2vec2 model is a transfer.source like any other."""
    from speechtl.workflows.train import train

    source = load_model(train(waveform_recipe(tiny_corpus, tmp_path / "src", tiny(), steps=2), progress=False)
                        / "model")
    recipe = waveform_recipe(tiny_corpus, tmp_path / "tgt", tiny(), steps=3)
    recipe.transfer.source = str(tmp_path / "src" / "model")
    recipe.transfer.methods = ["l2sp"]
    recipe.transfer.layers.freeze, recipe.transfer.layers.freeze_blocks = True, 1  # front end + layer 1 fixed
    tuned = load_model(train(recipe, progress=False) / "model")
    before, after = source.encoder.state_dict(), tuned.encoder.state_dict()
    for name in ("frontend.feature_projection.projection.weight", "blocks.0.attention.k_proj.weight"):
        assert torch.equal(before[name], after[name]), name
    assert not torch.equal(before["blocks.1.attention.k_proj.weight"], after["blocks.1.attention.k_proj.weight"])
