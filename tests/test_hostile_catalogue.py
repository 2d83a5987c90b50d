"""Issue #18's hostile-input catalogue: every probe a clear message, the right exit code, never a traceback.

The probes live in ``tests/hostile_catalogue.py`` (``benchmarks/hostile_catalogue.py``
runs the same probes as separate processes for ``docs/results/hardening.md``).
"""

from __future__ import annotations

import re

import pytest

from hostile_catalogue import PROBES, make_fixtures
from speechtl.cli import main


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    return make_fixtures(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_hostile_probe(probe, fixtures, capsys):
    code = main(probe.argv(fixtures))
    err = capsys.readouterr().err
    assert code == probe.code, err[-2000:]
    assert re.search(probe.expect, err, re.M), err[-2000:]
    assert "Traceback" not in err and len(err) < 5000  # one paragraph, values cut
    if code == 2:
        assert not (fixtures / "exp").exists()  # refused before anything was written
