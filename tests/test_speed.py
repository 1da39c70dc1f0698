"""The app's fast path: each speed step keeps the function; the layout choices hold."""

from __future__ import annotations

import copy

import pytest
import torch

from seg.inference import predict_logits
from seg.models import create_model
from seg.speed import OneDNNConv, fast_path, fold_batchnorm


@pytest.mark.parametrize("name", ["segnet_regular", "segnet_dsc"])
@pytest.mark.parametrize("shape", [(1, 3, 64, 64), (2, 3, 48, 80)])
def test_folding_and_packing_keep_the_function(name, shape):
    torch.manual_seed(0)
    model = create_model(name, base_channels=8)
    model.train()
    model(torch.rand(4, 3, 64, 64))  # BatchNorm statistics that are not the identity
    model.eval()
    x = torch.rand(shape)
    with torch.inference_mode():
        reference = model(x)
        folded = fold_batchnorm(copy.deepcopy(model))(x)
    assert torch.allclose(reference, folded, atol=1e-4)
    fast = fast_path(copy.deepcopy(model), input_size=64)
    assert any(isinstance(m, OneDNNConv) for m in fast.modules()), "oneDNN is part of every CPU build here"
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in list(fast.encoder.modules()) + list(fast.decoder.modules()))
    assert torch.allclose(predict_logits(fast, x), reference, atol=1e-4)
