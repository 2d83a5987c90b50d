"""Training batches: Lhotse's dynamic bucketing sampler under the loader the training loop reads."""

import random

import pytest
from lhotse import CutSet
from lhotse.testing.dummies import dummy_cut

from speechtl.data.sampler import CutBatchLoader


class Ids:
    """A dataset that returns a batch's cut ids (what the loader chose)."""

    def __getitem__(self, cuts):
        return [c.id for c in cuts]


@pytest.fixture(scope="module")
def cuts(tmp_path_factory):
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("cuts") / "cuts.jsonl.gz"
    CutSet.from_cuts(dummy_cut(i, duration=rng.uniform(0.5, 6.0)) for i in range(300)).to_file(path)
    return CutSet.from_jsonl_lazy(path)  # read lazily, as training does


def durations(cuts):
    return {c.id: c.duration for c in cuts}


def test_an_epoch_covers_every_cut_once_within_the_budget(cuts):
    batches = list(CutBatchLoader(cuts, Ids(), max_duration=30, seed=1).epoch(0))
    seconds = durations(cuts)
    assert sorted(i for b in batches for i in b) == sorted(seconds)
    assert all(sum(seconds[i] for i in b) <= 30 + 1e-6 for b in batches)


def test_epochs_differ_and_are_reproducible(cuts):
    loader = CutBatchLoader(cuts, Ids(), max_duration=30, seed=1)
    e0, e1 = list(loader.epoch(0)), list(loader.epoch(1))
    assert list(loader.epoch(0)) == e0 and e0 != e1


def test_ranks_take_turns_in_the_one_sequence(cuts):
    one = list(CutBatchLoader(cuts, Ids(), max_duration=30, seed=2).epoch(3))
    r0 = list(CutBatchLoader(cuts, Ids(), max_duration=30, seed=2, rank=0, world_size=2).epoch(3))
    r1 = list(CutBatchLoader(cuts, Ids(), max_duration=30, seed=2, rank=1, world_size=2).epoch(3))
    assert [b for pair in zip(r0, r1) for b in pair] == one[: len(one) // 2 * 2]
    assert len(r0) == len(r1) == len(one) // 2  # an odd last batch is left out: no rank waits for another


def test_resume_skips_consumed_batches(cuts):
    loader = CutBatchLoader(cuts, Ids(), max_duration=30, seed=3)
    full = list(loader.epoch(4))
    assert list(loader.epoch(4, start=5)) == full[5:]


def test_workers_make_the_same_batches(cuts):
    here = list(CutBatchLoader(cuts, Ids(), max_duration=30, seed=5).epoch(0))
    workers = list(CutBatchLoader(cuts, Ids(), max_duration=30, seed=5, num_workers=2).epoch(0))
    assert workers == here
