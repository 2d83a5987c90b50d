"""A source model without level normalisation may be fine-tuned with it; other feature changes stay refused."""

import pytest

from speechtl.data.config import FeatureConfig
from speechtl.errors import RecipeError
from speechtl.tasks.speech.model import check_source_features


def test_a_level_target_may_differ_from_the_source_but_not_the_filterbanks():
    check_source_features(FeatureConfig(), FeatureConfig(level_dbfs=-25.0), "builtin:x")
    check_source_features(FeatureConfig(level_dbfs=-20.0), FeatureConfig(), "builtin:x")
    with pytest.raises(RecipeError, match="features.num_mel_bins: 80 there, 40 here"):
        check_source_features(FeatureConfig(), FeatureConfig(num_mel_bins=40, level_dbfs=-25.0), "builtin:x")
