"""Real-corpus layouts (Kaldi data directory, Common Voice release) built from synthetic audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from speechtl.data.dataset import cut_audio_source
from speechtl.data.manifests import load_cuts

CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment\n"


def messy(text: str) -> str:
    """A transcript as people write them: "during enough" -> "During,  enough." """
    words = text.split()
    words[0] = words[0].capitalize() + ("," if len(words) > 1 else "")
    return "  ".join(words) + "."


def synth_cuts(corpus_cfg, split: str, language: str, n: int | None = None) -> list:
    """The first ``n`` cuts of one language of the synthetic corpus."""
    cuts = list(load_cuts(corpus_cfg.root, split, prefix=f"synth_{language}"))
    return cuts[:n] if n else cuts


def write_kaldi_dir(cuts, out: Path, extra: list[tuple[str, str, str]] = ()) -> Path:
    """``wav.scp``, ``text`` (messy), ``utt2spk``; ``extra`` adds ``(id, audio path, text)`` lines."""
    out.mkdir(parents=True, exist_ok=True)
    sups = [(c, c.supervisions[0]) for c in cuts]
    rows = [(s.id, cut_audio_source(c), messy(s.text), s.speaker) for c, s in sups]
    rows += [(uid, path, text, "spk-extra") for uid, path, text in extra]
    (out / "wav.scp").write_text("".join(f"{u} {p}\n" for u, p, _, _ in rows))
    (out / "text").write_text("".join(f"{u} {t}\n" for u, _, t, _ in rows))
    (out / "utt2spk").write_text("".join(f"{u} {s}\n" for u, _, _, s in rows))
    return out


def write_commonvoice(cuts, corpus: Path, locale: str, split: str, extra_rows: list[str] = ()) -> Path:
    """``corpus/locale/split.tsv`` and MP3 clips, as Mozilla ships them."""
    locale_dir = corpus / locale
    (locale_dir / "clips").mkdir(parents=True, exist_ok=True)
    lines = [CV_HEADER]
    for c in cuts:
        name = f"common_voice_{locale}_{c.supervisions[0].id}.mp3"
        audio, rate = sf.read(cut_audio_source(c))
        sf.write(locale_dir / "clips" / name, audio, rate, format="MP3")
        sup = c.supervisions[0]
        lines.append(f"{sup.speaker}\t{name}\t{messy(sup.text)}\t2\t0\tthirties\t\t\t\t{locale}\t\n")
    (locale_dir / f"{split}.tsv").write_text("".join(lines + [r + "\n" for r in extra_rows]))
    return locale_dir


def write_tone(path: Path, seconds: float, rate: int = 16000, channels: int = 1, subtype: str = "PCM_16") -> Path:
    """A quiet tone, written in one-minute blocks (hour-long files stay cheap in memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    total = int(seconds * rate)
    with sf.SoundFile(path, "w", rate, channels, subtype=subtype) as f:
        for start in range(0, total, 60 * rate):
            t = np.arange(start, min(total, start + 60 * rate)) / rate
            block = 0.1 * np.sin(2 * np.pi * 220 * t)
            f.write(np.repeat(block[:, None], channels, axis=1))
    return path
