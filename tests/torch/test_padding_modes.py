"""padding_mode for conv and conv_transpose: conv equals PyTorch's, conv_transpose is its adjoint.

* conv with mode m equals ``torch.nn.functional.pad(x, mode=m)`` followed by a valid conv (that is
  what ``torch.nn.Conv*d(padding_mode=m)`` does);
* conv_transpose with mode m is the adjoint: the dot-product test and torch's own autograd
  (the gradient of the padded conv with respect to its input) against it;
* circular is the periodic transposed convolution, checked against an explicit modular-index loop.
"""

from __future__ import annotations

import numpy as np
import pytest

import tconv

torch = pytest.importorskip("torch")
F = torch.nn.functional

MODES = ("circular", "reflect", "replicate")


def _torch_conv(u, w, bias, stride, padding, dilation, groups, mode):
    """PyTorch's padded convolution: F.pad with the mode (pads listed last axis first), then valid conv."""
    nd = w.ndim - 2
    flat = [p for b in reversed(padding) for p in (b, b)]
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    return conv(F.pad(u, flat, mode=mode), w, bias, stride, 0, dilation, groups)


def random_case(rng, mode):
    """A random geometry with padding p < o on every axis (reflect's rule), as torch tensors."""
    nd = int(rng.integers(1, 4))
    groups = int(rng.integers(1, 3))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    k, s, d = rng.integers(1, 4, nd), rng.integers(1, 4, nd), rng.integers(1, 3, nd)
    i = rng.integers(1, 5, nd)
    keff = d * (k - 1) + 1
    p = np.minimum(rng.integers(0, 4, nd), np.maximum((i - 1) * s + keff - 1, 0) // 2)
    op = np.where(rng.random(nd) < 0.5, rng.integers(0, 3, nd) % s, 0)  # op < s: conv of size o gives i
    o = (i - 1) * s + keff - 2 * p + op
    if mode in ("reflect", "circular"):  # PyTorch needs p < o (reflect), p <= o (circular: one wrap)
        p = np.minimum(p, o - 1 if mode == "reflect" else o)
        o = (i - 1) * s + keff - 2 * p + op
    geom = dict(stride=tuple(map(int, s)), padding=tuple(map(int, p)), dilation=tuple(map(int, d)), groups=groups)
    y = torch.randn(2, c_in, *map(int, i), dtype=torch.float64)  # the transposed conv's input
    w = torch.randn(c_in, c_out // groups, *map(int, k), dtype=torch.float64)  # (C_small, C_large/G, *k)
    bias = torch.randn(c_in, dtype=torch.float64) if rng.random() < 0.5 else None  # the conv's bias
    u = torch.randn(2, c_out, *map(int, o), dtype=torch.float64)  # the conv's input, size o
    return geom, tuple(map(int, op)), y, w, bias, u


@pytest.mark.parametrize("mode", MODES)
def test_conv_equals_torch_padded_conv(mode):
    rng = np.random.default_rng(7)
    for _ in range(15):
        geom, _, y, w, bias, u = random_case(rng, mode)
        # conv reads u (C_large channels) with weight (C_small, C_large/G, *k): w is already that layout.
        expected = _torch_conv(u, w, bias, geom["stride"], geom["padding"], geom["dilation"], geom["groups"], mode)
        got = tconv.conv(u.numpy(), w.numpy(), None if bias is None else bias.numpy(), padding_mode=mode, **geom)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-10, atol=1e-10, err_msg=str(geom))


def test_conv_equals_torch_module_with_padding_mode():
    layer = torch.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 1), padding_mode="circular", dtype=torch.float64)
    u = torch.randn(2, 3, 6, 5, dtype=torch.float64)
    got = tconv.conv(
        u.numpy(), layer.weight.detach().numpy(), layer.bias.detach().numpy(), (2, 1), (1, 1), padding_mode="circular"
    )
    np.testing.assert_allclose(got, layer(u).detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_conv_transpose_is_the_adjoint_of_torch_padded_conv(mode):
    """Dot-product test, and torch's autograd gives the same vector: d⟨conv_m(u), y⟩/du."""
    rng = np.random.default_rng(11)
    for _ in range(15):
        geom, op, y, w, _, u = random_case(rng, mode)
        u = u.clone().requires_grad_(True)
        cu = _torch_conv(u, w, None, geom["stride"], geom["padding"], geom["dilation"], geom["groups"], mode)
        assert cu.shape == y.shape, (geom, op)
        ty = tconv.conv_transpose(y.numpy(), w.numpy(), output_padding=op, padding_mode=mode, **geom)
        assert ty.shape == tuple(u.shape)
        lhs = float((cu.detach() * y).sum())
        rhs = float((u.detach() * torch.from_numpy(ty)).sum())
        assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs)), (geom, op)
        cu.backward(y)
        np.testing.assert_allclose(ty, u.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=str((geom, op)))


@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_method_and_torch_tensors(method):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 2, 4, 3)), rng.standard_normal((2, 3, 3, 3))
    kwargs = dict(stride=2, padding=(1, 2), output_padding=1, padding_mode="reflect")
    base = tconv.conv_transpose(x, w, method="scatter", **kwargs)
    np.testing.assert_allclose(tconv.conv_transpose(x, w, method=method, **kwargs), base, rtol=1e-12, atol=1e-12)
    t = tconv.conv_transpose(torch.from_numpy(x), torch.from_numpy(w), method=method, **kwargs)
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), base, rtol=1e-12, atol=1e-12)
