"""Voice activity detection: long recordings cut at their silences, word times offset by each segment's start."""

import json

import numpy as np
import pytest
import torch

from speechtl.data.audio import resample
from speechtl.data.vad import BLOCK_FRAMES, FRAME_SECONDS, Span, VadSettings, detect_speech, speech_spans
from speechtl.decoding import formats
from speechtl.decoding.recognizer import NO_SPEECH_NOTE, Recognizer
from speechtl.decoding.segments import Piece, pack_spans, uses_vad
from speechtl.decoding.config import DecodeConfig
from speechtl.errors import AudioError, SpeechtlError
from spoken import speak

RATE = 16000
PHRASES = ["the quick brown fox", "jumps over the lazy dog", "seven green apples", "a long way home",
           "nobody saw the boat", "under the old bridge"]


def phrases(texts: list[str]) -> list[torch.Tensor]:
    """Each text said by eSpeak (en-us) at 16 kHz, its leading and trailing silence cut off: exact truth."""
    said, rate = speak(texts, "en-us", 165, 50)
    waves = [resample(torch.from_numpy(samples.astype(np.float32) / 32768), rate, RATE) for samples in said]
    louds = [(wave.abs() > 0.01).nonzero() for wave in waves]
    return [wave[int(loud[0]): int(loud[-1]) + 1] for wave, loud in zip(waves, louds)]


def long_recording(texts: list[str], seed: int = 0) -> tuple[torch.Tensor, list[Span]]:
    """Phrases separated by pauses of 0.6-2.5 s of faint noise; ``(samples,)`` and each phrase's span."""
    rng = np.random.default_rng(seed)
    parts, truth, t = [], [], 0
    for speech in phrases(texts):
        pause = torch.from_numpy(0.002 * rng.standard_normal(int(rng.uniform(0.6, 2.5) * RATE)).astype(np.float32))
        parts += [pause, speech]
        truth.append(Span((t + pause.numel()) / RATE, (t + pause.numel() + speech.numel()) / RATE))
        t += pause.numel() + speech.numel()
    parts.append(torch.zeros(RATE))
    return torch.cat(parts), truth


@pytest.fixture(scope="module")
def recording():
    """About 150 s: longer than two reading blocks, so the spans must carry across block edges."""
    wave, truth = long_recording(PHRASES * 8)
    assert wave.numel() / RATE > 2 * BLOCK_FRAMES * FRAME_SECONDS
    return wave, truth


@pytest.mark.parametrize("backend", ["silero", "energy"])
def test_a_long_recording_is_cut_in_its_silences(recording, backend):
    wave, truth = recording
    spans = speech_spans(wave, RATE, VadSettings(backend=backend))
    assert len(spans) == len(truth)  # every pause is longer than min_silence: one segment per phrase
    for span, phrase_span in zip(spans, truth):
        assert span.start <= phrase_span.start + 0.05 and span.end >= phrase_span.end - 0.05  # speech kept
        assert span.start >= phrase_span.start - 0.5 and span.end <= phrase_span.end + 0.6  # pauses left out
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))


@pytest.mark.parametrize("backend", ["silero", "energy"])
def test_segments_never_exceed_max_segment_and_other_rates_agree(recording, backend):
    wave, truth = recording
    settings = VadSettings(backend=backend, min_silence=3.0, max_segment=8.0)  # every pause inside speech
    spans = speech_spans(wave, RATE, settings)
    assert spans and all(s.duration <= 8.0 + 1e-6 for s in spans)
    assert len(spans) < len(truth)
    at_8k = speech_spans(resample(wave, RATE, 8000), 8000, VadSettings(backend=backend))
    assert len(at_8k) == len(truth)
    at_16k = speech_spans(wave, RATE, VadSettings(backend=backend))
    assert all(abs(a.start - b.start) < 0.15 for a, b in zip(at_8k, at_16k))


@pytest.mark.parametrize("gate_db", [6.0, -np.inf])
def test_batched_gated_streams_find_what_silero_frame_by_frame_finds(recording, monkeypatch, gate_db):
    """Streams restarted every 2 s and frames near the noise floor left out change no segment much.

    The reference: Silero's own streaming wrapper, one frame per call from the start to the end.
    ``gate_db=-inf`` scores every frame (no gate), so a bug in the batching alone shows too.
    """
    from silero_vad import load_silero_vad

    from speechtl.data import vad

    wave, truth = recording
    threads = torch.get_num_threads()
    probs = load_silero_vad(onnx=True).audio_forward(resample(wave, RATE, 8000)[None], 8000)[0].numpy()
    torch.set_num_threads(threads)
    reference = vad._backend("silero").spans(probs, wave.numel() / RATE, VadSettings())
    monkeypatch.setattr(vad, "GATE_DB", gate_db)
    spans = speech_spans(wave, RATE, VadSettings(backend="silero"))
    assert len(spans) == len(reference) == len(truth)
    edges = np.abs([(a.start - b.start, a.end - b.end) for a, b in zip(spans, reference)])
    # a few frames either way where the probability hovers at the threshold; a batching mix-up moves whole spans
    assert edges.max() <= 0.2 and edges.mean() < 0.025, (edges.max(), edges.mean())


@pytest.mark.parametrize("backend", ["silero", "energy"])
def test_silence_and_noise_hold_no_speech(backend):
    rng = np.random.default_rng(1)
    assert speech_spans(np.zeros(5 * RATE, np.float32), RATE, VadSettings(backend=backend)) == []
    assert speech_spans(0.002 * rng.standard_normal(5 * RATE), RATE, VadSettings(backend=backend)) == []


def test_bad_input_is_refused_clearly():
    with pytest.raises(AudioError, match="8000 Hz or more.*got sample rate 4000"):
        speech_spans(np.zeros(4000, np.float32), 4000)
    with pytest.raises(AudioError, match="got sample rate 16000.5"):
        detect_speech(lambda s, d: torch.zeros(0), 1.0, 16000.5)
    with pytest.raises(AudioError, match="empty audio"):
        speech_spans(np.zeros(0, np.float32), RATE)
    with pytest.raises(SpeechtlError, match="threshold must be in"):
        speech_spans(np.zeros(RATE, np.float32), RATE, VadSettings(threshold=1.5))
    with pytest.raises(SpeechtlError, match="backend must be auto, silero or energy, got 'webrtc'"):
        speech_spans(np.zeros(RATE, np.float32), RATE, VadSettings(backend="webrtc"))


def test_vad_is_on_by_default_only_for_recordings_over_30_seconds():
    assert not uses_vad(DecodeConfig(), 30.0) and uses_vad(DecodeConfig(), 30.5)
    assert uses_vad(DecodeConfig(vad="on"), 2.0) and not uses_vad(DecodeConfig(vad="off"), 3600.0)


# ----------------------------------------------------------------- through the recogniser
@pytest.fixture(scope="module")
def recognizer(es_model):
    return Recognizer.load(es_model)


def test_packing_joins_consecutive_segments_up_to_the_piece_length():
    spans = [Span(0.0, 4.0), Span(9.0, 14.0), Span(20.0, 23.0), Span(30.0, 60.0), Span(61.0, 62.0)]
    groups = pack_spans(spans, 10.0)
    assert groups == [spans[:2], [spans[2]], [spans[3]], [spans[4]]]  # 4 + 5 fits, + 3 would not
    assert pack_spans([], 30.0) == []
    piece = Piece(torch.zeros(5 * RATE), [Span(2.0, 4.0), Span(10.0, 13.0)], [0.0, 2.0])
    assert piece.recording_span(0.5, 1.5) == (2.5, 3.5) and piece.recording_span(2.5, 4.0) == (10.5, 12.0)
    assert piece.recording_span(1.5, 2.1) == (3.5, 4.0)  # over the joint: kept in the stretch of its middle
    assert piece.recording_span(1.9, 2.5) == (10.0, 10.5)  # ... never across the pause that was cut out


def test_a_word_over_a_joint_is_kept_in_the_segment_it_mostly_lies_in_and_listed_there():
    """A straddling word's start was mapped as ``(27.56 + 4.81) - 4.85``: one ulp before its segment's start,
    so the transcript listed it under the previous segment, seconds away (the model's alignment decides
    whether a word straddles a joint, so only some trainings showed it)."""
    from speechtl.decoding.align import WordSegment
    from speechtl.decoding.recognizer import Transcript

    spans = [Span(18.26, 23.11), Span(27.56, 31.954)]
    piece = Piece(torch.zeros(int(9.244 * RATE)), spans, [0.0, 4.85])
    times = [piece.recording_span(0.5, 4.9), piece.recording_span(4.81, 5.05), piece.recording_span(8.9, 9.28)]
    assert times[0] == (18.76, 23.11) and times[1][0] == 27.56 and times[1][1] == pytest.approx(27.76)
    assert times[2] == (pytest.approx(31.61), 31.954)  # the last frame's stride past the audio: clamped too
    words = [WordSegment(word, start, end) for word, (start, end) in zip("abc", times)]
    grouped = Transcript("x", "es", 40.0, words, segments=spans).segment_words()
    assert [[w.word for w in ws] for _, ws in grouped] == [["a"], ["b", "c"]]
    assert all(s.start <= w.start <= w.end <= s.end for s, ws in grouped for w in ws)
    # a fixed cut (no VAD) keeps the overhang every decode path shares (batch, streaming)
    assert Piece(torch.zeros(RATE), [Span(0.0, 1.0)], [0.0], bounded=False).recording_span(0.9, 1.03) == (0.9, 1.03)


def test_speech_segments_are_decoded_packed_and_word_times_map_back(recognizer, tiny_corpus, monkeypatch):
    """Speech segments are joined without their pauses into one pass; word times land in the recording."""
    from speechtl.data.manifests import corpus_lexicon_path
    from speechtl.text.lexicon import read_word_list

    vocabulary = read_word_list(corpus_lexicon_path(tiny_corpus.root, "es", "test"))
    texts = [" ".join(vocabulary[3 * i: 3 * i + 3]) for i in range(len(vocabulary) // 3)][:5]
    rng = np.random.default_rng(2)
    parts = []
    said, rate = speak(texts, "es+m3", 160, 50)  # a fresh engine: the same audio whichever tests ran before
    for samples in said:
        parts += [torch.from_numpy(0.002 * rng.standard_normal(int(rng.uniform(5, 9) * RATE)).astype(np.float32)),
                  resample(torch.from_numpy(samples.astype(np.float32) / 32768), rate, RATE)]
    audio = torch.cat(parts)
    assert audio.numel() / RATE > 30  # decode.vad "auto" turns VAD on
    decoded = []
    log_probs = recognizer._log_probs
    monkeypatch.setattr(recognizer, "_log_probs",
                        lambda wave, lang: decoded.append(wave.numel()) or log_probs(wave, lang))
    out = recognizer.transcribe(audio.numpy(), "es", words=vocabulary, sample_rate=RATE)
    spans = speech_spans(audio, RATE)
    assert out.segments == spans and len(spans) == len(texts)  # the speech segments, not the pieces
    pieces = [audio[int(round(s.start * RATE)):][: int(round(s.duration * RATE))] for s in spans]
    assert decoded == [sum(p.numel() for p in pieces)]  # under 30 s of speech: one pass, pauses left out
    starts = np.cumsum([0] + [p.numel() / RATE for p in pieces[:-1]])
    packed = recognizer.transcribe(torch.cat(pieces).numpy(), "es", words=vocabulary, sample_rate=RATE)
    piece = Piece(torch.cat(pieces), spans, list(starts))
    want = [(w.word, *(round(t, 3) for t in piece.recording_span(w.start, w.end))) for w in packed.words]
    assert [(w.word, round(w.start, 3), round(w.end, 3)) for w in out.words] == want and want
    outside = [(w.word, w.start, w.end, s.start, s.end) for s, ws in out.segment_words() for w in ws
               if not s.start <= w.start <= w.end <= s.end]
    assert not outside  # each word listed under its segment and inside it, a piece's last word too

    segments = json.loads(formats.jsonl_line("long", out))["segments"]
    assert [(s["start"], s["end"]) for s in segments] == [(s.start, s.end) for s in spans]
    assert " ".join(s["text"] for s in segments if s["text"]) == out.text
    assert formats.text_lines(out).count("\n  [") == len(spans)
    cue_times = [line for line in formats.srt(out).splitlines() if " --> " in line]
    assert len(cue_times) >= len([s for s in segments if s["text"]])  # no cue spans two segments


def test_no_speech_says_so_and_vad_off_cuts_at_quiet_points(recognizer):
    silent = recognizer.transcribe(np.zeros(35 * RATE, np.float32), "es", words=["uno"], sample_rate=RATE)
    assert silent.words == [] and silent.segments == [] and NO_SPEECH_NOTE in silent.notes
    recognizer.config.vad = "off"
    try:
        whole = recognizer.transcribe(np.zeros(35 * RATE, np.float32), "es", words=["uno"], sample_rate=RATE)
    finally:
        recognizer.config.vad = "auto"
    assert [s.start for s in whole.segments][0] == 0.0 and whole.segments[-1].end == 35.0
    assert len(whole.segments) == 2  # two pieces of at most decode.chunk_seconds (30 s)


def test_the_decode_command_takes_vad_and_no_vad():
    from speechtl.cli import build_parser
    from speechtl.cli.decode import _config

    def vad(*flags):
        return _config(build_parser().parse_args(["decode", "--model", "m", *flags, "a.wav"]), DecodeConfig()).vad

    assert (vad(), vad("--vad"), vad("--no-vad")) == ("auto", "on", "off")


def test_without_silero_auto_falls_back_to_energy_and_silero_says_what_to_install(monkeypatch, caplog):
    import sys

    from speechtl.data import vad

    monkeypatch.setitem(sys.modules, "silero_vad", None)  # as if the wheel were not installed
    vad._backend.cache_clear()
    try:
        with caplog.at_level("WARNING"):
            assert isinstance(vad._backend("auto"), vad.EnergyBackend)
        assert "Silero VAD not installed" in caplog.text
        with pytest.raises(SpeechtlError, match="pip install silero-vad onnxruntime"):
            vad._backend("silero")
    finally:
        vad._backend.cache_clear()
