"""tconv's layer behaves as torch.nn's where a model would notice: its output (fresh, contiguous, in
torch.nn's memory format; in-place operations and ``.view`` work with autograd on), its refusals
(dtypes, devices, ``output_size``), autocast, and the registered operators' own consistency checks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402

F64 = torch.float64


def pair(*args, dtype=F64, **kwargs):
    """(torch.nn layer, tconv layer) with the same weights."""
    theirs = torch.nn.ConvTranspose2d(*args, dtype=dtype, **kwargs)
    return theirs, tt.ConvTranspose2d.from_torch(theirs)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_output_is_fresh_and_contiguous_so_in_place_ops_and_view_work(padding):
    """``y += skip``, ``ReLU(inplace=True)`` and ``y.view(n, -1)`` on the output, with autograd on,
    give torch.nn's output and gradients (padding > 0 crops a canvas: the output is still its own)."""
    torch.manual_seed(padding)
    theirs, ours = pair(3, 4, 3, stride=2, padding=padding)
    x = torch.randn(2, 3, 5, 5, dtype=F64)
    results = []
    for layer in (theirs, ours):
        xx = x.clone().requires_grad_()
        y = layer(xx)
        assert y.is_contiguous() and not y._is_view()
        y += torch.ones_like(y)  # the skip connection added in place
        y = torch.nn.ReLU(inplace=True)(y)
        flat = y.view(y.shape[0], -1)
        (flat * 2).sum().backward()
        results.append((flat.detach(), xx.grad, layer.weight.grad, layer.bias.grad))
    for a, b in zip(*results):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "x_format, w_format",
    [("cl", None), (None, "cl"), ("cl", "cl"), (None, None), ("cl-one-channel", None)],
)
def test_memory_format_is_torch_nns(x_format, w_format):
    torch.manual_seed(0)
    channels = 1 if x_format == "cl-one-channel" else 3
    theirs, ours = pair(channels, 4, 3, stride=2, padding=1)
    x = torch.randn(2, channels, 5, 6, dtype=F64)
    if x_format:
        x = x.to(memory_format=torch.channels_last)
    if w_format:
        for layer in (theirs, ours):
            layer.weight.data = layer.weight.data.to(memory_format=torch.channels_last)
    y0, y1 = theirs(x), ours(x)
    assert y1.stride() == y0.stride()
    assert torch.allclose(y1, y0, rtol=1e-12, atol=1e-12)


def test_channels_last_3d():
    """channels_last_3d in, channels_last_3d out, as ATen's oneDNN path gives. (Its fallback 3-D
    kernel — float64, some small shapes — returns contiguous output instead; tconv does not mimic it.)"""
    theirs = torch.nn.ConvTranspose3d(3, 4, 3, stride=2)
    ours = tt.ConvTranspose3d.from_torch(theirs)
    x = torch.randn(2, 3, 5, 5, 5).to(memory_format=torch.channels_last_3d)
    assert ours(x).stride() == theirs(x).stride()


def test_dtype_and_device_mismatches_raise_where_torch_nn_raises():
    theirs, ours = pair(2, 3, 3, dtype=torch.float32)
    for x in (torch.randn(1, 2, 4, 4, dtype=F64), torch.ones(1, 2, 4, 4, dtype=torch.int64)):
        with pytest.raises(RuntimeError):
            theirs(x)
        with pytest.raises(tt.MismatchError, match=rf"input has dtype {x.dtype}.*weight has dtype torch.float32"):
            ours(x)
    with pytest.raises(tt.MismatchError, match="one device"):
        tt.conv_transpose(torch.ones(1, 1, 3), torch.ones(1, 1, 2, device="meta"))
    assert issubclass(tt.MismatchError, RuntimeError) and issubclass(tt.MismatchError, tconv.TConvError)
    # Same dtype is fine, integers included (torch.nn computes int64 on the CPU; so does tconv, exactly).
    w = torch.ones(1, 1, 2, dtype=torch.int64)
    x = torch.arange(3).reshape(1, 1, 3)
    assert torch.equal(tt.conv_transpose(x, w), torch.nn.functional.conv_transpose1d(x, w))


def test_autocast_casts_like_torch_nn():
    theirs, ours = pair(2, 3, 3, stride=2, dtype=torch.float32)
    x = torch.randn(1, 2, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y0, y1 = theirs(x), ours(x)
    assert y1.dtype == y0.dtype == torch.bfloat16
    assert torch.allclose(y1.float(), y0.float(), rtol=0, atol=2e-2 * y0.float().abs().max().item())


@pytest.mark.parametrize("stride, dilation", [(2, 1), (2, 3), (3, 2)])
def test_output_size_accepts_exactly_torch_nns_range(stride, dilation):
    """torch.nn takes each size from the smallest output to ``stride − 1`` more — also when
    ``dilation > stride``, where ``output_padding`` alone could go further."""
    theirs, ours = pair(2, 3, 3, stride=stride, dilation=dilation, padding=1)
    x = torch.randn(1, 2, 4, 5, dtype=F64)
    smallest = theirs(x).shape[2:]
    for extra in range(-1, max(stride, dilation) + 1):
        size = tuple(n + extra for n in smallest)
        try:
            expected = theirs(x, output_size=size)
        except ValueError:
            with pytest.raises(tconv.TConvError, match=r"output_size=.* out of range.*accepts"):
                ours(x, output_size=size)
            continue
        assert 0 <= extra < stride
        assert torch.allclose(ours(x, output_size=size), expected, rtol=1e-12, atol=1e-12)
        assert ours(x, output_size=(1, 3, *size)).shape == expected.shape  # the whole shape, as torch.nn
    with pytest.raises(tconv.TConvError, match="output_size.*must have 2 or 4 elements"):
        ours(x, output_size=(9,))


def test_the_operators_pass_torchs_own_checks():
    """``torch.library.opcheck``: schema, fake implementation (shapes, strides) and autograd
    registration of each operator, on a geometry with groups, dilation, crops and appended zeros.
    (Its fourth check, tracing through AOTAutograd, is what test_transforms' compile tests do.)"""
    from tconv.torch.ops import geometry_tail

    g = tconv.transpose_geometry((2, 4, 3, 5), (4, 3, 3, 2), stride=(2, 3), padding="same", groups=2, dilation=(2, 1))
    tail = geometry_tail(g, ("gemm", "gemm")).args()
    x = torch.randn(2, 4, 3, 5, dtype=F64, requires_grad=True)
    w = torch.randn(4, 3, 3, 2, dtype=F64, requires_grad=True)
    b = torch.randn(6, dtype=F64, requires_grad=True)
    y = torch.randn(2, 6, *g.large, dtype=F64, requires_grad=True)
    ops = torch.ops.tconv
    cases = [
        (ops.conv_transpose, (x, w, b, *tail)),
        (ops.conv, (y, w, None, None, *tail)),
        (ops.weight_correlation, (x, y, None, *tail)),
        (ops.columns, (y.detach(), [3, 2], *tail[:5])),
    ]
    for op, args in cases:
        torch.library.opcheck(op, args, test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
