"""The app's fast path: each speed step keeps the function; the layout choices hold."""

from __future__ import annotations

import pytest
import torch

from seg.model.factory import create_model
from seg.model.fastpath import OneDNNConv, fast_path, fold_batchnorm
from seg.model.layers import ConvBNReLU
from seg.model.variants import VARIANTS
from seg.serve.inference import predict_logits


@pytest.mark.parametrize("name", VARIANTS)
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
        folded = fold_batchnorm(model)(x)
    assert torch.allclose(reference, folded, atol=1e-4)
    fast = fast_path(model, input_size=64)
    assert any(isinstance(m, OneDNNConv) for m in fast.modules()), "oneDNN is part of every CPU build here"
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in list(fast.encoder.modules()) + list(fast.decoder.modules()))
    assert torch.allclose(predict_logits(fast, x), reference, atol=1e-4)


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("transform", [fold_batchnorm, fast_path])
def test_the_fast_path_leaves_the_trained_model_untouched(name, transform):
    torch.manual_seed(0)
    model = create_model(name, base_channels=8).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    parts = [(type(m.conv), type(m.bn), type(m.act)) for m in model.modules() if isinstance(m, ConvBNReLU)]
    transform(model)
    assert model.state_dict().keys() == before.keys()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert [(type(m.conv), type(m.bn), type(m.act)) for m in model.modules() if isinstance(m, ConvBNReLU)] == parts
    assert not any(isinstance(m, OneDNNConv) for m in model.modules())
