"""The image side: digits-M, the attribute table, the balanced sampler, image recipes' errors."""

import pytest
import torch

from speechtl.errors import RecipeError
from speechtl.tasks import load_recipe
from speechtl.tasks.image.attributes import DIGIT_ATTRIBUTES, DIGIT_TABLE
from speechtl.tasks.image.data import GroupBatchSampler
from speechtl.tasks.image.digits import blend, domain_images, few_shot, make_textures, stratified_split
from speechtl.tasks.image.recipe import ImageRecipe


def test_digits_m_is_deterministic_and_blends_absolute_difference():
    x, y = domain_images("digits", 16)
    m, my = domain_images("digits-m", 16)
    assert x.shape == m.shape == (1797, 3, 16, 16) and torch.equal(y, my)
    assert 0 <= float(m.min()) and float(m.max()) <= 1
    textures = make_textures()
    torch.testing.assert_close(blend(x[:5, :1], textures), m[:5])
    torch.testing.assert_close(blend(x[3:4, :1], textures, seed=1234), blend(x[3:4, :1], textures, seed=1234))
    assert not torch.equal(m[0], x[0])


def test_attribute_table_is_unique_per_class():
    assert len(set(DIGIT_TABLE.values())) == 10
    assert all(len(v) == len(DIGIT_ATTRIBUTES) for v in DIGIT_TABLE.values())


def test_split_and_few_shot():
    _, y = domain_images("digits", 8)
    train, test = stratified_split(y, 0.3, 0)
    assert not set(train.tolist()) & set(test.tolist())
    shots = few_shot(train, y, [5, 6], 5, seed=1)
    assert len(shots) == 10 and sorted(y[shots].tolist()) == [5] * 5 + [6] * 5
    assert not torch.equal(shots, few_shot(train, y, [5, 6], 5, seed=2))
    with pytest.raises(RecipeError, match="data.shots"):
        few_shot(train, y, [5], 10000, seed=0)


def test_group_sampler_balances_domains_and_resumes():
    groups = ["a"] * 10 + ["b"] * 30
    sampler = GroupBatchSampler(groups, 8, seed=3)
    batches = list(sampler)
    assert len(batches) == 8  # 30 items of b, 4 per batch
    for b in batches:
        assert sum(i < 10 for i in b) == 4 and len(b) == 8
    sampler.set_epoch(0, start=5)
    assert list(sampler) == batches[5:]


def test_image_recipe_types_are_checked(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("task: image\ndata:\n  classes: [1, 12]\n")
    with pytest.raises(RecipeError, match="data.classes"):
        load_recipe(p)
    p.write_text("task: image\ntransfer:\n  methods: [dan]\n")
    with pytest.raises(RecipeError, match=r"transfer.methods\[0\]: unknown method 'dan'"):
        load_recipe(p)
    p.write_text("task: image\ntransfer:\n  methods: [l2sp]\n")
    with pytest.raises(RecipeError, match="l2sp and kl need a source model"):
        load_recipe(p)
    assert isinstance(load_recipe(p, ["transfer.source=x"]), ImageRecipe)
