"""tconv.torch's layers against torch.nn's, argument for argument.

The geometries are ``geometries.random_cases`` in PyTorch's own padding spelling (groups, dilation,
output_padding, unbatched input, N = 0 included). For each, both layers are built after the same
seed — so tconv's layer must draw the same initial weights — and must agree on the output and on
the gradients of input, weight and bias, in float64 and float32.

Run as a script to print the number of geometries and the largest differences (the README's figures):
``.venv/bin/python -m tests.torch.test_modules``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tests.geometries import random_cases  # noqa: E402

PER_NDIM = 20
#: |tconv − torch.nn| allowed, relative to the largest |value|: float64 and float32 arithmetic,
#: summed in different orders by the two libraries.
TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5}


def layers(case, dtype, seed=0, method="auto"):
    """(torch.nn layer, tconv layer), constructed identically after the same seed."""
    args = (
        case.in_channels,
        case.out_channels,
        case.kernel,
        case.stride,
        case.padding,
        case.output_padding,
        case.groups,
        case.bias,
        case.dilation,
    )
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, f"ConvTranspose{case.ndim}d")(*args, dtype=dtype)
    torch.manual_seed(seed)
    ours = getattr(tt, f"ConvTranspose{case.ndim}d")(*args, dtype=dtype, method=method)
    return theirs, ours


def run(layer, x, gy, output_size=None):
    """Output and gradients (input, weight, bias) of one forward + backward."""
    x = x.clone().requires_grad_()
    layer.zero_grad()
    y = layer(x, output_size=output_size)
    y.backward(gy)
    grads = [x.grad, layer.weight.grad, None if layer.bias is None else layer.bias.grad]
    return [y.detach(), *grads]


@functools.cache
def differences(ndim: int, dtype: torch.dtype):
    """``(case, relative, absolute)``: the largest |tconv − torch.nn| over output, grad_x, grad_w,
    grad_b, divided by max |torch.nn| of that tensor, and not divided."""
    out = []
    for case in random_cases(seed=300 + ndim, count=PER_NDIM, ndim=ndim, forms=("torch",)):
        theirs, ours = layers(case, dtype)
        assert all(torch.equal(a, b) for a, b in zip(theirs.parameters(), ours.parameters())), "initialisation differs"
        x = torch.randn(case.x_shape, dtype=dtype)
        gy = torch.randn(case.out_shape, dtype=dtype)
        rel, absolute = [0.0], [0.0]
        for a, b in zip(run(theirs, x, gy), run(ours, x, gy)):
            assert (a is None) == (b is None)
            if a is not None and a.numel():
                absolute.append((a - b).abs().max().item())
                rel.append(absolute[-1] / max(a.abs().max().item(), 1e-30))
        out.append((case, max(rel), max(absolute)))
    return out


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])
def test_outputs_and_gradients_equal_torch_nn(ndim, dtype):
    for case, diff, _ in differences(ndim, dtype):
        assert diff <= TOLERANCE[dtype], f"{case}: {diff:.3g}"


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_output_size_equals_torch_nn(ndim):
    """Every size torch.nn accepts: from F − 2p to F − 2p + s − 1 on each axis."""
    rng = np.random.default_rng(ndim)
    for case in random_cases(seed=400 + ndim, count=5, ndim=ndim, forms=("torch",), batches=(None, 2)):
        theirs, ours = layers(case, torch.float64)
        base = tuple(o - op for o, op in zip(case.out_spatial, case.output_padding))
        size = tuple(b + int(rng.integers(0, s)) for b, s in zip(base, case.stride))
        x = torch.randn(case.x_shape, dtype=torch.float64)
        gy = torch.randn((*case.lead, case.out_channels, *size), dtype=torch.float64)
        for a, b in zip(run(theirs, x, gy, size), run(ours, x, gy, size)):
            assert a is None and b is None or torch.allclose(a, b, rtol=0, atol=1e-12)
        full = (*case.lead, case.out_channels, *size)  # the whole shape is accepted too
        assert ours(x, output_size=full).shape == full


def test_state_dict_loads_either_way():
    torch.manual_seed(1)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    ours = tt.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, method="polyphase")
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert all(ours.state_dict()[k].shape == v.shape for k, v in theirs.state_dict().items())
    x = torch.randn(2, 4, 5, 5)
    ours.load_state_dict(theirs.state_dict())
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    torch.nn.init.normal_(ours.weight)
    theirs.load_state_dict(ours.state_dict())
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


def test_constructor_matches_torch_nn():
    """Defaults, attributes and the repr are torch.nn's (plus ``method``); device and dtype are honoured."""
    ours, theirs = (
        tt.ConvTranspose3d(2, 4, 3, dtype=torch.float64),
        torch.nn.ConvTranspose3d(2, 4, 3, dtype=torch.float64),
    )
    for name in (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "dilation",
        "padding_mode",
    ):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.weight.dtype == torch.float64 and ours.weight.device == theirs.weight.device
    assert isinstance(ours, torch.nn.ConvTranspose3d)
    assert repr(ours) == repr(theirs)[:-1] + ", method='auto')"
    with pytest.raises(ValueError, match="padding_mode"):
        tt.ConvTranspose1d(1, 1, 2, padding_mode="periodic")
    with pytest.raises(ValueError, match="method"):
        tt.ConvTranspose1d(1, 1, 2, method="fft")


@pytest.mark.parametrize("method", [*tconv.METHODS, "auto", "native"])
def test_padding_same_equals_the_numpy_core(method):
    """ "same" (``o = i·s`` at any stride, which torch.nn refuses) against ``tconv.conv_transpose`` on NumPy."""
    layer = tt.ConvTranspose2d(
        3, 4, (3, 4), stride=(2, 3), padding="same", dilation=(1, 2), method=method, dtype=torch.float64
    )
    assert "padding=same" in repr(layer)
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    y = layer(x)
    assert y.shape == (2, 4, 8, 15)
    core = tconv.conv_transpose(
        x.numpy(),
        layer.weight.detach().numpy(),
        layer.bias.detach().numpy(),
        stride=(2, 3),
        padding="same",
        dilation=(1, 2),
    )
    np.testing.assert_allclose(y.detach().numpy(), core, rtol=0, atol=1e-12)


def test_valid_and_pairs_equal_the_numpy_core():
    x = torch.randn(3, 5, 4, dtype=torch.float64)  # unbatched
    for padding in ("valid", ((2, 0), (1, 3)), (1, (0, 2))):
        layer = tt.ConvTranspose2d(
            3, 2, 3, stride=2, padding=padding, output_padding=1, bias=False, dtype=torch.float64
        )
        core = tconv.conv_transpose(
            x.numpy(), layer.weight.detach().numpy(), stride=2, padding=padding, output_padding=1
        )
        np.testing.assert_allclose(layer(x).detach().numpy(), core, rtol=0, atol=1e-12)
    with pytest.raises(tconv.TConvError, match="padding"):
        tt.ConvTranspose2d(3, 2, 3, padding="full")


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_padding_modes_are_the_adjoint_of_torch_nn_conv_with_that_mode(mode):
    """torch.nn refuses padding_mode for transposed layers; tconv's is the adjoint of torch.nn.Conv2d's:
    ⟨conv_m(y), x⟩ = ⟨y, T_m x⟩, so T_m x is the gradient of ⟨conv_m(y), x⟩ with respect to y."""
    torch.manual_seed(4)
    kw = dict(stride=2, padding=(2, 1), dilation=(1, 2), groups=2)
    ours = tt.ConvTranspose2d(4, 6, 3, output_padding=1, bias=False, padding_mode=mode, dtype=torch.float64, **kw)
    assert f"padding_mode={mode}" in repr(ours)
    conv = torch.nn.Conv2d(6, 4, 3, bias=False, padding_mode=mode, dtype=torch.float64, **kw)
    conv.weight = ours.weight  # the same tensor: (C_small, C_large/G, k) in both layouts
    x = torch.randn(2, 4, 5, 4, dtype=torch.float64)
    y = ours(x)
    assert y.shape == (2, 6, 8, 10)
    yy = torch.randn_like(y, requires_grad=True)
    (adjoint,) = torch.autograd.grad(conv(yy), yy, x)
    assert torch.allclose(y, adjoint, rtol=0, atol=1e-12)
    core = tconv.conv_transpose(x.numpy(), ours.weight.detach().numpy(), output_padding=1, padding_mode=mode, **kw)
    np.testing.assert_allclose(y.detach().numpy(), core, rtol=0, atol=1e-12)


def test_double_backward_through_the_layer_equals_torch_nn():
    """StyleGAN2's path-length penalty: ‖∂⟨y, noise⟩/∂x‖², differentiated again, w.r.t. the weight."""
    torch.manual_seed(2)
    theirs = torch.nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1, dtype=torch.float64)
    ours = tt.ConvTranspose2d.from_torch(theirs)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    noise = torch.randn(2, 4, 10, 10, dtype=torch.float64)
    for layer in (theirs, ours):
        (g,) = torch.autograd.grad((layer(x) * noise).sum(), x, create_graph=True)
        g.square().sum().backward()
    assert torch.allclose(ours.weight.grad, theirs.weight.grad, rtol=0, atol=1e-10)


if __name__ == "__main__":
    for dtype in (torch.float64, torch.float32):
        rows = [r for n in (1, 2, 3) for r in differences(n, dtype)]
        print(
            f"{dtype}: {len(rows)} geometries (1-3 D), outputs and grads of input, weight, bias: "
            f"max |tconv - torch.nn| = {max(r[2] for r in rows):.2e}, relative to max |torch.nn| {max(r[1] for r in rows):.2e}"
        )
