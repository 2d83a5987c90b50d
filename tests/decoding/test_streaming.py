"""Streaming recognition: the chunked encoder equals the offline one; the final words equal offline decoding."""

import numpy as np
import pytest
import soundfile as sf
import torch

from speechtl.cli import main
from speechtl.decoding.lexicon_decoder import LexiconDecoder
from speechtl.decoding.recognizer import Recognizer
from speechtl.decoding.streaming import (ReceptiveField, StreamingEncoder, StreamingRecognizer, conv_receptive_field,
                                         receptive_field, stream_file)
from speechtl.errors import CheckpointError
from speechtl.models.acoustic import AcousticModelConfig, build_acoustic_model
from speechtl.models.config import ModelConfig
from speechtl.data.config import FeatureConfig
from speechtl.text.inventory import Inventory
from speechtl.text.lexicon import Lexicon


def random_model(encoder="tdnn", cmvn="global", layers=4, subsampling=4):
    config = AcousticModelConfig(features=FeatureConfig(cmvn=cmvn),
                                 model=ModelConfig(encoder=encoder, dim=24, layers=layers, heads=2, ff_dim=32,
                                                   subsampling=subsampling, dropout=0.0))
    model = build_acoustic_model(config, {"en": Inventory(["a", "b", "c"])}).eval()
    if cmvn == "global":  # statistics far from the identity, so that a frame read twice would show
        model.frontend.normalizer.mean.fill_(8.0)
        model.frontend.normalizer.std.fill_(3.0)
    return model


def test_receptive_field_by_hand():
    # one conv k3 s2 p1: output k reads 2k-1..2k+1; two of them: 4k-3..4k+3; then dilations 1+2+3+1 at stride 4
    assert conv_receptive_field([(3, 2, 1, 1)]) == ReceptiveField(2, 1, 1)
    assert conv_receptive_field([(3, 2, 1, 1)] * 2) == ReceptiveField(4, 3, 3)
    assert receptive_field(random_model().encoder) == ReceptiveField(4, 3 + 4 * 7, 3 + 4 * 7)


@pytest.mark.parametrize("subsampling", [1, 2, 4])
def test_receptive_field_is_what_the_gradient_reaches(subsampling):
    model = random_model(layers=3, subsampling=subsampling)
    field = receptive_field(model.encoder)
    feats = torch.randn(1, 200, 80, requires_grad=True)
    hidden, _ = model.encoder(feats, torch.tensor([200]))
    k = 60 // subsampling  # an output frame far from both edges
    hidden[0, k].sum().backward()
    reached = feats.grad[0].abs().sum(-1).nonzero().flatten()
    assert reached.min() == field.stride * k - field.left and reached.max() == field.stride * k + field.right


@pytest.mark.parametrize("piece", [37, 1000, 4321, 48000])
def test_chunked_encoder_equals_offline(piece):
    model = random_model()
    wave = torch.randn(16000 * 2 + 123) * 0.1
    from speechtl.data.features import fbank

    feats = fbank(wave, 16000, model.features)
    hidden, _ = model(feats[None], torch.tensor([feats.shape[0]]))
    offline = model.log_probs(hidden, "en")[0]
    stream = StreamingEncoder(model, "en")
    pieces = [stream.accept(wave[a: a + piece]) for a in range(0, wave.numel(), piece)]
    pieces.append(stream.finish())
    streamed = torch.cat(pieces)
    assert streamed.shape == offline.shape
    torch.testing.assert_close(streamed, offline, atol=1e-4, rtol=1e-4)
    if piece < 16000:  # frames came out before the end, each at most one context late
        assert sum(p.shape[0] for p in pieces[:-1]) >= offline.shape[0] - 8 - 48000 // piece
    assert stream.feats.shape[0] <= 2 * (31 + 4) + piece // 160 + 4  # bounded memory: only the context is kept


def test_encoders_and_normalisation_that_cannot_stream_are_refused():
    for encoder in ("conformer", "blstm"):
        with pytest.raises(CheckpointError, match="finite context"):
            StreamingEncoder(random_model(encoder), "en")
    for cmvn in ("utterance", "sliding"):
        with pytest.raises(CheckpointError, match=f"cmvn: {cmvn}"):
            StreamingEncoder(random_model(cmvn=cmvn), "en")


def test_incremental_search_equals_the_search_at_once():
    tokens = ["<blank>", "|", "a", "b", "c"]
    lexicon = Lexicon.from_mapping({"ab": ["a", "b"], "ca": ["c", "a"], "b": ["b"]})
    torch.manual_seed(1)
    log_probs = torch.randn(1, 40, 5).log_softmax(-1) * 3
    decoder = LexiconDecoder(tokens, lexicon)
    at_once = decoder(log_probs)[0]
    decoder.begin()
    for a in range(0, 40, 7):
        decoder.step(log_probs[0, a: a + 7])
        assert set(decoder.partial()) <= {"ab", "ca", "b"}
    assert decoder.end() == at_once


@pytest.fixture(scope="module")
def recognizer(tdnn_en_model):
    return Recognizer.load(tdnn_en_model)


@pytest.fixture(scope="module")
def long_phrase(en_phrases):
    """Three training utterances with pauses: several seconds of audio, several words."""
    vocabulary, phrases = en_phrases
    pause = torch.zeros(4000)
    wave = torch.cat([x for samples, _ in phrases[:3] for x in (samples, pause)])
    return vocabulary, wave, " ".join(text for _, text in phrases[:3])


def test_streaming_final_equals_offline_and_partials_come_early(recognizer, long_phrase, tmp_path):
    vocabulary, wave, text = long_phrase
    path = tmp_path / "phrase.wav"
    sf.write(path, wave.numpy(), 16000)
    offline = recognizer.transcribe(path, "en", words=vocabulary)
    assert len(offline.words) >= 3  # the model knows words of it (3-5, by CPU): the comparison means something
    *partials, final = stream_file(recognizer, path, chunk_seconds=0.25, language="en", words=vocabulary)
    assert final.as_dict() == offline.as_dict()
    assert [p.seconds for p in partials] == sorted(p.seconds for p in partials)
    assert all(p.seconds - p.decoded_seconds <= 0.25 + 0.4 for p in partials)  # at most a chunk + the context late
    halfway = partials[len(partials) // 2]
    assert halfway.words and halfway.words == [w.word for w in offline.words][: len(halfway.words)]


def test_stream_of_nothing_or_a_few_samples(recognizer, long_phrase):
    vocabulary = long_phrase[0]
    assert StreamingRecognizer(recognizer, "en", words=vocabulary).finish().words == []
    stream = StreamingRecognizer(recognizer, "en", words=vocabulary)
    stream.accept(np.zeros(100, np.float32))
    final = stream.finish()
    assert final.words == [] and "shorter than one analysis frame" in final.notes[-1]


def test_decode_stream_cli_shows_partials(tdnn_en_model, long_phrase, tmp_path, capsys):
    vocabulary, wave, _ = long_phrase
    path = tmp_path / "phrase.wav"
    sf.write(path, wave.numpy(), 16000)
    words = tmp_path / "words.txt"
    words.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    assert main(["decode", "--model", str(tdnn_en_model), "--words", str(words), "--stream", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "partial" in err and out.startswith(f"{path}: ")
    offline_code = main(["decode", "--model", str(tdnn_en_model), "--words", str(words), str(path)])
    assert offline_code == 0 and capsys.readouterr().out == out


def test_decode_stream_refuses_a_model_that_cannot_stream(tmp_path, capsys):
    from speechtl.models.io import save_model

    save_model(random_model("blstm"), tmp_path / "blstm")
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(16000, np.float32), 16000)
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("ab a b\n", encoding="utf-8")
    code = main(["decode", "--model", str(tmp_path / "blstm"), "--lexicon", str(lexicon), "--stream", str(wav)])
    err = capsys.readouterr().err
    assert code == 2 and "finite context" in err and "decode it offline" in err and "Traceback" not in err
