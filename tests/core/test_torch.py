"""Every method equals PyTorch, and tconv refuses exactly what PyTorch refuses.

The geometries come from ``geometries.random_cases``: seeded, legal by construction, with groups,
dilation, every legal output_padding (``op ≥ s`` too, where the dilation allows it), per-axis
values, bias, unbatched input and N = 0, in all four padding spellings. PyTorch has only its own
spelling; for ONNX pairs, ``"same"`` and ``"valid"`` the reference is PyTorch's uncropped output,
cropped to ``[b, b + o)`` by the test (zeros appended past ``F``), with ``(b, e)`` derived by the test.

Run as a script to print how many geometries were checked and the largest error per dtype:
``PYTHONPATH=src python tests/test_core_torch.py``.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tconv  # noqa: E402
from tconv.examples import EXAMPLES as EXAMPLE_TABLE  # noqa: E402
from tests.geometries import crop, random_cases, same_pairs, torch_conv_transpose  # noqa: E402

METHODS = pytest.mark.parametrize("method", tconv.METHODS)
NDIMS = pytest.mark.parametrize("ndim", [1, 2, 3], ids=["1d", "2d", "3d"])

# Geometries per number of spatial axes, for each dtype (each checked with all five methods).
PER_NDIM = {"float64": 200, "float32": 100, "float16": 50, "int64": 50}
# |tconv − truth| ≤ atol + rtol·|truth|, the truth being float64 arithmetic on the very same inputs.
# float16 is allowed one rounding of the result (half an ulp, 2⁻¹¹) and no more: summing in
# float16 itself would be far off. float32 results are a short float32 sum.
TOLERANCE = {"float64": (1e-12, 1e-12), "float32": (1e-6, 1e-5), "float16": (2.0**-11, 1e-5)}


@functools.cache
def checked(ndim: int, dtype: str):
    """``[(case, x, w, b, truth)]``: seeded geometries with their arrays and PyTorch's answer.

    Floats: the arrays are drawn in ``dtype`` and the truth is PyTorch in float64 on those values.
    int64: PyTorch's own integer result (exact).
    """
    rng = np.random.default_rng([ndim, 2])
    out = []
    for case in random_cases(seed=1000 + ndim, count=PER_NDIM[dtype], ndim=ndim):
        x, w, b = case.arrays(rng, np.dtype(dtype))
        if dtype == "int64":
            truth = torch_conv_transpose(case, x, w, b)
        else:
            wide = [None if a is None else a.astype(np.float64) for a in (x, w, b)]
            truth = torch_conv_transpose(case, *wide)
        assert truth.shape == case.out_shape, f"the test's shape formula disagrees with PyTorch for {case}"
        out.append((case, x, w, b, truth))
    return out


@NDIMS
@METHODS
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64"])
def test_every_method_equals_torch(dtype, method, ndim):
    for case, x, w, b, truth in checked(ndim, dtype):
        y = tconv.conv_transpose(x, w, b, **case.kwargs(), method=method)
        assert y.dtype == np.dtype(dtype), case
        assert y.shape == case.out_shape, case
        if dtype == "int64":
            np.testing.assert_array_equal(y, truth, err_msg=str(case))
        else:
            rtol, atol = TOLERANCE[dtype]
            np.testing.assert_allclose(y.astype(np.float64), truth, rtol=rtol, atol=atol, err_msg=str(case))


@NDIMS
def test_the_geometries_cover_every_feature(ndim):
    """The random table is only as good as what it contains: each feature must occur."""
    cases = [c for c, *_ in checked(ndim, "float64")]
    assert {c.padding_form for c in cases} == {"torch", "pairs", "same", "valid"}
    assert {c.batch for c in cases} == {None, 0, 1, 2}
    assert any(c.groups > 1 for c in cases) and any(c.bias for c in cases) and any(not c.bias for c in cases)
    assert any(d > 1 for c in cases for d in c.dilation) and any(s > 1 for c in cases for s in c.stride)
    assert any(op > 0 for c in cases for op in c.output_padding)
    assert any(c.scalar_args for c in cases)
    assert ndim == 1 or any(len(set(c.stride)) > 1 for c in cases)  # per-axis values that differ


# Wider layers than the random table draws: many channels, k = s, long 1-D kernels, sizes where a
# fast method may switch to another loop order, to blocks or to threads. (x shape, w shape, kwargs)
WIDE = {
    "many output channels, one image": ((1, 8, 4, 4), (8, 32, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    "many output channels, a batch": ((4, 8, 8, 8), (8, 64, 3, 3), dict(stride=2, padding=1)),
    "many output channels, groups": ((2, 32, 4, 4), (32, 16, 3, 3), dict(stride=2, groups=2)),
    "k = s, a batch": ((2, 16, 8, 8), (16, 8, 2, 2), dict(stride=2)),
    "k = s, 3-D": ((1, 4, 4, 4, 4), (4, 4, 2, 2, 2), dict(stride=2)),
    "k = s, dilated": ((2, 4, 5, 5), (4, 4, 2, 2), dict(stride=2, dilation=2)),
    "larger image": ((2, 8, 16, 16), (8, 32, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    "1-D vocoder": ((1, 16, 20), (16, 8, 16), dict(stride=8, padding=4)),
}


@METHODS
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", WIDE)
def test_wide_layers_equal_torch(name, dtype, method):
    x_shape, w_shape, kwargs = WIDE[name]
    rng = np.random.default_rng(7)
    x, w = rng.uniform(-1, 1, x_shape).astype(dtype), rng.uniform(-1, 1, w_shape).astype(dtype)
    b = rng.uniform(-1, 1, w_shape[1] * kwargs.get("groups", 1)).astype(dtype)
    fn = getattr(F, f"conv_transpose{len(w_shape) - 2}d")
    truth = fn(*(torch.from_numpy(a.astype(np.float64)) for a in (x, w, b)), **kwargs).numpy()
    y = tconv.conv_transpose(x, w, b, **kwargs, method=method)
    assert y.dtype == dtype
    # Up to 8·16 = 128 products of |x|, |w| ≤ 1 meet in one output: float32 may drift ~1e-5.
    np.testing.assert_allclose(y, truth, rtol=0, atol=1e-12 if dtype == "float64" else 5e-5)


@METHODS
@pytest.mark.parametrize("name", EXAMPLE_TABLE)
def test_the_shared_example_table_equals_torch(name, method):
    """``tconv.examples.EXAMPLES`` feeds docs and the explainer: each entry must be right."""
    e = EXAMPLE_TABLE[name]
    x, w = np.asarray(e.input)[None, None], np.asarray(e.kernel)[None, None]
    nd = w.ndim - 2
    per_axis = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * nd  # noqa: E731
    stride, dilation, op = per_axis(e.stride), per_axis(e.dilation), per_axis(e.output_padding)
    if e.padding == "same":
        pairs = same_pairs(w.shape[2:], stride, dilation)
    elif e.padding == "valid":
        pairs = ((0, 0),) * nd
    else:
        pairs = tuple(p if isinstance(p, tuple) else (p, p) for p in per_axis(e.padding))
    full = getattr(F, f"conv_transpose{nd}d")(
        torch.from_numpy(x), torch.from_numpy(w), stride=stride, dilation=dilation
    )
    out = [f - b - end + o for f, (b, end), o in zip(full.shape[2:], pairs, op)]
    expected = crop(full.numpy(), pairs, out)
    kwargs = dict(stride=e.stride, padding=e.padding, output_padding=e.output_padding, dilation=e.dilation)
    y = tconv.conv_transpose(x, w, **kwargs, method=method)
    np.testing.assert_array_equal(y, expected)


# ---- refusing what PyTorch refuses -----------------------------------------------------------------


def raw_arguments(rng, ndim):
    """Arguments of ``conv_transpose`` drawn with no regard for the rules: often illegal."""
    r = lambda lo, hi: int(rng.integers(lo, hi + 1))  # noqa: E731
    rarely = lambda bad, good: bad if r(0, 5 * ndim) == 0 else good  # noqa: E731  (each rule broken rarely)
    groups, c_out_g = r(1, 3), r(1, 2)
    c_in = rarely(r(1, 4), groups * r(1, 2))  # groups need not divide it
    w_in = rarely(r(1, 4), c_in)  # the weight's input channels, not always the input's
    kernel = [rarely(0, r(1, 3)) for _ in range(ndim)]
    stride = [rarely(r(-1, 0), r(1, 3)) for _ in range(ndim)]
    dilation = [rarely(r(-1, 0), r(1, 3)) for _ in range(ndim)]
    spatial = [rarely(0, r(1, 4)) for _ in range(ndim)]
    padding = [rarely(r(-1, 6), r(0, 1)) for _ in range(ndim)]  # negative, or so large the output is empty
    output_padding = [rarely(max(s, d), r(0, max(s, d, 1) - 1)) for s, d in zip(stride, dilation)]
    bias = rarely((c_out_g * groups + 1,), [None, (c_out_g * groups,)][r(0, 1)])
    batch = [(), (1,), (2,)][r(0, 2)]  # N = 0: PyTorch skips its checks; see test_empty_batch_is_checked
    x = rng.standard_normal((*batch, c_in, *spatial))
    w = rng.standard_normal((w_in, c_out_g, *kernel))
    b = None if bias is None else rng.standard_normal(bias)
    return (x, w, b, stride, padding, output_padding, groups, dilation)


@NDIMS
def test_refuses_exactly_what_torch_refuses(ndim):
    rng = np.random.default_rng([ndim, 3])
    outcomes = {"both accept": 0, "both refuse": 0}
    for _ in range(500):
        args = raw_arguments(rng, ndim)
        x, w, b, *rest = args
        try:
            fn = getattr(F, f"conv_transpose{ndim}d")
            truth = fn(
                torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b), *rest
            ).numpy()
        except (RuntimeError, ValueError, IndexError):
            with pytest.raises(tconv.TConvError):
                tconv.conv_transpose(*args)
            outcomes["both refuse"] += 1
            continue
        y = tconv.conv_transpose(*args)  # PyTorch accepted: so must tconv
        np.testing.assert_allclose(y, truth, rtol=1e-12, atol=1e-12)
        outcomes["both accept"] += 1
    assert min(outcomes.values()) > 50, outcomes  # both branches really exercised


def test_empty_batch_is_checked_like_any_other():
    # PyTorch returns an empty result for N = 0 without checking output_padding; tconv checks the
    # geometry first, whatever the batch, so an N = 0 call fails exactly when N = 1 would.
    w = np.ones((1, 1, 3))
    with pytest.raises(tconv.TConvError, match="output_padding"):
        tconv.conv_transpose(np.ones((0, 1, 4)), w, stride=2, output_padding=2)
    assert tconv.conv_transpose(np.ones((0, 1, 4)), w, stride=2, output_padding=1).shape == (0, 1, 10)


# ---- output_size -----------------------------------------------------------------------------------


def torch_module(case, w, b):
    conv = getattr(torch.nn, f"ConvTranspose{case.ndim}d")(
        case.in_channels,
        case.out_channels,
        case.kernel,
        stride=case.stride,
        padding=tuple(p for p, _ in case.pairs),
        groups=case.groups,
        bias=b is not None,
        dilation=case.dilation,
        dtype=torch.float64,
    )
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        if b is not None:
            conv.bias.copy_(torch.from_numpy(b))
    return conv


@NDIMS
@pytest.mark.parametrize("form", ["spatial", "full shape"])
def test_output_size_equals_torch_and_extends_its_range(form, ndim):
    """PyTorch's module accepts ``output_size`` for ``op < s``; tconv also for ``s ≤ op < d``."""
    rng = np.random.default_rng([ndim, 4])
    extended = 0
    for case in random_cases(seed=2000 + ndim, count=20, ndim=ndim, forms=("torch",), batches=(None, 1, 2)):
        x, w, b = case.arrays(rng)
        size = case.out_spatial if form == "spatial" else case.out_shape
        kwargs = {**case.kwargs(), "output_padding": 0}
        y = tconv.conv_transpose(x, w, b, **kwargs, output_size=size)
        truth = torch_conv_transpose(case, x, w, b)  # with output_padding = op
        np.testing.assert_allclose(y, truth, rtol=1e-12, atol=1e-12, err_msg=str(case))
        module = torch_module(case, w, b)
        if all(op < s for op, s in zip(case.output_padding, case.stride)):
            got = module(torch.from_numpy(x), output_size=list(size)).detach().numpy()
            np.testing.assert_allclose(y, got, rtol=1e-12, atol=1e-12, err_msg=str(case))
        else:  # beyond PyTorch's range, which ignores the dilation
            with pytest.raises(ValueError):
                module(torch.from_numpy(x), output_size=list(size))
            extended += 1
    assert extended > 0


# ---- padding="same" --------------------------------------------------------------------------------

SAME = [  # (kernel, stride, dilation): k_eff > s, k_eff = s, k_eff < s, even and odd k_eff − s
    (3, 2, 1),
    (4, 2, 1),
    (5, 1, 1),
    (2, 2, 1),
    (1, 3, 1),
    (2, 3, 1),
    (3, 2, 2),
    (2, 4, 2),
    (3, 3, 3),
    (7, 3, 1),
]


@METHODS
@pytest.mark.parametrize("k, s, d", SAME, ids=[f"k{k}-s{s}-d{d}" for k, s, d in SAME])
def test_same_padding_is_tensorflows_rule(k, s, d, method, rng):
    # o = i·s; the reference is PyTorch's full output (padding 0) with b = ⌊max(k_eff − s, 0)/2⌋
    # cropped at the start, then cut to o — zeros appended when k_eff < s.
    i = (5, 4)
    x, w = rng.standard_normal((2, 3, *i)), rng.standard_normal((3, 2, k, k))
    y = tconv.conv_transpose(x, w, stride=s, dilation=d, padding="same", method=method)
    assert y.shape == (2, 2, i[0] * s, i[1] * s)
    full = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=s, dilation=d).numpy()
    k_eff = d * (k - 1) + 1
    b = max(k_eff - s, 0) // 2
    expected = np.zeros_like(y)
    window = full[..., b : b + y.shape[-2], b : b + y.shape[-1]]
    expected[..., : window.shape[-2], : window.shape[-1]] = window
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


# ---- conv (the adjoint) against PyTorch ------------------------------------------------------------


def build_conv(pick, ndim):
    """A legal ``conv`` call: ``(x shape, w shape, stride, padding, dilation, groups, bias)``."""
    groups = pick(1, 3)
    c_in, c_out = groups * pick(1, 2), groups * pick(1, 2)
    kernel = [pick(1, 3) for _ in range(ndim)]
    dilation = [pick(1, 2) for _ in range(ndim)]
    form = ["ints", "pairs", "valid", "same", "same strided"][pick(0, 4)]
    stride = [1 if form == "same" else pick(1, 3) for _ in range(ndim)]
    if form == "ints":
        padding = [pick(0, 2) for _ in range(ndim)]
        pairs = [(p, p) for p in padding]
    elif form == "pairs":  # ONNX-style (begin, end) padding of the input
        padding = pairs = [(pick(0, 2), pick(0, 2)) for _ in range(ndim)]
    else:
        padding, pairs = form.split()[0], [(0, 0)] * ndim  # "same" pads at most what it needs
    # The padded input must hold the dilated kernel: n + b + e ≥ k_eff.
    spatial = [max(1, d * (k - 1) + 1 - b - e) + pick(0, 4) for k, d, (b, e) in zip(kernel, dilation, pairs)]
    batch = [(), (0,), (1,), (2,)][pick(0, 3)]
    return (
        (*batch, c_in, *spatial),
        (c_out, c_in // groups, *kernel),
        stride,
        padding,
        dilation,
        groups,
        bool(pick(0, 1)),
    )


def torch_conv(x, w, b, stride, padding, dilation, groups):
    fn = getattr(F, f"conv{w.ndim - 2}d")
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    tb = None if b is None else torch.from_numpy(b)
    if not isinstance(padding, str) and not isinstance(padding[0], int):  # (begin, end) pairs
        pads = [v for pair in reversed(padding) for v in pair]  # F.pad wants the last axis first
        return fn(F.pad(tx, pads), tw, tb, stride, 0, dilation, groups).numpy()
    if padding == "same" and any(s > 1 for s in stride):
        # TensorFlow's rule, which PyTorch lacks for stride > 1: o = ⌈n/s⌉, total padding
        # P = max((o − 1)·s + k_eff − n, 0), ⌊P/2⌋ before and the rest after.
        pads = []
        for n, k, s, d in zip(
            reversed(x.shape[-len(stride) :]), reversed(w.shape[2:]), reversed(stride), reversed(dilation)
        ):
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
            pads += [total // 2, total - total // 2]
        return fn(F.pad(tx, pads), tw, tb, stride, 0, dilation, groups).numpy()
    return fn(tx, tw, tb, stride, padding, dilation, groups).numpy()


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own speed
@settings(max_examples=100, deadline=None)
@given(data=st.data(), ndim=st.sampled_from([1, 2, 3]))
def test_conv_equals_torch(data, ndim):
    pick = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    x_shape, w_shape, stride, padding, dilation, groups, bias = build_conv(pick, ndim)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    y = tconv.conv(x, w, b, stride, padding, dilation, groups)
    truth = torch_conv(x, w, b, stride, padding, dilation, groups)
    assert y.shape == truth.shape
    np.testing.assert_allclose(y, truth, rtol=1e-12, atol=1e-12)


# ---- NaN and inf -----------------------------------------------------------------------------------


@NDIMS
@METHODS
def test_nan_and_inf_in_the_input_pass_through_like_torch(method, ndim):
    rng = np.random.default_rng([ndim, 5])
    for case in random_cases(seed=3000 + ndim, count=15, ndim=ndim, batches=(None, 1, 2)):
        x, w, b = case.arrays(rng)
        x.flat[rng.integers(x.size, size=2)] = [np.nan, np.inf][rng.integers(2)], -np.inf
        truth = torch_conv_transpose(case, x, w, b)
        with np.errstate(invalid="ignore"):
            y = tconv.conv_transpose(x, w, b, **case.kwargs(), method=method)
        np.testing.assert_allclose(y, truth, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=str(case))


# ---- the script: how much was checked, and the largest errors ----------------------------------------

if __name__ == "__main__":
    for dtype in PER_NDIM:
        worst, used, count = 0.0, 0.0, {}
        rtol, atol = TOLERANCE.get(dtype, (0.0, 0.0))
        for ndim in (1, 2, 3):
            count[f"{ndim}d"] = len(checked(ndim, dtype))
            for case, x, w, b, truth in checked(ndim, dtype):
                for method in tconv.METHODS:
                    y = tconv.conv_transpose(x, w, b, **case.kwargs(), method=method)
                    if y.size:
                        error = np.abs(y.astype(np.float64) - truth)
                        worst = max(worst, float(error.max()))
                        if atol:  # the share of the test's tolerance that was used
                            used = max(used, float(np.max(error / (atol + rtol * np.abs(truth)))))
        print(
            f"{dtype:8} geometries per dimension {count}, x {len(tconv.METHODS)} methods: "
            f"largest |error| {worst:.3g}" + (f" ({used:.0%} of the tolerance)" if atol else "")
        )
