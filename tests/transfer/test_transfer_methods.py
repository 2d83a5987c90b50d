"""Exact properties of the transfer methods: GRL, L2-SP, KL, hinge loss, ConSE, DANN schedule, layer transfer."""

import math

import pytest
import torch
from torch import nn

from speechtl.errors import RecipeError
from speechtl.training.objective import Objective, StepOutput
from speechtl.transfer import layer_transfer
from speechtl.transfer.conse import conse_embed, conse_scores
from speechtl.transfer.conservative import L2SP, KLToSource, kl_to_source
from speechtl.transfer.dann import dann_lambda
from speechtl.transfer.domain_classifier import DomainClassifier
from speechtl.transfer.grl import GradientReversal, grad_reverse
from speechtl.transfer.labels import LabelSpace, label_values
from speechtl.transfer.zeroshot import dap_scores, hinge_rank_loss
from speechtl.tasks.image.model import build_image_model
from speechtl.tasks.image.recipe import ImageRecipe
from speechtl.tasks.image.objective import ClassificationTask


@pytest.mark.parametrize("lambd", [0.0, 0.3, 1.0, 2.5])
def test_grl_is_identity_forward_and_minus_lambda_backward(lambd):
    x = torch.randn(4, 5, 3, requires_grad=True)
    upstream = torch.randn(4, 5, 3)
    y = grad_reverse(x, lambd)
    assert torch.equal(y, x)
    y.backward(upstream)
    assert torch.equal(x.grad, upstream * -lambd)
    x.grad = None
    GradientReversal(lambd)(x).backward(upstream)
    assert torch.equal(x.grad, upstream * -lambd)


def test_dann_lambda_schedule():
    assert dann_lambda(0.0) == 0.0
    assert dann_lambda(0.5, 10.0) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert 0.999 < dann_lambda(1.0, 10.0) < 1.0


def _tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_l2sp_is_zero_at_source_and_gradient_is_exact():
    model = _tiny_net()
    anchors = {n: p.detach().clone() for n, p in model.named_parameters()}
    weight = 0.37
    method = L2SP(model, anchors)
    objective = Objective(_ConstTask(model), [(weight, method)])
    loss, _ = objective(None)
    assert float(loss.detach()) == 0.0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    model.zero_grad()
    loss, _ = objective(None)
    loss.backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, 2 * weight * (p.detach() - anchors[n]), rtol=1e-6, atol=1e-7)


class _ConstTask(nn.Module):
    """A task whose loss is a constant zero, so only the methods' terms move the model."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, batch):
        return StepOutput(loss=torch.zeros(()))


def test_kl_is_zero_when_models_agree_and_positive_otherwise():
    logits = {"en": torch.randn(7, 5), "de": torch.randn(3, 4)}
    assert float(kl_to_source(logits, logits)) == pytest.approx(0.0, abs=1e-6)
    other = {k: v + torch.randn_like(v) for k, v in logits.items()}
    assert float(kl_to_source(logits, other)) > 0
    with pytest.raises(RecipeError, match="same classes"):
        kl_to_source({"en": torch.randn(7, 5)}, {"en": torch.randn(7, 6)})


def test_kl_method_on_an_image_model_is_zero_for_its_own_copy():
    recipe = ImageRecipe()
    recipe.model.dropout = 0.0
    model = image_model(recipe).eval()
    task = ClassificationTask(model)
    kl = KLToSource(model, ClassificationTask)
    from speechtl.tasks.image.data import ImageBatch

    batch = ImageBatch(torch.rand(6, 3, 16, 16), torch.arange(6), torch.ones(6, dtype=torch.bool), ["digits"] * 6)
    value, _ = kl(model, batch, task(batch), 0.0)
    assert float(value.detach()) == pytest.approx(0.0, abs=1e-6)


def test_hinge_loss_is_zero_exactly_when_margin_holds():
    target = torch.tensor([0, 2])
    ok = torch.tensor([[3.0, 2.0, 1.5], [0.0, -1.0, 1.0]])  # margins exactly 1.0 and 1.0
    assert float(hinge_rank_loss(ok, target, margin=1.0)) == 0.0
    short = ok.clone()
    short[1, 0] = 0.25  # the second item's margin is now 0.75 over class 0
    assert float(hinge_rank_loss(short, target, margin=1.0)) == pytest.approx(0.25 / 2)
    # sum over wrong classes: both wrong classes violate by 1 and 2
    assert float(hinge_rank_loss(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([0]), 1.0)) == pytest.approx(3.0)


def test_conse_reproduces_a_hand_computed_example():
    probs = torch.tensor([[0.5, 0.3, 0.2]])
    seen = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # top-2: 0.5 * (1, 0) + 0.3 * (0, 1), divided by 0.8
    torch.testing.assert_close(conse_embed(probs, seen, top=2), torch.tensor([[0.625, 0.375]]))
    # top-3: (0.5 + 0.2, 0.3 + 0.2) / 1.0
    torch.testing.assert_close(conse_embed(probs, seen, top=3), torch.tensor([[0.7, 0.5]]))
    unseen = torch.tensor([[1.0, 0.1], [0.0, 1.0]])
    scores = conse_scores(probs, seen, unseen, top=2)
    assert int(scores.argmax(1)) == 0
    expected = torch.tensor([0.625, 0.375]) / math.hypot(0.625, 0.375) @ (unseen[0] / unseen[0].norm())
    assert float(scores[0, 0]) == pytest.approx(float(expected), rel=1e-6)


def test_dap_prefers_the_class_whose_attributes_fit():
    attrs = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    probs = torch.tensor([[0.9, 0.2, 0.8], [0.1, 0.7, 0.9]])
    scores = dap_scores(probs, attrs, prior=torch.full((3,), 0.5))
    assert scores.argmax(1).tolist() == [0, 1]


def test_domain_classifier_frame_level_ignores_padding_and_unlabelled():
    clf = DomainClassifier(4, 2, hidden=8, layers=1, level="frame")
    hidden = torch.randn(3, 5, 4)
    lengths = torch.tensor([5, 2, 3])
    loss, acc, count = clf.loss(hidden, lengths, torch.tensor([0, 1, -1]))
    assert count == 5 + 2
    hidden2 = hidden.clone()
    hidden2[1, 2:] = 100.0  # padding changes nothing
    hidden2[2] = -50.0  # nor does the unlabelled item
    loss2, _, _ = clf.loss(hidden2, lengths, torch.tensor([0, 1, -1]))
    torch.testing.assert_close(loss, loss2)


def test_label_space_maps_tags_and_unknowns():
    class B:
        def tags(self, key):
            return ["b", None, "a", "zz"]

    space = LabelSpace("x", ["a", "b"])
    assert space.ids(B()).tolist() == [1, -1, 0, -1]
    assert label_values(["10", "2", None, "1"]) == ["1", "2", "10"]


def image_model(recipe):
    return build_image_model(recipe.model, recipe.data.size, [str(c) for c in recipe.data.classes])


def _cnn_recipe():
    recipe = ImageRecipe()
    recipe.model.width = 4
    recipe.model.dim = 8
    recipe.model.dropout = 0.5
    return recipe


def test_layer_transfer_copies_exactly_the_named_weights_and_frozen_stay_unchanged():
    torch.manual_seed(1)
    source = image_model(_cnn_recipe())
    torch.manual_seed(2)
    target = image_model(_cnn_recipe())
    before = {n: v.clone() for n, v in target.state_dict().items()}
    state = source.state_dict()
    names = layer_transfer.select_weights(target, state, modules=["backbone"], blocks=1)
    assert names == ["backbone.frontend.0.weight", "backbone.frontend.0.bias",
                     "backbone.blocks.0.0.weight", "backbone.blocks.0.0.bias",
                     "backbone.blocks.0.2.weight", "backbone.blocks.0.2.bias"]
    layer_transfer.copy_weights(target, state, names)
    for n, v in target.state_dict().items():
        expected = state[n] if n in names else before[n]
        assert torch.equal(v, expected), n
    frozen_modules = layer_transfer.freeze(target, names)
    assert frozen_modules == ["backbone.frontend", "backbone.blocks.0"]
    task = ClassificationTask(target)
    groups = layer_transfer.param_groups(Objective(task), "task.model.", [], lr=0.1)
    opt = torch.optim.AdamW(groups, lr=0.1, weight_decay=0.1)
    from speechtl.tasks.image.data import ImageBatch

    batch = ImageBatch(torch.rand(8, 3, 16, 16), torch.arange(8), torch.ones(8, dtype=torch.bool), ["d"] * 8)
    target.train()
    assert not target.backbone.blocks[0].training and target.backbone.blocks[1].training
    task(batch).loss.backward()
    opt.step()
    after = target.state_dict()
    for n in names:
        assert torch.equal(after[n], state[n]), n
    assert not torch.equal(after["backbone.blocks.1.0.weight"], before["backbone.blocks.1.0.weight"])


def test_layer_transfer_selection_rules():
    source = image_model(_cnn_recipe())
    target = image_model(_cnn_recipe())
    state = source.state_dict()
    everything = layer_transfer.select_weights(target, state)
    assert set(everything) == set(state)
    k0 = layer_transfer.select_weights(target, state, ["backbone"], 0)
    assert k0 == ["backbone.frontend.0.weight", "backbone.frontend.0.bias"]
    with pytest.raises(RecipeError, match="the backbone has 3"):
        layer_transfer.select_weights(target, state, [], 4)
    groups = layer_transfer.param_groups(Objective(ClassificationTask(target)), "task.model.", k0, lr=1.0, lr_scale=0.1,
                                         no_decay=k0)
    lrs = sorted((g["lr"], g.get("weight_decay")) for g in groups)
    assert lrs == [(0.1, 0.0), (1.0, None)]


def test_kl_on_every_source_head_leaves_out_the_excluded_ones():
    """``transfer.kl.exclude``: a head the new data retrains is not pulled back to the source's outputs."""
    import copy
    from types import SimpleNamespace

    from speechtl.models.acoustic import build_acoustic_model
    from speechtl.tasks.speech.objective import CTCTask
    from speechtl.tasks.speech.recipe import Recipe
    from speechtl.text.inventory import Inventory

    recipe = Recipe()
    recipe.model.encoder, recipe.model.dim, recipe.model.layers, recipe.model.dropout = "tdnn", 32, 2, 0.0
    source = build_acoustic_model(recipe, {"en": Inventory(["a", "b"]), "de": Inventory(["a", "c"])}).eval()
    student = copy.deepcopy(source)
    with torch.no_grad():
        student.heads.heads["en"].weight.add_(torch.randn_like(student.heads.heads["en"].weight))
    batch = SimpleNamespace(feats=torch.randn(2, 40, recipe.features.num_mel_bins), lengths=torch.tensor([40, 30]))
    hidden, lengths = student(batch.feats, batch.lengths)
    out = StepOutput(loss=hidden.new_zeros(()), hidden=hidden, lengths=lengths)
    every = KLToSource(source, CTCTask, heads="source")
    assert float(every(student, batch, out, 0.0)[0].detach()) > 1e-3  # the changed en head counts
    without_en = KLToSource(source, CTCTask, heads="source", exclude=["en"])
    assert float(without_en(student, batch, out, 0.0)[0].detach()) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(RecipeError, match="none of the new model's outputs"):
        KLToSource(source, CTCTask, heads="source", exclude=["en", "de"])(student, batch, out, 0.0)
