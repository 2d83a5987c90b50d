"""eSpeak audio that does not depend on which tests ran before.

One eSpeak engine serves a whole process and its output depends on everything it said before
(its C random state and more): the same text comes out a few samples longer or shorter. Tests
whose result hangs on exact audio (segment edges, word alignments) synthesise in a fresh process.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def _speak(texts: list[str], voice: str, rate: int, pitch: int) -> tuple[list[np.ndarray], int]:
    from speechtl.data.espeak import Espeak

    engine = Espeak.instance()
    return [engine.synthesize(text, voice, rate, pitch) for text in texts], engine.sample_rate


def speak(texts: list[str], voice: str, rate: int = 175, pitch: int = 50) -> tuple[list[np.ndarray], int]:
    """``(int16 samples of each text, sample rate)``, said in order by a fresh eSpeak engine."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_speak, list(texts), voice, rate, pitch).result()
