from speechtl.data.sampler import BucketBatchSampler

LENGTHS = [50 + (i * 37) % 400 for i in range(200)]


def test_batches_cover_every_item_once_within_budget():
    s = BucketBatchSampler(LENGTHS, max_frames=2000, seed=1)
    batches = list(s)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(LENGTHS)))
    for b in batches:
        assert max(LENGTHS[i] for i in b) * len(b) <= 2000


def test_epochs_differ_and_are_reproducible():
    s = BucketBatchSampler(LENGTHS, max_frames=2000, seed=1)
    s.set_epoch(0)
    e0 = list(s)
    s.set_epoch(1)
    e1 = list(s)
    s.set_epoch(0)
    assert list(s) == e0 and e0 != e1


def test_ranks_split_the_same_global_batches():
    one = BucketBatchSampler(LENGTHS, max_frames=4000, seed=2)
    r0 = BucketBatchSampler(LENGTHS, max_frames=2000, seed=2, rank=0, world_size=2)
    r1 = BucketBatchSampler(LENGTHS, max_frames=2000, seed=2, rank=1, world_size=2)
    for g, a, b in zip(one, r0, r1, strict=True):
        assert sorted(a + b) == sorted(g) and a and b


def test_resume_skips_consumed_batches():
    s = BucketBatchSampler(LENGTHS, max_frames=2000, seed=3)
    s.set_epoch(4)
    full = list(s)
    s.set_epoch(4, start=5)
    assert list(s) == full[5:] and len(s) == len(full) - 5


def test_too_long_utterance_is_reported():
    import pytest

    with pytest.raises(ValueError, match="exceeds max_frames"):
        BucketBatchSampler([10, 5000], max_frames=1000)
