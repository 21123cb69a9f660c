"""tconv.torch's autograd: first and second derivatives of every method, checked numerically.

``gradcheck`` compares the analytic backward (the adjoint Functions) with finite differences;
``gradgradcheck`` does the same for the backward of the backward. Both run in float64 on tiny random
geometries — 1-D to 3-D, groups, dilation, output_padding, every padding spelling, unbatched input —
for each of the core's five methods, ``native`` (PyTorch's kernel) and both convolution methods.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.autograd import gradcheck, gradgradcheck  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tests.geometries import PADDING_FORMS, build_case, cases  # noqa: E402

NDIMS = pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])
CASES_PER_NDIM = 4


def tiny_cases(seed: int, ndim: int, count: int = CASES_PER_NDIM):
    """Random legal geometries, every integer drawn at most 2 (3-D: 1) above its minimum.

    Finite differences cost one backward pass per element of the inputs and of the output, so the
    sizes must stay tiny; the draws still reach groups, dilation and output_padding, and the padding
    spellings take turns.
    """
    rng = np.random.default_rng([seed, ndim])
    cap = 2 if ndim < 3 else 1

    def pick(lo, hi):
        return int(rng.integers(lo, min(hi, lo + cap) + 1))

    forms = [PADDING_FORMS[(seed + j) % len(PADDING_FORMS)] for j in range(count)]
    return [build_case(pick, ndim, forms=(form,), batches=(None, 1, 2), max_groups=2) for form in forms]


def tensors(case, seed=0, dtype=torch.float64):
    x, w, b = case.arrays(np.random.default_rng(seed))
    t = [None if a is None else torch.tensor(a, dtype=dtype, requires_grad=True) for a in (x, w, b)]
    return t if t[2] is not None else t[:2]


def test_the_drawn_geometries_cover_what_the_checks_claim():
    cases = [c for n in (1, 2, 3) for m in range(len(tt.METHODS) + 1) for c in tiny_cases(m, n)]
    assert any(c.groups > 1 for c in cases)
    assert any(max(c.dilation) > 1 for c in cases)
    assert any(max(c.output_padding) > 0 for c in cases)
    assert {c.padding_form for c in cases} == {"torch", "pairs", "same", "valid"}
    assert any(c.batch is None for c in cases)


@NDIMS
@pytest.mark.parametrize("method", [*tconv.METHODS, "native"])
def test_conv_transpose_first_and_second_derivatives(method, ndim):
    for case in tiny_cases(tt.METHODS.index(method) if method in tt.METHODS else 5, ndim):

        def f(x, w, b=None):
            return tt.conv_transpose(x, w, b, **case.kwargs(), method=method)

        args = tensors(case)
        assert gradcheck(f, args), case
        assert gradgradcheck(f, args, fast_mode=True), case


@NDIMS
@pytest.mark.parametrize("method", tt.CONV_METHODS)
def test_conv_first_and_second_derivatives(method, ndim):
    """The convolution with the same weight, reading the large side exactly as the case writes it."""
    for case in tiny_cases(10 + tt.CONV_METHODS.index(method), ndim):
        g = tconv.transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
        y = torch.randn(g.output_shape, dtype=torch.float64, requires_grad=True)
        w = torch.randn(case.weight_shape, dtype=torch.float64, requires_grad=True)
        pads = tuple((b, max(e, 0)) for b, e in zip(g.begin, g.end))

        def f(y, w):
            return tt.conv(
                y, w, stride=case.stride, padding=pads, dilation=case.dilation, groups=case.groups, method=method
            )

        assert gradcheck(f, (y, w)), case
        assert gradgradcheck(f, (y, w), fast_mode=True), case


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate"])
def test_padding_modes_first_and_second_derivatives(mode):
    """The fold-back of the padded cells is plain torch algebra: autograd differentiates it."""
    x = torch.randn(2, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        return tt.conv_transpose(x, w, b, stride=2, padding=(1, 1), output_padding=(1, 0), groups=2, padding_mode=mode)

    def c(y, w):
        return tt.conv(y, w, stride=2, padding=1, groups=2, padding_mode=mode)

    assert gradcheck(f, (x, w, b)) and gradgradcheck(f, (x, w, b), fast_mode=True)
    assert gradcheck(c, (y, w)) and gradgradcheck(c, (y, w), fast_mode=True)


def test_backward_is_the_adjoint_and_the_weight_correlation():
    """grad_x = conv(gy, w) and grad_w = Σ x ⊗ gy, checked against the NumPy core and by hand."""
    x = torch.randn(2, 4, 5, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    kw = dict(stride=(2, 1), padding=((1, 0), (0, 1)), groups=2, dilation=(1, 2))
    y = tt.conv_transpose(x, w, **kw)
    gy = torch.randn_like(y)
    y.backward(gy)
    # The convolution reading y's positions i·s + t·d − b: the same (b, e) pairs give back x's size.
    adjoint = tconv.conv(gy.numpy(), w.detach().numpy(), None, (2, 1), ((1, 0), (0, 1)), (1, 2), 2)
    assert adjoint.shape == x.shape
    np.testing.assert_allclose(x.grad.numpy(), adjoint, atol=1e-12)
    # ⟨gy, T_w x⟩ is linear in w: its gradient is the correlation, the same number as the inner product.
    assert torch.allclose((w.grad * w).sum(), (gy * y).sum(), atol=1e-10)


@NDIMS
def test_both_weight_correlations_agree(ndim):
    """The core's correlate with batch as channels ("direct") and im2col + one product ("gemm")."""
    from tconv.torch.kernels import weight_correlation

    for case in tiny_cases(20, ndim, count=4):
        g = tconv.transpose_geometry(case.x_shape, case.weight_shape, **case.kwargs())
        g = dataclasses.replace(g, batch=g.batch or 2)  # the Functions see batched tensors only
        x = torch.randn((g.batch, g.small_channels, *g.small), dtype=torch.float64)
        y = torch.randn((g.batch, g.large_channels, *g.large), dtype=torch.float64)
        direct, gemm = (weight_correlation(x, y, g, m) for m in tt.CONV_METHODS)
        assert direct.shape == case.weight_shape
        assert torch.allclose(direct, gemm, rtol=0, atol=1e-12), case


def test_no_torch_convolution_kernel_runs_forward_backward_or_double_backward():
    """The computation is tconv's own: tconv's operators run, no ATen convolution op, at any order."""
    seen = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(str(func))
            return func(*args, **(kwargs or {}))

    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    layer = tt.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    with Record():
        y = layer(x)
        (gx,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
        gx.square().sum().backward()
    aten_convolutions = [op for op in seen if "conv" in op and not op.startswith("tconv.")]
    assert not aten_convolutions, aten_convolutions
    assert {"tconv.conv_transpose.default", "tconv.conv.default", "tconv.weight_correlation.default"} <= set(seen)
    assert layer.weight.grad is not None


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
@pytest.mark.parametrize("method", tconv.METHODS)
def test_low_precision_is_accumulated_in_float32_and_returned_in_its_dtype(dtype, method):
    """Forward and both gradients, against float64 on the very same (rounded) values."""
    torch.manual_seed(0)
    x = torch.randn(2, 4, 5, 6).to(dtype).requires_grad_()
    w = (torch.randn(4, 3, 3, 2) / 4).to(dtype).requires_grad_()
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    y = tt.conv_transpose(x, w, **kw, method=method)
    gy = torch.randn_like(y)
    y.backward(gy)
    x64, w64 = x.detach().double().requires_grad_(), w.detach().double().requires_grad_()
    y64 = torch.nn.functional.conv_transpose2d(x64, w64, **kw)
    y64.backward(gy.double())
    assert y.dtype == x.grad.dtype == w.grad.dtype == dtype
    # float16/bfloat16: one rounding of a float32 sum (≤ eps relative to the largest value);
    # float32: a float32 sum of a few dozen terms.
    eps = torch.finfo(dtype).eps if dtype != torch.float32 else 1e-6
    for ours, truth in ((y, y64), (x.grad, x64.grad), (w.grad, w64.grad)):
        assert (ours.double() - truth).abs().max() <= eps * truth.abs().max()


@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_tensor_stays_on_the_inputs_device(method):
    """Device-agnostic: on PyTorch's "meta" device (shapes only) any tensor made on the CPU by
    mistake would fail to mix. Forward, backward and double backward, with a padding mode too."""
    x = torch.randn(2, 4, 5, 6, device="meta", requires_grad=True)
    w = torch.randn(4, 3, 3, 2, device="meta", requires_grad=True)
    b = torch.randn(6, device="meta", requires_grad=True)
    for mode in ("zeros", "circular"):
        y = tt.conv_transpose(
            x, w, b, stride=2, padding=1, output_padding=1, groups=2, padding_mode=mode, method=method
        )
        (gx,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        gx.sum().backward()
        assert y.device.type == gx.device.type == w.grad.device.type == "meta"
        assert y.shape == (2, 6, 10, 11) and w.grad.shape == w.shape


@settings(max_examples=40, deadline=None)
@given(case=cases(batches=(None, 0, 1, 2)), method=st.sampled_from(tconv.METHODS))
def test_forward_equals_the_numpy_core_on_any_geometry(case, method):
    x, w, b = case.arrays(np.random.default_rng(0))
    args = (x, w, b)
    ours = tt.conv_transpose(
        *(None if a is None else torch.from_numpy(a) for a in args), **case.kwargs(), method=method
    )
    np.testing.assert_allclose(ours.numpy(), tconv.conv_transpose(*args, **case.kwargs()), rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(case=cases(batches=(None, 0, 1, 2)))
def test_gradients_equal_pytorchs_kernel_on_any_geometry(case):
    """Output and gradients of input, weight and bias against ``method="native"`` (PyTorch's kernel,
    its full output cut to the window for the spellings PyTorch lacks), every padding form."""
    x, w, b = case.arrays(np.random.default_rng(1))
    results = []
    for method in ("auto", "native"):
        leaves = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        y = tt.conv_transpose(*leaves, **case.kwargs(), method=method)
        y.backward(torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape))
        results.append([y.detach(), *(None if t is None else t.grad for t in leaves)])
    for ours, theirs in zip(*results):
        assert ours is None and theirs is None or torch.allclose(ours, theirs, rtol=0, atol=1e-12), case


def test_mixed_dtypes_are_refused_like_torch_nn():
    """torch.nn raises RuntimeError for a float64 input to a float32 layer (and back); so does tconv,
    with a message naming both dtypes. The bias is cast, as torch.nn does."""
    x64, w32 = torch.ones(1, 1, 3, dtype=torch.float64), torch.ones(1, 1, 2)
    for x, w in ((x64, w32), (w32.new_ones(1, 1, 3), w32.double())):
        with pytest.raises(RuntimeError):
            torch.nn.functional.conv_transpose1d(x, w)
        with pytest.raises(tt.MismatchError, match=r"input has dtype torch\.float.* but weight has dtype"):
            tt.conv_transpose(x, w)
    with pytest.raises(tt.MismatchError, match="input has dtype torch.int64"):
        tt.ConvTranspose1d(1, 1, 2)(torch.ones(1, 1, 3, dtype=torch.int64))
    assert tt.conv_transpose(w32.new_ones(1, 1, 3), w32, torch.ones(1, dtype=torch.float64)).dtype == torch.float32


def test_errors_are_the_cores():
    with pytest.raises(tconv.TConvError, match="output_padding"):
        tt.conv_transpose(torch.ones(1, 1, 3), torch.ones(1, 1, 2), stride=2, output_padding=2)
    with pytest.raises(tconv.TConvError, match="method"):
        tt.conv_transpose(torch.ones(1, 1, 3), torch.ones(1, 1, 2), method="fft")
    with pytest.raises(tconv.TConvTypeError, match="torch tensors"):
        tt.conv_transpose(np.ones((1, 1, 3)), torch.ones(1, 1, 2))


def test_empty_batch():
    x = torch.zeros(0, 2, 3, requires_grad=True)
    w = torch.ones(2, 1, 2, requires_grad=True)
    y = tt.conv_transpose(x, w, stride=2)
    assert y.shape == (0, 1, 6)
    y.sum().backward()
    assert x.grad.shape == x.shape and torch.equal(w.grad, torch.zeros_like(w))


def test_an_eager_forward_on_plain_tensors_skips_only_the_operators_dispatch(monkeypatch):
    """Eagerly, on plain tensors, the forward runs the operator's own body (its dispatch costs a small
    call most of its time), and gives torch.nn's result; so does a call under vmap, whichever route
    it takes (tests/torch/test_transforms.py has the transforms one by one)."""
    from tconv.torch import ops

    direct = []
    body = ops.transpose_body
    monkeypatch.setattr(ops, "transpose_body", lambda *a: direct.append(1) or body(*a))
    layer = tt.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    theirs.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(layer(x), theirs(x))
    assert len(direct) == 1
    batched = torch.func.vmap(layer)(x[:, None])  # a batch of batches
    torch.testing.assert_close(batched[:, 0], theirs(x))
