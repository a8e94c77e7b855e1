"""Loss targets are non-persistent buffers: ``.to()`` moves them, ``state_dict()`` skips them."""

import pytest

torch = pytest.importorskip("torch")

from imgkit.nets.losses import ContentLoss, GatysCriterion, GramLoss, gram_matrix  # noqa: E402
from imgkit.nets.multilayer import MultiLayerEncoder  # noqa: E402


def _encodings(seed):
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.rand(1, 4, 6, 5, generator=g), "b": torch.rand(1, 8, 3, 3, generator=g)}


def _tiny_encoder():
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    return MultiLayerEncoder([("a", conv), ("r", torch.nn.ReLU()), ("b", torch.nn.Conv2d(4, 8, 3))])


def test_gram_targets_are_buffers_that_move_with_the_module():
    loss = GramLoss(["a", "b"], [0.25, 0.75])
    assert loss.targets == {}
    with pytest.raises(RuntimeError, match="set_target"):
        loss(_encodings(0))
    loss.set_target([_encodings(1), _encodings(2)], [0.5, 0.5])
    want = {k: 0.5 * gram_matrix(_encodings(1)[k]) + 0.5 * gram_matrix(_encodings(2)[k]) for k in "ab"}
    for k in "ab":
        torch.testing.assert_close(loss.targets[k], want[k])
    assert {name for name, _ in loss.named_buffers()} == {"target_a", "target_b"}
    assert loss.state_dict() == {}  # non-persistent: not saved with the model
    before = loss(_encodings(3))
    assert before.dtype == torch.float32 and float(before) > 0
    loss.to(torch.float64)  # what .to(device) does to buffers; plain attributes would not follow
    assert all(t.dtype == torch.float64 for t in loss.targets.values())
    torch.testing.assert_close(loss({k: v.double() for k, v in _encodings(3).items()}),
                               before.double())
    loss.to("meta")
    assert all(t.device.type == "meta" for t in loss.targets.values())


def test_content_target_is_a_buffer_and_criterion_moves_everything():
    loss = ContentLoss("b")
    assert loss.target is None and loss.state_dict() == {}
    enc = _encodings(4)
    loss.set_target(enc)
    assert [name for name, _ in loss.named_buffers()] == ["target"]
    assert float(loss(enc)) == 0.0
    crit = GatysCriterion(_tiny_encoder(), content_layer="b", style_layers=["a"], tv_weight=1.0)
    img = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    crit.set_content(img)
    crit.set_styles([img.flip(-1)])
    terms = crit(img)
    assert float(terms["content"]) == 0.0 and float(terms["style"]) > 0
    crit.to(torch.float64)
    assert crit.content.target.dtype == torch.float64
    assert crit.style.targets["a"].dtype == torch.float64
    torch.testing.assert_close(crit(img.double())["total"], terms["total"].double(), rtol=1e-5, atol=1e-7)


@pytest.mark.gpu
def test_to_cuda_moves_the_targets():
    loss = GramLoss(["a"])
    loss.set_target([_encodings(6)])
    loss.to("cuda")
    assert loss.targets["a"].is_cuda
    assert loss({"a": _encodings(6)["a"].cuda()}).item() == pytest.approx(0.0, abs=1e-12)
