import pytest
import torch

from speechtl.errors import LanguageError
from speechtl.tasks.speech.model import build_model
from speechtl.models.backbone import pool
from speechtl.models.encoders import ENCODER_INPUTS, ENCODERS
from speechtl.models.heads import LanguageHeads
from speechtl.models.config import ModelConfig
from speechtl.tasks.speech.recipe import Recipe
from speechtl.text.inventory import BLANK, Inventory


def _recipe(encoder, **kw):
    return Recipe(model=ModelConfig(encoder=encoder, dim=32, layers=2, heads=2, ff_dim=64, kernel_size=5,
                                    dropout=0.0, **kw))


INVS = {"en": Inventory(["a", "b", "c"]), "de": Inventory(["a", "x", "y", "z"])}


@pytest.mark.parametrize("encoder", [n for n in ENCODERS.names() if ENCODER_INPUTS.get(n, "fbank") == "fbank"])
def test_encoder_contract_and_batched_equals_per_item(encoder):
    model = build_model(_recipe(encoder), INVS).eval()
    x = torch.randn(3, 37, 80)
    lengths = torch.tensor([37, 20, 9])
    hidden, hlens = model(x, lengths)
    # the contract: forward(x, lengths) -> (hidden, lengths), hidden's width announced as out_dim
    assert hidden.shape == (3, int(hlens.max()), model.out_dim) and model.out_dim == model.encoder.out_dim == 32
    assert hlens.dtype == lengths.dtype and hlens.shape == lengths.shape
    assert hlens.tolist() == [10, 5, 3]  # subsampling 4: ceil(ceil(n / 2) / 2)
    for i in range(3):
        h1, l1 = model(x[i : i + 1, : lengths[i]], lengths[i : i + 1])
        torch.testing.assert_close(hidden[i, : hlens[i]], h1[0, : l1[0]], atol=1e-4, rtol=1e-4)


def test_heads_per_language_sizes_and_unknown_language():
    model = build_model(_recipe("blstm"), INVS)
    hidden, hlens = model(torch.randn(2, 40, 80), torch.tensor([40, 40]))
    assert model.log_probs(hidden, "en").shape[-1] == len(INVS["en"]) == 5
    assert model.log_probs(hidden, "de").shape[-1] == 6
    torch.testing.assert_close(model.log_probs(hidden, "de").exp().sum(-1), torch.ones(2, hlens[0].item()))
    with pytest.raises(LanguageError, match=r"no head for language 'fr'; it has: en, de"):
        model.log_probs(hidden, "fr")


def test_head_addition_copies_shared_rows():
    heads = LanguageHeads(8, INVS)
    new = Inventory(["a", "z", "q"])
    head = heads.add("nl", new, init_from=heads)
    de = heads.heads["de"]
    assert torch.equal(head.weight[new.index["z"]], de.weight[INVS["de"].index["z"]])
    assert torch.equal(head.weight[new.index[BLANK]], heads.heads["en"].weight[0])
    assert heads.languages == ["en", "de", "nl"]


def test_inventory_order_and_errors():
    inv = Inventory.from_transcripts(["b a | c", "a"])
    assert inv.tokens == [BLANK, "|", "a", "b", "c"]
    assert inv.encode("a | b") == [2, 1, 3]
    assert inv.decode([3, 1, 2]) == ["b", "|", "a"]
    with pytest.raises(Exception, match="phoneme 'q' is not in the inventory"):
        inv.encode("a q", source="utt1")
    assert Inventory.from_tokens(inv.tokens) == inv


def test_pool_respects_lengths():
    h = torch.tensor([[[1.0], [3.0], [100.0]]])
    assert pool(h, torch.tensor([2])).item() == 2.0
    assert pool(torch.ones(2, 5), None).shape == (2, 5)
