"""Run a real network on tconv: replace every ``torch.nn.ConvTranspose{1,2,3}d`` in a model.

>>> import torch
>>> model = torch.nn.Sequential(torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), torch.nn.ReLU())
>>> x = torch.randn(1, 3, 8, 8)
>>> before = model(x)
>>> swap_conv_transpose(model)[0]
ConvTranspose2d(3, 2, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), method='auto')
>>> torch.allclose(model(x), before, atol=1e-5)
True
"""

from __future__ import annotations

from tconv.torch.modules import (
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    ConvTransposeNd,
)
from torch import nn

__all__ = ["swap_conv_transpose"]

_TCONV = {nn.ConvTranspose1d: ConvTranspose1d, nn.ConvTranspose2d: ConvTranspose2d, nn.ConvTranspose3d: ConvTranspose3d}


def swap_conv_transpose(model: nn.Module, *, method="auto") -> nn.Module:
    """Replace, in place, every ``torch.nn.ConvTranspose{1,2,3}d`` of ``model`` by tconv's, weights carried.

    Each replacement has the layer's arguments, device, dtype, training mode and a copy of its
    parameters (an optimizer built before the swap keeps the old tensors: build it after). Layers
    already tconv's, and subclasses of torch's layers (their ``forward`` may differ), are left alone.
    Returns ``model``, or the replacement when ``model`` itself is such a layer.
    """
    if type(model) in _TCONV and not isinstance(model, ConvTransposeNd):
        return _TCONV[type(model)].from_torch(model, method=method)
    for name, child in model.named_children():
        new = swap_conv_transpose(child, method=method)
        if new is not child:
            setattr(model, name, new)
    return model
