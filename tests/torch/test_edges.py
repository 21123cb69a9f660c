"""tconv.torch's layers against torch.nn's at the edge of the output sizes: outputs of size 0, sizes
that would be negative, and every ``output_size`` around torch.nn's range — on random geometries in
1-D, 2-D and 3-D, comparing outputs, the gradients of input, weight and bias, and refusals.

What torch.nn does there, and so what tconv does:

* a negative output size is refused by every torch.nn kernel; tconv refuses it too;
* an output of size 0 on some axis is returned by torch.nn's oneDNN kernel (float32 on the CPU, when
  ATen picks it): an empty tensor, gradients of zeros for input and weight and of zeros (an empty
  sum) for the bias. Its fallback kernel (float64, and some float32 shapes) refuses the same call
  ("Output size is too small"): which happens depends on the kernel ATen picks, not on the
  arguments. tconv returns the empty output in every case, and these tests compare it with torch.nn
  wherever torch.nn returns one;
* ``forward(x, output_size=...)`` takes each size from the output at ``output_padding=0`` — which
  may itself be empty or negative — to ``stride − 1`` more, and refuses the rest (torch.nn's
  ``ValueError`` range check), then the size itself as above.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402

F64 = torch.float64
SEEDS = range(10)


@dataclass(frozen=True)
class Case:
    """One layer and one input: per spatial axis kernel, stride, dilation, padding, output padding."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    small: tuple[int, ...]
    groups: int
    channels: tuple[int, int]
    bias: bool
    batch: int | None

    @property
    def base(self) -> tuple[int, ...]:
        """torch.nn's output size at ``output_padding=0``, ``(i−1)·s − 2p + d·(k−1) + 1``: may be ≤ 0."""
        return tuple(
            (i - 1) * s - 2 * p + d * (k - 1) + 1
            for i, s, p, d, k in zip(self.small, self.stride, self.padding, self.dilation, self.kernel)
        )

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(b + op for b, op in zip(self.base, self.output_padding))

    def layers(self, dtype=F64):
        """(torch.nn layer, tconv's copy of it)."""
        cls = getattr(torch.nn, f"ConvTranspose{len(self.kernel)}d")
        args = (*self.channels, self.kernel, self.stride, self.padding, self.output_padding, self.groups, self.bias)
        torch.manual_seed(0)
        theirs = cls(*args, self.dilation, dtype=dtype)
        return theirs, getattr(tt, cls.__name__).from_torch(theirs)

    def input(self, dtype=F64):
        lead = () if self.batch is None else (self.batch,)
        return torch.randn(
            *lead, self.channels[0], *self.small, generator=torch.Generator().manual_seed(1), dtype=dtype
        )


def draw(seed: int, ndim: int, smallest: int, largest: int, dilation: int = 2) -> Case:
    """A random case whose smallest output size (``output_padding`` included) is in ``smallest..largest``."""
    rng = random.Random(seed * 10 + ndim)
    while True:
        axes = []
        for _ in range(ndim):
            k, s, d, i, p = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, dilation), rng.randint(1, 3), 0
            p = rng.randint(0, ((i - 1) * s + d * (k - 1) + 1) // 2 + 1)
            axes.append((k, s, d, p, rng.randrange(max(s, d)), i))
        groups = rng.choice([1, 2])
        k, s, d, p, op, i = zip(*axes)
        channels = (groups * rng.randint(1, 2), groups * rng.randint(1, 2))
        case = Case(k, s, d, p, op, i, groups, channels, rng.random() < 0.7, rng.choice([None, 1, 2]))
        if smallest <= min(case.size) <= largest:
            return case


def run(layer, x, output_size=None):
    """Output and the gradients of input, weight and bias of one forward + backward pass."""
    x = x.clone().requires_grad_()
    layer.zero_grad()
    y = layer(x, output_size=output_size)
    y.backward(torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape))
    return [y.detach(), x.grad, layer.weight.grad, None if layer.bias is None else layer.bias.grad]


def torch_nn(case, output_size=None):
    """torch.nn's results for ``case``: in float64, else — where its float64 kernel refuses an empty
    output — in float32 (oneDNN); the exception if that refuses too."""
    for dtype in (F64, torch.float32):
        try:
            return run(case.layers(dtype)[0], case.input(dtype), output_size)
        except RuntimeError as e:
            refusal = e
            if dtype == F64 and "Output size is too small" not in str(e):
                raise
    return refusal


def assert_equal(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape
            assert torch.allclose(a, b.to(a.dtype), rtol=1e-12, atol=1e-12 if b.dtype == F64 else 1e-5)


def assert_empty(results, case, size):
    """The output of spatial size ``size`` (one of them 0), gradients of zeros (the bias's: an empty sum)."""
    y, gx, gw, gb = results
    lead = () if case.batch is None else (case.batch,)
    assert y.shape == (*lead, case.channels[1], *size) and y.numel() == 0
    assert gx.shape == case.input().shape and not gx.any() and not gw.any()
    assert gb is None if not case.bias else gb.shape == (case.channels[1],) and not gb.any()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_empty_outputs_are_torch_nns(ndim, seed):
    """An output of size 0 on at least one axis: the empty output and zero gradients, equal to
    torch.nn's wherever torch.nn's kernel returns it."""
    case = draw(seed, ndim, 0, 0)
    theirs = torch_nn(case)
    ours = run(case.layers()[1], case.input())
    assert_empty(ours, case, case.size)
    if not isinstance(theirs, Exception):
        assert_equal(ours, theirs)
    else:
        assert "Output size is too small" in str(theirs)  # its fallback kernel's refusal, float32 too


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_negative_sizes_are_refused_as_by_torch_nn(ndim, seed):
    case = draw(seed, ndim, -3, -1)
    theirs, ours = case.layers()
    with pytest.raises(RuntimeError):
        theirs(case.input())
    with pytest.raises(tconv.TConvError, match=r"the output would have a negative size: spatial size \("):
        ours(case.input())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_output_size_over_and_around_torch_nns_whole_range(ndim, seed):
    """Every ``output_size`` from one below the output at ``output_padding=0`` to one past
    ``max(stride, dilation) − 1`` more, on geometries whose base output is small, empty or negative
    (dilation up to 3, so also where it exceeds the stride): accepted and equal, or refused, as by
    torch.nn."""
    case = draw(seed, ndim, -2, 1, dilation=3)
    ours = case.layers()[1]
    ranges = [range(b - 1, b + max(s, d) + 1) for b, s, d in zip(case.base, case.stride, case.dilation)]
    for size in itertools.product(*ranges):
        try:
            theirs = torch_nn(case, list(size))
        except ValueError:  # torch.nn's range check: output_padding = size − base must be in [0, stride)
            with pytest.raises(tconv.TConvError, match=r"output_size=.* is out of range: .* accepts"):
                ours(case.input(), output_size=size)
            assert any(not 0 <= n - b < s for n, b, s in zip(size, case.base, case.stride))
            continue
        if min(size) < 0:
            assert isinstance(theirs, RuntimeError)
            with pytest.raises(tconv.TConvError, match="negative size"):
                ours(case.input(), output_size=size)
            continue
        results = run(ours, case.input(), list(size))
        if min(size) == 0:
            assert_empty(results, case, size)
        if not isinstance(theirs, Exception):
            assert_equal(results, theirs)


def test_the_issues_examples():
    """The two calls of issue 18: an empty output, and ``output_size`` where the base is empty."""
    theirs = torch.nn.ConvTranspose2d(2, 3, (4, 5), padding=2)
    ours = tt.ConvTranspose2d.from_torch(theirs)
    x = torch.randn(1, 2, 1, 1)
    assert ours(x).shape == theirs(x).shape == (1, 3, 0, 1)
    theirs = torch.nn.ConvTranspose2d(1, 1, (3, 4), stride=(1, 2), padding=(1, 3), dtype=F64)
    ours = tt.ConvTranspose2d.from_torch(theirs)
    x = torch.randn(1, 1, 2, 2, dtype=F64)
    torch.testing.assert_close(ours(x, output_size=[2, 1]), theirs(x, output_size=[2, 1]), rtol=1e-12, atol=1e-12)


def test_empty_outputs_under_the_transforms():
    """An empty output through the functional API with (begin, end) crops: forward mode, vmap and a
    second derivative give empty tangents and zero derivatives."""
    w = torch.randn(2, 3, 3, 2, dtype=F64, requires_grad=True)
    x = torch.randn(2, 2, 2, 2, dtype=F64, requires_grad=True)

    def f(t, weight=w):
        return tt.conv_transpose(t, weight, padding=((2, 2), (0, 0)), stride=(1, 2))  # 4 − 4 = 0 rows

    assert f(x).shape == (2, 3, 0, 4)
    _, tangent = torch.func.jvp(f, (x,), (torch.ones_like(x),))
    assert tangent.shape == (2, 3, 0, 4)
    assert torch.func.vmap(f)(x.unsqueeze(1)).shape == (2, 1, 3, 0, 4)
    (gx,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    assert not gx.any()
    assert not torch.autograd.grad((gx * gx).sum() + f(x).sum(), w, allow_unused=True)[0].any()
    with pytest.raises(tconv.TConvError, match="output would be empty"):  # a padding mode needs cells to fill
        tt.conv_transpose(x, w, padding=((2, 2), (0, 0)), stride=(1, 2), padding_mode="circular")
