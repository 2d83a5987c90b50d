"""The package's layers: no import cycle, and no module imports a layer above its own.

Every import counts, those inside functions too (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import speechtl

PACKAGE = Path(speechtl.__file__).parent

# bottom to top; a module may import its own layer and those below it
LAYERS = [
    ("speechtl.errors", "speechtl.config", "speechtl.registry", "speechtl.tensors", "speechtl.outputs",
     "speechtl.files", "speechtl.resources"),
    ("speechtl.text",),
    ("speechtl.data",),
    ("speechtl.models",),
    ("speechtl.training",),
    ("speechtl.transfer",),
    ("speechtl.decoding",),
    ("speechtl.tasks",),
    ("speechtl.workflows",),
    ("speechtl.serve",),
    ("speechtl.cli", "speechtl.__main__"),
]
# the root package only exports the public API, lazily: it is above everything
TOP = "speechtl"


def module_names() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` (statements anywhere in the file)."""
    mods = module_names()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target not in (name, TOP):
                    graph[name].add(target)
    return graph


def layer_of(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_layers.py: place it")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [f"{m} -> {t}" for m, targets in import_graph().items() if m != TOP
              for t in targets if layer_of(t) > layer_of(m)]
    assert upward == []


def test_the_checks_catch_what_they_look_for():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_of("speechtl.models.acoustic") > layer_of("speechtl.data.features")
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("speechtl.somewhere")


def test_the_public_api():
    assert speechtl.load_recipe.__module__ == "speechtl.tasks"
    assert speechtl.train.__module__ == "speechtl.workflows.train"
    assert speechtl.evaluate.__module__ == "speechtl.workflows.evaluate"
    assert speechtl.Recognizer.__name__ == "Recognizer"
    with pytest.raises(AttributeError):
        speechtl.no_such_thing  # noqa: B018


def test_every_registered_transfer_method_is_a_recipe_name():
    from speechtl.transfer.config import METHOD_NAMES
    from speechtl.transfer.registry import METHODS

    assert sorted(METHODS.names()) == sorted(METHOD_NAMES)


def test_inference_imports_nothing_from_training():
    # decoding and serving need no trainer (autocast lives in models.precision)
    graph = import_graph()
    uses = {f"{m} -> {t}" for m, targets in graph.items() for t in targets
            if m.startswith(("speechtl.decoding", "speechtl.serve")) and t.startswith("speechtl.training")}
    assert not uses


def test_workflows_reach_speech_only_through_the_task_protocol():
    # speech-only steps (pre-training, self-training, add-language) live under tasks/speech;
    # a workflow finds them on the task object, so it works for any task that has them
    speech = [f"{m} -> {t}" for m, targets in import_graph().items() if m.startswith("speechtl.workflows")
              for t in targets if t.startswith("speechtl.tasks.speech")]
    assert speech == []


def test_tests_mirror_the_package_folders():
    """A test lives in the folder of the package layer it tests; only project-wide checks stay at the top."""
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"}
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= layers, f"test folders without a package folder: {sorted(folders - layers)}"
    top = sorted(p.name for p in tests.glob("test_*.py"))
    assert top == ["test_benchmark_design.py", "test_docs_site.py", "test_layers.py", "test_properties.py",
                   "test_readme_commands.py", "test_results_documents.py", "test_wheel.py"], top
