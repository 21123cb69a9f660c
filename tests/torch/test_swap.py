"""A real network run on tconv: swap its transposed convolutions, get the same numbers.

A small U-Net — an encoder of strided convolutions, a decoder of ``ConvTranspose2d`` up-sampling
layers with skip connections — gives the same output and the same gradient for every parameter
and for its input with tconv's layers swapped in as with torch.nn's. ``torch.compile`` runs a model
with tconv's layers too.

Run as a script to print the largest differences (the README's figures):
``PYTHONPATH=src python tests/test_torch_swap.py``.
"""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")
import tconv.torch as tt  # noqa: E402
from torch import nn  # noqa: E402


class TinyUNet(nn.Module):
    """Two down-sampling steps (stride-2 convolutions), two up-sampling steps (transposed
    convolutions, one k4 s2 p1 and one k3 s2 p1 op1), each followed by concatenation with the skip."""

    def __init__(self, channels=3, width=4):
        super().__init__()
        w = width
        self.inp = nn.Conv2d(channels, w, 3, padding=1)
        self.down1 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1)
        self.mix2 = nn.Conv2d(4 * w, 2 * w, 3, padding=1)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1)
        self.mix1 = nn.Conv2d(2 * w, w, 3, padding=1)
        self.out = nn.Conv2d(w, channels, 1)

    def forward(self, x):
        s0 = torch.relu(self.inp(x))
        s1 = torch.relu(self.down1(s0))
        h = torch.relu(self.down2(s1))
        h = torch.relu(self.mix2(torch.cat([self.up2(h), s1], dim=1)))
        h = torch.relu(self.mix1(torch.cat([self.up1(h), s0], dim=1)))
        return self.out(h)


def outputs_and_gradients(model, x, forward=None):
    """Output, input gradient and parameter gradients of one pass (``forward`` defaults to ``model``)."""
    x = x.clone().requires_grad_()
    model.zero_grad()
    y = (forward or model)(x)
    (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape).to(y.dtype)).sum().backward()
    return y.detach(), x.grad, {name: p.grad for name, p in model.named_parameters()}


def test_swap_replaces_every_conv_transpose_and_nothing_else():
    torch.manual_seed(0)
    model = TinyUNet()
    swapped = tt.swap_conv_transpose(copy.deepcopy(model), method="polyphase")
    kinds = {name: type(m) for name, m in swapped.named_modules()}
    assert kinds["up2"] is tt.ConvTranspose2d and kinds["up1"] is tt.ConvTranspose2d
    assert kinds["down1"] is nn.Conv2d
    assert swapped.up1.method == "polyphase" and swapped.up1.output_padding == (1, 1)
    assert tt.swap_conv_transpose(swapped) is swapped  # already tconv's: left alone
    single = tt.swap_conv_transpose(nn.ConvTranspose1d(2, 3, 4))
    assert type(single) is tt.ConvTranspose1d


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_unet_gives_the_same_outputs_and_gradients(dtype):
    torch.manual_seed(0)
    model = TinyUNet().to(dtype)
    swapped = tt.swap_conv_transpose(copy.deepcopy(model))
    x = torch.randn(2, 3, 16, 16, dtype=dtype)
    y0, gx0, gp0 = outputs_and_gradients(model, x)
    y1, gx1, gp1 = outputs_and_gradients(swapped, x)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert y1.shape == y0.shape == x.shape
    assert torch.allclose(y1, y0, rtol=0, atol=tol * y0.abs().max())
    assert torch.allclose(gx1, gx0, rtol=0, atol=tol * gx0.abs().max())
    assert gp1.keys() == gp0.keys()
    for name in gp0:
        assert torch.allclose(gp1[name], gp0[name], rtol=0, atol=tol * gp0[name].abs().max()), name


def test_torch_compile_runs_a_model_with_tconv_layers():
    """tconv's Functions run eagerly inside the compiled model (a graph break); the numbers are unchanged.

    Kept small: compiling costs seconds per graph, and the graph breaks split the model into several."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)
    )
    swapped = tt.swap_conv_transpose(copy.deepcopy(model))
    compiled = torch.compile(swapped)
    x = torch.randn(1, 2, 8, 8)
    y0, gx0, gp0 = outputs_and_gradients(model, x)
    y1, gx1, gp1 = outputs_and_gradients(swapped, x, forward=compiled)
    assert torch.allclose(y1, y0, atol=1e-5)
    assert torch.allclose(gx1, gx0, atol=1e-5)
    assert all(torch.allclose(gp1[n], gp0[n], atol=1e-5) for n in gp0)


if __name__ == "__main__":
    for dtype in (torch.float64, torch.float32):
        torch.manual_seed(0)
        model = TinyUNet().to(dtype)
        swapped = tt.swap_conv_transpose(copy.deepcopy(model))
        x = torch.randn(2, 3, 16, 16, dtype=dtype)
        (y0, gx0, gp0), (y1, gx1, gp1) = outputs_and_gradients(model, x), outputs_and_gradients(swapped, x)
        diffs = [(y1 - y0).abs().max(), (gx1 - gx0).abs().max(), *((gp1[n] - gp0[n]).abs().max() for n in gp0)]
        print(
            f"{dtype}: U-Net output, input gradient and {len(gp0)} parameter gradients: "
            f"max |tconv - torch.nn| = {max(diffs).item():.2e}"
        )
