"""Property-based tests (hypothesis) of the recipe parser and the manifest parsers.

Whatever the input, a parser either returns a well-formed result or raises
its own error type naming where the problem is; never another exception.
"""

import dataclasses
import json
import tempfile
import typing
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from speechtl.config import from_dict, load_yaml, set_override, to_dict
from speechtl.data.kaldi import kaldi_lines
from speechtl.data.labels import G2P_REJECTED, label_supervisions, resolve_language
from speechtl.data.manifests import read_manifest
from speechtl.errors import ManifestError, RecipeError
from speechtl.tasks.speech.recipe import Recipe
from speechtl.data.config import TextConfig
from speechtl.text.languages import LANGUAGES
from speechtl.text.normalize import normalize_text

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ recipes
def leaf_fields(cls=Recipe, prefix=()):
    """``(path, annotation)`` of every non-dataclass field of the recipe, recursively."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from leaf_fields(tp, prefix + (f.name,))
        else:
            yield prefix + (f.name,), tp


LEAVES = [(p, tp) for p, tp in leaf_fields() if typing.get_origin(tp) is not list or p[-1] != "parts"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
ANY_VALUE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                         max_leaves=6)


def fits(value, tp) -> bool:
    """Whether ``value`` satisfies ``tp`` the way speechtl.config reads it."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp in (str, bool):
        return isinstance(value, tp)
    if origin is tuple:
        args = typing.get_args(tp)
        return isinstance(value, (list, tuple)) and len(value) == len(args) and all(map(fits, value, args))
    if origin is list:
        return isinstance(value, (list, tuple)) and all(fits(v, typing.get_args(tp)[0]) for v in value)
    if origin is dict:
        kt, vt = typing.get_args(tp)
        return isinstance(value, dict) and all(fits(k, kt) and fits(v, vt) for k, v in value.items())
    return False


def nest(path, value) -> dict:
    for key in reversed(path):
        value = {key: value}
    return value


@SETTINGS
@given(st.sampled_from(LEAVES), ANY_VALUE)
def test_any_value_for_any_key_is_accepted_or_named(leaf, value):
    path, tp = leaf
    try:
        recipe = from_dict(Recipe, nest(path, value))
    except RecipeError as err:
        assert str(err).startswith("data.") or str(err).startswith(".".join(path)), (path, str(err))
        if not fits(value, tp):
            assert str(err).startswith(".".join(path))
        return
    assert fits(value, tp), (path, value)
    stored = to_dict(recipe)
    for key in path:
        stored = stored[key]
    assert stored == (list(value) if isinstance(value, tuple) else value) or stored == value
    assert from_dict(Recipe, to_dict(recipe)) == recipe  # round trip


@SETTINGS
@given(st.sampled_from(LEAVES), st.text(min_size=1, max_size=10))
def test_unknown_keys_are_named(leaf, name):
    section = leaf[0][:-1]
    assume(name not in {p[len(section)] for p, _ in LEAVES if p[: len(section)] == section and len(p) > len(section)})
    assume(name not in ("synth", "text", "parts", "data", "features", "specaugment", "model", "train"))
    with pytest.raises(RecipeError, match="unknown key"):
        from_dict(Recipe, nest(section + (name,), 1))


@SETTINGS
@given(st.one_of(st.text(max_size=40),
                 st.tuples(st.sampled_from(LEAVES), st.sampled_from(["1", "0.5", "x", "[en, de]", "true", "", "{}"]))
                 .map(lambda leaf: f"{'.'.join(leaf[0][0])}={leaf[1]}")))
@example("train.max_steps=7")
@example("model.dim=big")
@example("train.max_steps.x=1")
def test_any_override_is_applied_or_refused_clearly(assignment):
    data = {}
    try:
        set_override(data, assignment)
        recipe = from_dict(Recipe, data)
    except RecipeError as err:
        assert str(err).strip()  # refused with a message
        return
    # applied: the recipe holds the assigned value at the assigned key
    node, stored = data, to_dict(recipe)
    for part in assignment.split("=", 1)[0].strip().split("."):
        node, stored = node[part], stored[part]
    assert stored == node or (isinstance(stored, (list, tuple)) and list(stored) == list(node)) \
        or (isinstance(stored, float) and stored == float(node)), (assignment, stored, node)


@SETTINGS
@given(st.binary(max_size=200))
def test_any_recipe_file_loads_or_is_refused_clearly(content):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.yaml"
        path.write_bytes(content)
        try:
            data = load_yaml(path)
        except RecipeError as err:
            assert str(path) in str(err)
            return
        assert isinstance(data, dict)
        try:
            from_dict(Recipe, data)
        except RecipeError:
            pass


# ---------------------------------------------------------------- manifests
RECORDINGS = st.builds(
    lambda rid, rate, n, ch: {"id": rid, "sources": [{"type": "file", "channels": list(range(ch)), "source": f"{rid}.wav"}],
                              "sampling_rate": rate, "num_samples": n, "duration": n / rate,
                              "channel_ids": list(range(ch))},
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1, max_size=12),
    st.sampled_from([8000, 16000, 22050, 48000]), st.integers(1, 10**7), st.integers(1, 4))
LINES = st.one_of(RECORDINGS.map(json.dumps), st.text(max_size=30), st.binary(max_size=30),
                  st.sampled_from(["", "{}", "[]", "null", '{"id": 1}', '{"sources": []}']))


@SETTINGS
@given(st.lists(LINES, max_size=6))
def test_any_manifest_reads_or_names_its_line(lines):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.jsonl"
        path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass")
                                    for x in lines))
        try:
            manifest = read_manifest(path)
        except ManifestError as err:
            assert str(err).startswith(str(path))
            return
        assert len(manifest) == len({item.id for item in manifest}) > 0


@SETTINGS
@given(st.lists(RECORDINGS, min_size=1, max_size=5, unique_by=lambda r: r["id"]))
def test_valid_recordings_round_trip(recordings):
    from lhotse import Recording, RecordingSet

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "r.jsonl.gz"
        RecordingSet.from_recordings(Recording.from_dict(dict(r)) for r in recordings).to_file(path)
        assert [r.to_dict() for r in read_manifest(path, "recordings")] == \
               [Recording.from_dict(dict(r)).to_dict() for r in recordings]


@SETTINGS
@given(st.lists(st.one_of(st.text(max_size=25), st.binary(max_size=25)), max_size=8), st.integers(1, 2))
def test_any_kaldi_table_parses_or_names_its_line(lines, min_fields):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "utt2spk"
        content = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in lines)
        path.write_bytes(content)
        try:
            rows = list(kaldi_lines(path, min_fields))
        except ManifestError as err:
            assert str(err).startswith(f"{path}:")
            return
        text = content.decode("utf-8")
        expected = [ln.split(maxsplit=1) for ln in text.splitlines() if ln.split()]
        assert [(k, v) for _, k, v in rows] == [(f[0], f[1].strip() if len(f) > 1 else "") for f in expected]
        assert len({k for _, k, _ in rows}) == len(rows)


# --------------------------------------------------------------- transcripts
@SETTINGS
@given(st.text(max_size=60))
def test_normalized_text_is_clean_and_stable(text):
    out = normalize_text(text)
    assert normalize_text(out) == out  # idempotent
    assert out == " ".join(out.split())  # single spaces, no ends
    for i, ch in enumerate(out):
        if ch in "'-":  # kept only between two letters or digits
            assert 0 < i < len(out) - 1 and out[i - 1] not in " '-" and out[i + 1] not in " '-"
        elif ch != " ":
            assert unicodedata.category(ch)[0] in "LMN", (ch, unicodedata.category(ch))


@SETTINGS
@given(st.text(max_size=12))
def test_resolve_language_never_raises(name):
    assert resolve_language(name) in set(LANGUAGES) | {None}


@SETTINGS
@given(st.lists(st.text(max_size=20), max_size=12), st.data())
def test_labelling_keeps_or_counts_every_supervision(texts, data):
    from lhotse import SupervisionSegment

    prelabelled = data.draw(st.sets(st.integers(0, max(0, len(texts) - 1))))

    def fake_g2p(batch, language):  # letters as phonemes; some texts rejected as eSpeak's None
        return [None if len(t) % 7 == 3 else [list(w) for w in t.split()] for t in batch]

    sups = [SupervisionSegment(f"u{i}", f"r{i}", 0, 1, text=t, custom={"phonemes": "a b"} if i in prelabelled else None)
            for i, t in enumerate(texts)]
    kept, report = label_supervisions(sups, "en", TextConfig(), g2p=fake_g2p)
    dropped = sum(report.dropped.get("en", {}).values())
    assert report.kept["en"] == len(kept) and len(kept) + dropped == len(texts)
    assert all(s.custom["phonemes"] and s.language == "en" and s.text == normalize_text(s.text) for s in kept)
    assert set(report.dropped.get("en", {})) <= {G2P_REJECTED, "empty transcript after normalisation"}
