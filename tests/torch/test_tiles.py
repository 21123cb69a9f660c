"""The tiled GEMM path on tensors (``tconv.torch.gemm``) equals the readable maps, tile by tile.

With a budget of a few bytes every tile is one image × one large-side channel, so each product,
col2im and im2col runs on a slice of the operands and the partial results are summed — the
arrangement that large layers take. Compared in float64, on random geometries (1-3-D, groups,
dilation, output_padding, every padding spelling, N = 1 and N > 1), with the core's readable GEMM
for the forward and the ``direct`` convolution methods for the two adjoints.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tconv.arguments import transpose_geometry  # noqa: E402
from tconv.methods import gemm_compiled, gemm_numpy  # noqa: E402
from tconv.methods.gemm import readable  # noqa: E402
from tconv.torch import gemm, kernels, phases, workspace  # noqa: E402
from tests.geometries import random_cases  # noqa: E402

NDIMS = pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])


@pytest.fixture(params=["one tile", "tiny tiles"])
def budget(request, monkeypatch):
    monkeypatch.setattr(gemm, "NUMPY_MACS", -1)  # the torch path itself, however small the call
    if request.param == "tiny tiles":  # the column-buffer forms' tiles, and the phase forms'
        monkeypatch.setattr(gemm, "BUDGET", 8)
        monkeypatch.setattr(phases, "BUDGET", 8)
    return gemm.BUDGET


def _operands(case, rng):
    x, w, _ = case.arrays(rng, np.float64)
    x = x if case.batch is not None else x[None]
    g = transpose_geometry(x.shape, w.shape, **case.kwargs())
    return torch.from_numpy(x), torch.from_numpy(w), g


@NDIMS
def test_tiled_maps_equal_the_readable_ones(ndim, budget, rng):
    tiled_cases = 0
    for case in random_cases(4000 + ndim, 25, ndim, batches=(1, 3)):
        x, w, g = _operands(case, rng)
        tiled_cases += len(gemm._tiles(g, x.shape[0], 8)) > 1
        y = gemm.transpose(x, w, g)
        torch.testing.assert_close(y, readable(x, w, g), rtol=1e-12, atol=1e-12)
        gy = torch.randn(y.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(len(y.shape)))
        torch.testing.assert_close(gemm.conv(gy, w, g), kernels.conv(gy, w, None, g, "direct"), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(
            gemm.weight_correlation(x, gy, g), kernels.weight_correlation(x, gy, g, "direct"), rtol=1e-12, atol=1e-12
        )
    assert tiled_cases > 10 if budget == 8 else tiled_cases == 0  # the tiny budget splits most of them


@NDIMS
def test_phases_equal_the_readable_transpose(ndim, budget, monkeypatch, rng):
    """transpose_phases (products on shifted views of the padded input, no col2im) on random
    geometries; with the tiny budget every tile is one image."""
    if budget == 8:
        monkeypatch.setattr(phases, "PHASE_BLOCK", 8)
    for case in random_cases(4100 + ndim, 25, ndim, batches=(1, 3)):
        x, w, g = _operands(case, rng)
        torch.testing.assert_close(phases.transpose_phases(x, w, g), readable(x, w, g), rtol=1e-12, atol=1e-12)


@NDIMS
def test_adjoint_phases_equal_the_direct_convolutions(ndim, budget, rng):
    """adjoints_phases (products on shifted views of the large side's phases, no im2col) on random
    geometries; with the tiny budget every tile is one image."""
    for case in random_cases(4300 + ndim, 25, ndim, batches=(1, 3)):
        x, w, g = _operands(case, rng)
        gy = torch.randn((x.shape[0], g.large_channels, *g.large), dtype=torch.float64)
        grad_x, grad_w = phases.adjoints_phases(gy, w, x, g.adjoint())
        torch.testing.assert_close(grad_x, kernels.conv(gy, w, None, g, "direct"), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad_w, kernels.weight_correlation(x, gy, g, "direct"), rtol=1e-12, atol=1e-12)
        only_x, none = phases.adjoints_phases(gy, w, None, g.adjoint())
        torch.testing.assert_close(only_x, grad_x, rtol=1e-12, atol=1e-12)
        assert none is None


def test_phases_are_taken_for_shallow_layers():
    """The choice of :func:`phases.phases_fit` (the measurements are in its docstring), and a layer that
    takes it equals torch.nn's, forward and gradients."""
    import tconv.torch as tt

    def fits(shape, c_out, k, s, p):
        return phases.phases_fit(transpose_geometry(shape, (shape[1], c_out, k, k), stride=s, padding=p))

    assert fits((4, 64, 64, 64), 32, 4, 2, 1) and fits((8, 32, 64, 64), 32, 4, 2, 1)
    assert not fits((1, 512, 16, 16), 256, 4, 2, 1)  # a deep product
    assert not fits((16, 512, 4, 4), 256, 4, 2, 1)  # a small image: the padding is most of it
    assert fits((8, 32, 64, 64), 32, 2, 2, 0)  # k = s too
    assert not fits((16, 64, 32, 32), 3, 4, 2, 1)  # a thin product: an RGB head
    assert not fits((1, 16, 8, 8), 16, 4, 2, 1)  # a small layer
    torch.manual_seed(0)
    ours = tt.ConvTranspose2d(32, 32, 4, stride=2, padding=1).double()
    theirs = torch.nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 32, 32, 32, dtype=torch.float64, requires_grad=True)
    g = transpose_geometry(x.shape, ours.weight.shape, stride=2, padding=1)
    assert phases.phases_fit(g) and phases.adjoints_phases_fit(g.adjoint())
    y = ours(x)
    torch.testing.assert_close(y, theirs(x), rtol=1e-12, atol=1e-12)
    gy = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, ours.weight, ours.bias), gy)
    for got, want in zip(grads, torch.autograd.grad(theirs(x), (x, theirs.weight, theirs.bias), gy)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("deep", [1, 10**6], ids=["untransposed", "transposed"])
def test_the_weight_product_either_way_round(deep, monkeypatch, rng):
    """adjoints accumulates the weight's gradient as ``x · colsᵀ`` or as ``cols · xᵀ`` (by ``DEEP``)."""
    monkeypatch.setattr(gemm, "DEEP", deep)
    for case in random_cases(4200, 20, 2, batches=(1, 3)):
        x, w, g = _operands(case, rng)
        gy = torch.randn((x.shape[0], g.large_channels, *g.large), dtype=torch.float64)
        grad_x, grad_w = gemm.adjoints(gy, w, x, g.adjoint())
        torch.testing.assert_close(grad_w, kernels.weight_correlation(x, gy, g, "direct"), rtol=1e-12, atol=1e-12)
        assert grad_w.is_contiguous() or grad_w.numel() == 0


def test_the_workspace_is_reused_and_bounded(monkeypatch):
    """One workspace per thread, dtype and device: reused by the next call, never over the budget."""
    monkeypatch.setattr(gemm, "NUMPY_MACS", -1)  # the torch path, not numba's loop
    g = transpose_geometry((2, 4, 6, 6), (4, 3, 3, 3), stride=2)
    x, w = torch.randn(2, 4, 6, 6), torch.randn(4, 3, 3, 3)
    first = gemm.transpose(x, w, g)
    kept = workspace._LOCAL.buffers[(torch.float32, x.device, 0)]
    assert kept.numel() * kept.element_size() <= gemm.BUDGET
    second = gemm.transpose(x, w, g)  # the same buffer again: the earlier result is not touched
    assert workspace._LOCAL.buffers[(torch.float32, x.device, 0)].data_ptr() == kept.data_ptr()
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert first.data_ptr() != kept.data_ptr() and second.data_ptr() != kept.data_ptr()
    big = workspace.workspace(workspace.BUDGET // 4 + 1, x)  # over the budget: fresh, and not kept
    assert workspace._LOCAL.buffers[(torch.float32, x.device, 0)].data_ptr() == kept.data_ptr()
    assert big.data_ptr() != kept.data_ptr()


@pytest.mark.parametrize("create_graph", [False, True], ids=["first order", "create_graph"])
def test_backward_takes_both_gradients_from_one_im2col(create_graph, budget, monkeypatch):
    """A first-order backward on plain tensors computes the input's and the weight's gradients in
    one pass over the tiles (``gemm.adjoints``); with ``create_graph`` it goes through the
    differentiable maps instead. Both equal torch.nn's gradients."""
    from unittest import mock

    import tconv.torch as tt

    torch.manual_seed(0)
    ours = tt.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2).double()
    theirs = torch.nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 6, 5, 7, dtype=torch.float64, requires_grad=True)
    with mock.patch.object(gemm, "adjoints", wraps=gemm.adjoints) as spy:
        grads = torch.autograd.grad(ours(x).square().sum(), (x, ours.weight, ours.bias), create_graph=create_graph)
    expected = torch.autograd.grad(theirs(x).square().sum(), (x, theirs.weight, theirs.bias))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    fused = [c for c in spy.call_args_list if c.args[1] is not None and c.args[2] is not None]
    assert len(fused) == (0 if create_graph else 1)


@pytest.mark.skipif(not gemm_compiled.available(), reason="numba is not installed (the fast extra)")
def test_small_cpu_calls_run_numbas_loop_through_numpy_views(monkeypatch):
    """A small float CPU call whose NumPy rule takes numba's loop runs that loop on NumPy views of the
    tensors, and gives torch.nn's result; a call the rule keeps on NumPy stays on the torch path."""
    ran = []
    real = gemm_compiled.compiled
    monkeypatch.setattr(gemm_compiled, "compiled", lambda *a: ran.append(a[0].shape) or real(*a))
    x = torch.randn(2, 16, 6, 6, dtype=torch.float64)
    w = torch.randn(16, 8, 4, 4, dtype=torch.float64)
    g = transpose_geometry(x.shape, w.shape, stride=2, padding=1)
    assert gemm_numpy.plan(g, "float64") == "compiled" and g.macs <= gemm.NUMPY_MACS
    y = gemm.transpose(x, w, g)
    torch.testing.assert_close(
        y, torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1), rtol=1e-12, atol=1e-12
    )
    assert ran == [(2, 16, 6, 6)]
    deep = transpose_geometry((4, 256, 4, 4), (256, 8, 2, 2), stride=2)  # k = s, 256 channels: NumPy's reshape
    assert gemm_numpy.plan(deep, "float64") != "compiled" and deep.macs <= gemm.NUMPY_MACS
    gemm.transpose(torch.randn(4, 256, 4, 4, dtype=torch.float64), torch.randn(256, 8, 2, 2, dtype=torch.float64), deep)
    assert len(ran) == 1
