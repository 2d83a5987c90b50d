"""features.level_dbfs at decode: stored with the model, overridable, gain-invariant on every offline path."""

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.data.config import FeatureConfig
from speechtl.decoding.batch import BatchSettings, decode_files
from speechtl.decoding.recognizer import Recognizer
from speechtl.decoding.streaming import StreamingRecognizer, stream_refusal
from speechtl.errors import CheckpointError, SpeechtlError
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.config import ModelConfig
from speechtl.models.io import load_model, save_model
from speechtl.text.inventory import Inventory

RATE = 16000


def _model(level_dbfs=None):
    torch.manual_seed(0)
    config = AcousticModelConfig(features=FeatureConfig(level_dbfs=level_dbfs),
                                 model=ModelConfig(encoder="tdnn", dim=24, layers=2, dropout=0.0))
    model = build_acoustic_model(config, {"en": Inventory(["a", "b", "c"])}).eval()
    model.frontend.normalizer.mean.fill_(8.0)  # statistics far from the identity: a gain shows in the output
    model.frontend.normalizer.std.fill_(3.0)
    return model


def _wave(seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    wave = 1e-4 * torch.randn(RATE, generator=g)
    wave[4000:11000] += 0.1 * torch.randn(7000, generator=g)
    return wave


def test_the_target_is_stored_in_the_model_file(tmp_path):
    save_model(_model(-23.0), tmp_path / "m")
    assert load_model(tmp_path / "m").features.level_dbfs == -23.0
    assert Recognizer.load(tmp_path / "m").features.level_dbfs == -23.0
    assert Recognizer.load(tmp_path / "m", level_dbfs=-30).features.level_dbfs == -30.0
    save_model(_model(), tmp_path / "off")
    assert Recognizer.load(tmp_path / "off").features.level_dbfs is None


def test_a_quieter_recording_gives_the_same_output_with_the_step_and_another_without():
    wave = _wave()
    on, off = Recognizer(_model(-25.0)), Recognizer(_model())
    torch.testing.assert_close(on._log_probs(wave * 0.1, "en"), on._log_probs(wave, "en"), atol=1e-4, rtol=0)
    assert (off._log_probs(wave * 0.1, "en") - off._log_probs(wave, "en")).abs().max() > 1e-2
    override = Recognizer(_model(), level_dbfs=-25.0)  # the decode-time override does what the stored target does
    torch.testing.assert_close(override._log_probs(wave * 0.1, "en"), on._log_probs(wave, "en"), atol=1e-4, rtol=0)


def test_batch_decoding_levels_each_recording_as_alone(tmp_path):
    rec = Recognizer(_model(-25.0))
    inputs = []
    for i, gain in enumerate((1.0, 0.05, 0.3)):
        path = tmp_path / f"r{i}.wav"
        sf.write(path, (_wave(i) * gain).numpy(), RATE, subtype="FLOAT")
        inputs.append((f"r{i}", str(path)))
    batched = dict(decode_files(rec, inputs, "en", greedy=True, settings=BatchSettings(batch_seconds=10.0)))
    for uid, path in inputs:
        assert batched[uid].phonemes == rec.transcribe(path, "en", greedy=True).phonemes


def test_bad_values_name_the_key_and_streaming_refuses(tmp_path):
    for bad in (3.0, -500, float("nan"), "x"):
        with pytest.raises(SpeechtlError, match="level_dbfs"):
            Recognizer(_model(), level_dbfs=bad)
    assert "level_dbfs" in stream_refusal(_model(-25.0)) and stream_refusal(_model()) == ""
    with pytest.raises(CheckpointError, match="level_dbfs"):
        StreamingRecognizer(Recognizer(_model(), level_dbfs=-25.0), "en", words=["ab"], lexicon=None)


def test_decode_cli_level_option(tmp_path, capsys):
    save_model(_model(), tmp_path / "m")
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(RATE, np.float32), RATE)
    assert main(["decode", "--model", str(tmp_path / "m"), "--greedy", "--level-dbfs", "-25", str(wav)]) == 0
    code = main(["decode", "--model", str(tmp_path / "m"), "--greedy", "--level-dbfs", "9", str(wav)])
    err = capsys.readouterr().err
    assert code == 2 and "level_dbfs" in err and "Traceback" not in err


@pytest.mark.slow
def test_training_with_a_target_levels_its_data_and_stores_it(tiny_recipe, tmp_path):
    """Global CMVN statistics are read after the step: a 30 dB higher target moves the mean log-mel by ~6.9."""
    from speechtl.workflows.train import train

    means = {}
    for target in (-40.0, -10.0):
        tiny_recipe.data.languages = ["en"]
        tiny_recipe.features.level_dbfs = target
        tiny_recipe.train.max_steps, tiny_recipe.train.exp_dir = 1, str(tmp_path / f"exp{target:g}")
        model = load_model(train(tiny_recipe, progress=False) / "model")
        assert model.features.level_dbfs == target
        means[target] = float(model.frontend.normalizer.mean.mean())
    assert means[-10.0] - means[-40.0] == pytest.approx(30 * np.log(10) / 10, abs=0.3)
