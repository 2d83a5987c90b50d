"""Pronunciation lexicons: ``word p1 p2 ...`` per line, read, validated, merged, written.

The file format (shared by ``lexicons/{lang}.txt``, the synthetic corpus's
``ROOT/lexicon/{lang}.txt`` and users' files):

* UTF-8 text, one pronunciation per line: the word, then its phonemes, all
  separated by spaces or tabs (any run of whitespace). A leading byte-order
  mark and Windows line endings are accepted.
* A word may have several pronunciations, one line each, in order of preference.
* Words are put in Unicode NFC (:func:`~speechtl.text.normalize.nfc`), so a word
  typed in NFD matches the same word in a word list or transcript.
* Blank (or whitespace-only) lines are skipped, and so are lines starting with
  ``;;;`` (CMUdict's comments); ``#`` is an ordinary word or symbol.
* A line repeating a word *and* pronunciation already read is ignored (counted in
  :attr:`Lexicon.duplicates`); the same word with another pronunciation is an
  alternative pronunciation.
* Errors, each reported as ``FILE:LINE: ...`` (values cut to :data:`MAX_VALUE` characters)
  and all at once, under a header naming the file: bytes that are not
  UTF-8, a line that starts with whitespace (no word), a word without phonemes,
  the word boundary ``|`` or ``<blank>`` used as a phoneme, control characters,
  and (when checked against a model) phonemes the model's inventory lacks.

Lexicons in ARPAbet (CMUdict), X-SAMPA or other IPA are read by
:func:`speechtl.text.lexicon_import.read_lexicon`.

Word lists (``--words FILE``, the corpus's ``{lang}.{split}-words.txt``) hold one
word per line, with the same encoding rules.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from speechtl.errors import LexiconError, shorten
from speechtl.text.g2p import WORD_BOUNDARY
from speechtl.text.inventory import BLANK, Inventory
from speechtl.text.normalize import nfc

MAX_REPORTED = 20  # problems listed in one error message
MAX_VALUE = 80  # characters of a user's line or word shown in a message (a 1 MB line must not give a 1 MB message)
RESERVED = (WORD_BOUNDARY, BLANK)
COMMENT = ";;;"  # CMUdict's comment lines


def _cut(value: str) -> str:
    """A user's value for a message: ``repr`` cut to :data:`MAX_VALUE` characters."""
    return shorten(repr(value), MAX_VALUE)


def raise_problems(source: str, problems: list[str], hint: str = "") -> None:
    """Raise one LexiconError listing ``problems`` (counted) and then ``hint`` (not counted).

    The message starts with ``source`` (the file) unless its one problem already names it.
    """
    if not problems:
        return
    tail = f"\n  {hint}" if hint else ""
    if len(problems) == 1:
        named = problems[0].startswith(source)
        raise LexiconError((problems[0] if named else f"{source}: {problems[0]}") + tail)
    shown = problems[:MAX_REPORTED]
    more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    raise LexiconError(f"{source}: {len(problems)} problems:\n  " + "\n  ".join(shown) + more + tail)


def read_lines(path: str | Path) -> Iterator[tuple[int, str | None, str]]:
    """Lines of a UTF-8 text file: ``(line number, text or None, problem)``.

    A line that is not valid UTF-8 comes back as ``None`` with a problem naming
    the offending byte and its column; other lines lose their line ending.

    Raises:
        LexiconError: the file is missing or unreadable.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LexiconError(f"{path}: no such file") from None
    except OSError as err:
        raise LexiconError(f"{path}: cannot read: {err.strerror or err}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:200].count(b"\x00") > len(data[:200]) // 4:
        raise LexiconError(f"{path}: looks like UTF-16 text (byte-order mark or NUL bytes); speechtl reads "
                           f"UTF-8: convert it, e.g. iconv -f UTF-16 -t UTF-8 {path.name} > utf8.txt")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        try:
            yield number, raw.decode("utf-8"), ""
        except UnicodeDecodeError as err:
            bad = raw[err.start : err.start + 1].hex()
            yield number, None, f"{path}:{number}: not UTF-8 (byte 0x{bad} at column {err.start + 1})"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in "\t" for c in text)


class Lexicon:
    """Words and their pronunciations (tuples of phoneme symbols), in insertion order.

    Each pronunciation remembers where it came from (``FILE:LINE``, ``g2p``...),
    so that a later check against a model's inventory can name the line.

    Example:
        >>> lex = Lexicon.from_mapping({"hello": ["h", "ə", "l", "oʊ"]})
        >>> lex.pronunciations("hello")
        [('h', 'ə', 'l', 'oʊ')]
        >>> lex.validate(Inventory(["h", "ə", "l"]), "en")  # from Lexicon.read(path): FILE:LINE
        Traceback (most recent call last):
        ...
        speechtl.errors.LexiconError: <memory>: unknown phoneme 'oʊ' in the pronunciation of 'hello' (the model's en head cannot output it)
          the model's en inventory has: h l ə
    """

    def __init__(self, entries: Iterable[tuple[str, Sequence[str]]] = (), origin: str = "<memory>") -> None:
        self._prons: dict[str, list[tuple[str, ...]]] = {}
        self._origin: dict[tuple[str, tuple[str, ...]], str] = {}
        self.duplicates = 0  # repeated (word, pronunciation) lines that were ignored
        for word, phonemes in entries:
            self.add(word, phonemes, origin)

    # ------------------------------------------------------------ building
    def add(self, word: str, phonemes: Sequence[str], origin: str = "<memory>") -> None:
        """Add one pronunciation (a repeat of an existing one is counted and ignored)."""
        word, pron = nfc(word), tuple(phonemes)
        if not word or not pron:
            raise LexiconError(f"{origin}: empty word or pronunciation for {_cut(word)}")
        prons = self._prons.setdefault(word, [])
        if pron in prons:
            self.duplicates += 1
            return
        prons.append(pron)
        self._origin[(word, pron)] = origin

    @classmethod
    def from_mapping(cls, mapping: dict[str, Sequence[str] | Sequence[Sequence[str]]],
                     origin: str = "<memory>") -> "Lexicon":
        """From ``{word: phonemes}`` or ``{word: [phonemes, ...]}``."""
        lex = cls()
        for word, value in mapping.items():
            prons = value if value and not isinstance(value[0], str) else [value]
            for pron in prons:
                lex.add(word, pron, origin)
        return lex

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "<lexicon>") -> "Lexicon":
        """Parse lexicon lines (see the module docstring for the rules).

        Raises:
            LexiconError: naming ``source:line`` for every malformed line.
        """
        return cls._parse(((i, line, "") for i, line in enumerate(lines, start=1)), source)

    @classmethod
    def read(cls, path: str | Path) -> "Lexicon":
        """Read a lexicon file in eSpeak's IPA, as written (other phone sets:
        :func:`speechtl.text.lexicon_import.read_lexicon`).

        Raises:
            LexiconError: the file is missing or lines are malformed (all named ``FILE:LINE``).
        """
        return cls._parse(read_lines(path), str(path))

    @classmethod
    def _parse(cls, lines: Iterable[tuple[int, str | None, str]], source: str) -> "Lexicon":
        lex = cls()
        problems: list[str] = []
        for number, line, problem in lines:
            where = f"{source}:{number}"
            if line is None:
                problems.append(problem)
                continue
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith(COMMENT):
                continue
            if _has_control(line):
                problems.append(f"{where}: control character in line {_cut(line)}")
                continue
            if line[0].isspace():
                problems.append(f"{where}: line starts with whitespace, so it has no word: {_cut(line)}")
                continue
            word, *phonemes = line.split()
            if not phonemes:
                problems.append(f"{where}: empty pronunciation for word {_cut(word)}")
                continue
            reserved = [p for p in phonemes if p in RESERVED]
            if reserved:
                problems.append(f"{where}: symbol {reserved[0]!r} in the pronunciation of {_cut(word)} is reserved "
                                f"({WORD_BOUNDARY!r} separates words, {BLANK!r} is the CTC blank)")
                continue
            lex.add(word, phonemes, where)
        raise_problems(source, problems)
        return lex

    # ------------------------------------------------------------- queries
    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and nfc(word) in self._prons

    def __len__(self) -> int:
        return len(self._prons)

    def __iter__(self) -> Iterator[str]:
        return iter(self._prons)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Lexicon) and self._prons == other._prons

    @property
    def words(self) -> list[str]:
        return list(self._prons)

    def pronunciations(self, word: str) -> list[tuple[str, ...]]:
        """The word's pronunciations (empty list for an unknown word)."""
        return list(self._prons.get(nfc(word), []))

    def items(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """``(word, pronunciation)`` pairs, every pronunciation of every word."""
        for word, prons in self._prons.items():
            for pron in prons:
                yield word, pron

    def origin(self, word: str, pronunciation: Sequence[str]) -> str:
        """Where a pronunciation came from (``FILE:LINE``, ``g2p``, ...)."""
        return self._origin.get((nfc(word), tuple(pronunciation)), "<memory>")

    def symbols(self) -> set[str]:
        return {p for _, pron in self.items() for p in pron}

    # ---------------------------------------------------------- combining
    def merge(self, override: "Lexicon") -> "Lexicon":
        """This lexicon with ``override``'s words on top: a word ``override`` has
        keeps only ``override``'s pronunciations (user entries win)."""
        out = Lexicon()
        for word, pron in self.items():
            if word not in override:
                out.add(word, pron, self.origin(word, pron))
        for word, pron in override.items():
            out.add(word, pron, override.origin(word, pron))
        return out

    def subset(self, words: Iterable[str]) -> "Lexicon":
        """Only the given words (those this lexicon lacks are left out)."""
        out = Lexicon()
        for word in words:
            for pron in self.pronunciations(word):
                out.add(word, pron, self.origin(word, pron))
        return out

    # --------------------------------------------------------- validation
    def unknown_symbols(self, inventory: Inventory) -> list[tuple[str, tuple[str, ...], str]]:
        """``(word, pronunciation, first unknown symbol)`` for every pronunciation the inventory cannot spell."""
        out = []
        for word, pron in self.items():
            bad = next((p for p in pron if p not in inventory or p in RESERVED), None)
            if bad is not None:
                out.append((word, pron, bad))
        return out

    def validate(self, inventory: Inventory, language: str = "") -> None:
        """Check every phoneme against a model's inventory.

        Raises:
            LexiconError: listing ``FILE:LINE: unknown phoneme 'x' in the pronunciation of 'word'``
                for each pronunciation with a symbol the model cannot output.
        """
        unknown = self.unknown_symbols(inventory)
        problems = [f"{self.origin(w, p)}: {_unknown_message(w, s, language)}" for w, p, s in unknown]
        hint = f"the model's {language + ' ' if language else ''}inventory has: {' '.join(inventory.phonemes)}"
        raise_problems(self.source(self.origin(w, p) for w, p, _ in unknown), problems, hint)

    def source(self, origins: Iterable[str] | None = None) -> str:
        """The file ``origins`` (default: every pronunciation's) come from, for an error header;
        ``"lexicon"`` when they come from several places or none."""
        origins = (self._origin.values() if origins is None else origins)
        files = {origin.rsplit(":", 1)[0] for origin in origins}
        return files.pop() if len(files) == 1 else "lexicon"

    # ------------------------------------------------------- phone sets
    def map_to(self, inventory: Inventory, language: str = "") -> tuple["Lexicon", list]:
        """Map every symbol the inventory lacks to its nearest symbol by articulatory features.

        Returns:
            The mapped lexicon (spelled with the inventory's symbols only) and one
            :class:`~speechtl.text.phonesets.PhoneMapping` per symbol mapped, to report.

        Raises:
            LexiconError: a symbol has no articulatory features (not IPA), named with its
                line, and the phone set flag to use when the lexicon looks like another.
        """
        from speechtl.text.phonesets import looks_like, plan_mapping, same_symbol

        phonemes = inventory.phonemes
        uses: dict[str, list[str]] = {}
        first: dict[str, tuple[str, str]] = {}  # symbol -> (origin, word) of its first use
        for word, pron in self.items():
            for symbol in dict.fromkeys(pron):
                if symbol in RESERVED or same_symbol(symbol, phonemes) != symbol:
                    uses.setdefault(symbol, []).append(f"{self.origin(word, pron)} {_cut(word)}")
                    first.setdefault(symbol, (self.origin(word, pron), word))
        plan = plan_mapping(uses, phonemes)
        unmappable = [m for m in plan.values() if m.target is None]
        if unmappable:
            head = f"the model's {language} head" if language else "the model"
            problems = [f"{first[m.symbol][0]}: phoneme {_cut(m.symbol)} in the pronunciation of "
                        f"{_cut(first[m.symbol][1])} is not in {head} and has no articulatory features "
                        "(not an IPA symbol)" for m in unmappable]
            guess = looks_like(self.symbols())
            if guess:
                problems.append(phoneset_hint(guess, "espeak"))
            raise_problems(self.source(first[m.symbol][0] for m in unmappable), problems)
        rename = {s: same_symbol(s, phonemes) for s in uses if s not in plan}
        rename.update({s: m.target for s, m in plan.items()})
        out = Lexicon()
        for word, pron in self.items():
            mapped = [rename.get(p, p) for p in pron]
            out.add(word, [p for p in mapped if p] or mapped, self.origin(word, pron))
        out.duplicates += self.duplicates
        return out, list(plan.values())

    # -------------------------------------------------------------- output
    def lines(self) -> Iterator[str]:
        for word, pron in self.items():
            yield f"{word} {' '.join(pron)}\n"

    def write(self, path: str | Path) -> None:
        """Write the lexicon (atomically: a temporary file renamed into place)."""
        _write_atomic(Path(path), "".join(self.lines()))


def phoneset_hint(guess: str, given: str) -> str:
    from speechtl.text.phonesets import NAMES

    if guess == given:
        return f"(read as {NAMES[given]}: check those symbols)"
    flag = "leave out --phoneset (eSpeak's IPA is the default)" if guess == "espeak" else f"pass --phoneset {guess}"
    return f"the lexicon looks like {NAMES[guess]}, not {NAMES[given]}: {flag}"


def _unknown_message(word: str, symbol: str, language: str) -> str:
    head = f"the model's {language} head" if language else "the model"
    return f"unknown phoneme {_cut(symbol)} in the pronunciation of {_cut(word)} ({head} cannot output it)"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def read_word_list(path: str | Path) -> list[str]:
    """Words, one per line (blank lines skipped, repeats dropped, order kept).

    Raises:
        LexiconError: a line is not UTF-8 or holds more than one word (all named).
    """
    words: dict[str, None] = {}
    problems = []
    for number, line, problem in read_lines(path):
        if line is None:
            problems.append(problem)
            continue
        fields = line.split()
        if len(fields) > 1:
            problems.append(f"{path}:{number}: expected one word per line, got {_cut(line.strip())} "
                            "(a lexicon with pronunciations? pass it as a lexicon)")
        elif fields:
            words[nfc(fields[0])] = None
    raise_problems(str(path), problems)
    return list(words)


def write_word_list(path: str | Path, words: Iterable[str]) -> None:
    """Write one word per line (atomically)."""
    _write_atomic(Path(path), "".join(f"{w}\n" for w in words))
