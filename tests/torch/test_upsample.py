"""The two up-sampling alternatives: resize-then-convolve, and sub-pixel convolution with ICNR."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402

DIMS = pytest.mark.parametrize("dims", [1, 2, 3])


@DIMS
@pytest.mark.parametrize("scale", [2, 3])
def test_shapes(dims, scale):
    x = torch.randn(2, 3, *(4, 5, 3)[:dims])
    expected = (2, 5, *(scale * n for n in x.shape[2:]))
    assert tt.ResizeConv(3, 5, scale, dims=dims)(x).shape == expected
    assert tt.ResizeConv(3, 5, scale, mode="linear", dims=dims)(x).shape == expected
    assert tt.SubPixelConv(3, 5, scale, dims=dims)(x).shape == expected


def test_resize_conv_is_stable_diffusions_upsample():
    """nearest ×2, then a 3×3 convolution with padding 1."""
    torch.manual_seed(0)
    up = tt.ResizeConv(4, 4, 2, kernel_size=3)
    x = torch.randn(1, 4, 6, 6)
    expected = F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), up.conv.weight, up.conv.bias, padding=1)
    assert torch.allclose(up(x), expected)


def test_pixel_shuffle_is_torchs_in_2d():
    z = torch.randn(2, 3 * 9, 4, 5)
    assert torch.equal(tt.pixel_shuffle(z, 3, dims=2), F.pixel_shuffle(z, 3))


@DIMS
def test_icnr_starts_as_convolution_then_nearest_resize(dims):
    """Aitken et al.'s "convolution NN resize": with ICNR, sub-pixel(x) = nearest_s(conv(x, W0) + b0)."""
    torch.manual_seed(dims)
    s = 2
    up = tt.SubPixelConv(3, 4, scale_factor=s, kernel_size=3, dims=dims, dtype=torch.float64)
    x = torch.randn(2, 3, *(5, 4, 3)[:dims], dtype=torch.float64)
    phases = s**dims
    w0, b0 = up.conv.weight[::phases], up.conv.bias[::phases]  # the shared sub-kernel of each channel
    conv = getattr(F, f"conv{dims}d")
    expected = F.interpolate(conv(x, w0, b0, padding=1), scale_factor=s, mode="nearest")
    assert torch.allclose(up(x), expected, rtol=0, atol=1e-12)
    # ... and only at initialisation: a plain random init has no such structure.
    plain = tt.SubPixelConv(3, 4, scale_factor=s, dims=dims, icnr=False, dtype=torch.float64)
    assert not torch.allclose(
        plain(x),
        F.interpolate(conv(x, plain.conv.weight[::phases], plain.conv.bias[::phases], padding=1), scale_factor=s),
    )


def test_icnr_with_a_1x1_kernel_is_resize_then_convolve():
    """With k = 1 the two orders coincide: the ICNR sub-pixel layer equals ResizeConv(nearest)."""
    torch.manual_seed(3)
    up = tt.SubPixelConv(3, 2, scale_factor=2, kernel_size=1)
    resize = tt.ResizeConv(3, 2, scale_factor=2, kernel_size=1)
    resize.load_state_dict({"conv.weight": up.conv.weight[::4], "conv.bias": up.conv.bias[::4]})
    x = torch.randn(1, 3, 4, 4)
    assert torch.allclose(up(x), resize(x), atol=1e-6)


def test_icnr_is_checkerboard_free_where_a_transposed_convolution_is_not():
    """On a constant input (away from the borders) the ICNR layer's output is constant on each channel;
    a k3 s2 transposed convolution with a positive kernel alternates (taps 2 vs 1 per phase)."""
    x = torch.ones(1, 1, 8, 8)
    up = tt.SubPixelConv(1, 1, scale_factor=2, kernel_size=3)
    inner = up(x)[0, 0, 2:-2, 2:-2]
    assert torch.allclose(inner, inner[0, 0].expand_as(inner))
    y = tt.conv_transpose(x, torch.ones(1, 1, 3, 3), stride=2)[0, 0, 2:-2, 2:-2]
    assert y.unique().numel() > 1


def test_bad_arguments():
    with pytest.raises(tconv.TConvError, match="odd"):
        tt.ResizeConv(1, 1, kernel_size=4)
    with pytest.raises(tconv.TConvError, match="mode"):
        tt.ResizeConv(1, 1, mode="bicubic")
    with pytest.raises(tconv.TConvError, match="dims"):
        tt.SubPixelConv(1, 1, dims=4)
