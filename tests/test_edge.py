"""seg/deploy/edge.py's unpooling gives MaxUnpool2d's outputs, bit for bit, ties included."""

from __future__ import annotations

import pytest
import torch

from seg.deploy.edge import EdgeSegNet, WindowMax
from seg.model.checkpoint import load_checkpoint, paths
from seg.model.factory import create_model
from seg.model.fastpath import fold_batchnorm

VARIANTS = ["segnet_regular", "segnet_dsc"]


def test_the_mask_marks_the_first_maximum_of_each_window_as_max_pool_indices_do():
    x = torch.tensor([[[[1., 5., 0., 0.], [5., 2., 0., 0.], [3., 3., 7., 1.], [3., 3., 2., 7.]]]])
    pooled, mask = WindowMax(1).pool(x)
    reference, indices = torch.nn.functional.max_pool2d(x, 2, return_indices=True)
    assert torch.equal(pooled, reference)
    expected = torch.zeros(16)
    expected[indices.flatten()] = 1
    assert torch.equal(mask.flatten(), expected)  # one per window, the first in raster order
    y = torch.tensor([[[[10., 20.], [30., 40.]]]])
    assert torch.equal(WindowMax(1).unpool(y, mask), torch.nn.functional.max_unpool2d(y, indices, 2))


@pytest.mark.parametrize("name", VARIANTS)
def test_edge_segnet_equals_segnet_with_random_weights_and_zero_ties(name):
    torch.manual_seed(0)
    net = fold_batchnorm(create_model(name, base_channels=8).eval())
    x = torch.rand(3, 3, 64, 64)
    x[:, :, :32] = 0  # flat regions: all-zero windows after the ReLUs, where ties are everywhere
    with torch.inference_mode():
        assert torch.equal(EdgeSegNet(net)(x), net(x))


def test_sides_not_divisible_by_16_are_refused():
    with pytest.raises(ValueError, match="divisible by 16"):
        EdgeSegNet(create_model("segnet_dsc", base_channels=4).eval())(torch.rand(1, 3, 72, 64))


@pytest.mark.slow
@pytest.mark.parametrize("name", VARIANTS)
def test_bit_equal_on_real_test_images_with_the_shipped_weights(name, data_root):
    from seg.deploy.export import real_images

    model, _ = load_checkpoint(paths("checkpoints", name)["weights"])
    net = fold_batchnorm(model)
    edge = EdgeSegNet(net)
    with torch.inference_mode():
        for x in real_images("test", 16, 128, data_root).split(1):  # batch 1, as exported
            assert torch.equal(edge(x), net(x))
