"""Speech synthesis with the eSpeak NG library through ctypes.

The library and its voice data ship in the ``espeakng-loader`` wheel. eSpeak
keeps global state, so one :class:`Espeak` engine serves a whole process.
"""

from __future__ import annotations

import ctypes
import functools
import os

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_PARAM_RANGE = 4

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class Espeak:
    """A synchronous eSpeak NG synthesiser.

    Example:
        >>> engine = Espeak.instance()
        >>> audio = engine.synthesize("hello world", voice="en-us+m3", rate=170, pitch=50)
        >>> engine.sample_rate
        22050
    """

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if self.sample_rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise with data at {data.decode()}")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]

    @staticmethod
    @functools.lru_cache(maxsize=1)
    def _for_pid(pid: int) -> "Espeak":
        return Espeak()

    @classmethod
    def instance(cls) -> "Espeak":
        """The process's engine (a forked child makes its own)."""
        return cls._for_pid(os.getpid())

    def _collect(self, wav, n, events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def synthesize(self, text: str, voice: str, rate: int = 175, pitch: int = 50) -> np.ndarray:
        """Speak ``text``.

        Args:
            text: UTF-8 text.
            voice: eSpeak voice, optionally with a variant (``de+f2``).
            rate: words per minute (80-450).
            pitch: base pitch, 0-100.

        Returns:
            int16 samples at :attr:`sample_rate`, shape ``(samples,)``.
        """
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}")
        self._lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
        self._lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
        self._chunks = []
        data = text.encode("utf-8")
        self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        self._lib.espeak_Synchronize()
        chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
