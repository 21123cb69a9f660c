"""padding_mode for conv and conv_transpose, without torch: the periodic sum, the adjoint of padding, the rules.

The comparisons with PyTorch are in ``tests/torch/test_padding_modes.py``.

* conv with mode m equals ``torch.nn.functional.pad(x, mode=m)`` followed by a valid conv (that is
  what ``torch.nn.Conv*d(padding_mode=m)`` does);
* conv_transpose with mode m is the adjoint: the dot-product test and torch's own autograd
  (the gradient of the padded conv with respect to its input) against it;
* circular is the periodic transposed convolution, checked against an explicit modular-index loop.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tconv
from tconv import TConvError
from tconv.padding_modes import pad, pad_adjoint

MODES = ("circular", "reflect", "replicate")


def periodic_conv_transpose(x, w, stride, dilation, begin, size):
    """Direct periodic definition: x[i]·w[t] lands on (i·s + t·d − b) mod n, per axis."""
    c_in, c_out, *k = w.shape
    out = np.zeros((x.shape[0], c_out, *size))
    for i in itertools.product(*(range(n) for n in x.shape[2:])):
        for t in itertools.product(*(range(kk) for kk in k)):
            o = tuple((ii * s + tt * d - b) % n for ii, tt, s, d, b, n in zip(i, t, stride, dilation, begin, size))
            out[(slice(None), slice(None), *o)] += x[(slice(None), slice(None), *i)] @ w[(slice(None), slice(None), *t)]
    return out


@pytest.mark.parametrize("nd", [1, 2])
def test_circular_is_the_periodic_transposed_convolution(nd, xp):
    """A lattice of n sites, stride s: circular conv_transpose equals the modular-index sum — even
    when the kernel wraps around more than once (padding larger than n)."""
    rng = np.random.default_rng(nd)
    for stride, kernel, dilation, padding, n in [(1, 3, 1, 1, 5), (2, 4, 1, 1, 6), (2, 3, 2, 2, 4), (1, 5, 2, 4, 3)]:
        i = (n + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
        x = rng.standard_normal((2, 3, *(i,) * nd))
        w = rng.standard_normal((3, 2, *(kernel,) * nd))
        op = n - ((i - 1) * stride + dilation * (kernel - 1) + 1 - 2 * padding)
        got = tconv.conv_transpose(
            xp.asarray(x),
            xp.asarray(w),
            stride=stride,
            padding=padding,
            output_padding=op,
            dilation=dilation,
            padding_mode="circular",
        )
        got = xp.to_numpy(got)
        expected = periodic_conv_transpose(x, w, (stride,) * nd, (dilation,) * nd, (padding,) * nd, (n,) * nd)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_pad_and_pad_adjoint_are_adjoint(mode, xp):
    rng = np.random.default_rng(3)
    for _ in range(4 if xp.name == "jax" else 20):  # JAX compiles each new shape: fewer, same checks
        sizes = tuple(int(n) for n in rng.integers(2, 6, 2))
        pairs = tuple((int(rng.integers(0, n)), int(rng.integers(0, n))) for n in sizes)
        x = rng.standard_normal((2, *sizes))
        z = rng.standard_normal((2, *(n + b + e for n, (b, e) in zip(sizes, pairs))))
        padded = xp.to_numpy(pad(xp.asarray(x), pairs, mode))
        folded = xp.to_numpy(pad_adjoint(xp.asarray(z), sizes, pairs, mode))
        assert np.isclose(np.vdot(padded, z), np.vdot(x, folded))


def test_unbatched_bias_and_output_size():
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 5)), rng.standard_normal((2, 3, 3)), rng.standard_normal(3)
    y = tconv.conv_transpose(x, w, b, stride=2, padding=1, output_size=(10,), padding_mode="replicate")
    batched = tconv.conv_transpose(x[None], w, b, stride=2, padding=1, output_padding=1, padding_mode="replicate")
    assert y.shape == (3, 10)
    np.testing.assert_allclose(y, batched[0])


def test_zeros_mode_drops_the_padded_cells():
    """Under "zeros" the padded cells hold zeros, so their adjoint drops what lands there: the result
    is the uncropped output's window [b, b + o) — and conv reads an explicitly zero-padded input."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 4)), rng.standard_normal((2, 2, 3))
    full = tconv.conv_transpose(x, w, stride=2, padding=0, padding_mode="circular")  # no padding: nothing folds
    np.testing.assert_allclose(tconv.conv_transpose(x, w, stride=2, padding=1, padding_mode="zeros"), full[..., 1:-1])
    u = rng.standard_normal((1, 2, 7))
    np.testing.assert_allclose(
        tconv.conv(u, w, padding=1, padding_mode="zeros"),
        tconv.conv(np.pad(u, ((0, 0), (0, 0), (1, 1))), w, padding=0, padding_mode="reflect"),
    )


def test_errors():
    x, w = np.ones((1, 1, 3)), np.ones((1, 1, 3))
    with pytest.raises(TConvError, match="padding_mode='mirror' must be one of"):
        tconv.conv_transpose(x, w, padding=1, padding_mode="mirror")
    with pytest.raises(TConvError, match="reflect"):
        tconv.conv(np.ones((1, 1, 2)), w, padding=2, padding_mode="reflect")
    with pytest.raises(TConvError, match="reflect"):  # output of size 1: nothing to reflect
        tconv.conv_transpose(np.ones((1, 1, 1)), w, padding=1, padding_mode="reflect")
