"""JAX: every method inside ``jax.jit`` (static geometry), ``jax.grad`` and ``jax.vmap`` through it.

* ``jit``: each method, compiled, equals tconv's NumPy result;
* ``grad`` with respect to ``x`` of ``⟨y, conv_transpose(x, w)⟩`` is ``conv(y, w)`` — the adjoint,
  computed by tconv itself — and with respect to ``w`` it equals PyTorch's autograd;
* ``vmap`` over unbatched inputs equals the batched call.

JAX is not in the ``test`` extra (it is large): these tests skip without it (``pip install -e '.[jax]'``).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import tconv  # noqa: E402
from tests.geometries import adjoint_padding, random_cases  # noqa: E402

jax.config.update("jax_enable_x64", True)
METHODS = pytest.mark.parametrize("method", tconv.METHODS)
CASES = random_cases(seed=21, count=6, batches=(1, 2))


@METHODS
def test_jit_every_method(method):
    rng = np.random.default_rng(1)
    for case in CASES:
        x, w, b = case.arrays(rng)
        f = jax.jit(functools.partial(tconv.conv_transpose, **case.kwargs(), method=method))
        y = f(jnp.asarray(x), jnp.asarray(w), None if b is None else jnp.asarray(b))
        assert isinstance(y, jax.Array) and y.dtype == jnp.float64
        np.testing.assert_allclose(
            np.asarray(y), tconv.conv_transpose(x, w, b, **case.kwargs()), rtol=1e-12, atol=1e-12
        )


def test_jit_conv_and_padding_modes():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 4, 9, 7)), rng.standard_normal((4, 3, 3, 3))
    for mode in ("zeros", "circular", "reflect", "replicate"):
        kw = dict(stride=2, padding=1, groups=1, padding_mode=mode)
        y = jax.jit(functools.partial(tconv.conv_transpose, **kw))(jnp.asarray(x), jnp.asarray(w))
        np.testing.assert_allclose(np.asarray(y), tconv.conv_transpose(x, w, **kw), rtol=1e-12, atol=1e-12)
        z = jax.jit(functools.partial(tconv.conv, **kw))(y, jnp.asarray(w))
        np.testing.assert_allclose(np.asarray(z), tconv.conv(np.asarray(y), w, **kw), rtol=1e-12, atol=1e-12)


@METHODS
def test_grad_is_the_adjoint_and_equals_torch(method):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for case in CASES:
        x, w, _ = case.arrays(rng)
        u = rng.standard_normal(case.out_shape)

        def loss(x, w):
            return jnp.sum(jnp.asarray(u) * tconv.conv_transpose(x, w, **case.kwargs(), method=method))

        gx, gw = jax.jit(jax.grad(loss, argnums=(0, 1)))(jnp.asarray(x), jnp.asarray(w))
        # d/dx ⟨u, Cᵀx⟩ = C u: tconv.conv with the adjoint padding (first i outputs, see geometries.py).
        kw = dict(stride=case.stride, padding=adjoint_padding(case), dilation=case.dilation, groups=case.groups)
        expected_gx = tconv.conv(u, w, **kw)[(..., *(slice(0, i) for i in case.spatial))]
        np.testing.assert_allclose(np.asarray(gx), expected_gx, rtol=1e-10, atol=1e-10, err_msg=str(case))
        tx, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
        ty = _torch_forward(torch, case, tx, tw)
        (ty * torch.from_numpy(u)).sum().backward()
        np.testing.assert_allclose(np.asarray(gw), tw.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=str(case))
        np.testing.assert_allclose(np.asarray(gx), tx.grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=str(case))


def _torch_forward(torch, case, tx, tw):
    """PyTorch's differentiable forward for ``case``: its uncropped output, cropped to [b, b + o)."""
    fn = getattr(torch.nn.functional, f"conv_transpose{case.ndim}d")
    full = fn(tx, tw, None, case.stride, 0, 0, case.groups, case.dilation)
    pad = []
    for (b, _), o, f in reversed(list(zip(case.pairs, case.out_spatial, full.shape[2:]))):
        pad += [-b, b + o - f]  # negative pads crop; positive ones append zeros past F
    return torch.nn.functional.pad(full, pad)


@METHODS
def test_vmap_over_unbatched_inputs(method):
    rng = np.random.default_rng(4)
    for case in CASES:
        x, w, b = case.arrays(rng)
        f = functools.partial(tconv.conv_transpose, **case.kwargs(), method=method)
        wj, bj = jnp.asarray(w), None if b is None else jnp.asarray(b)
        y = jax.vmap(lambda xi: f(xi, wj, bj))(jnp.asarray(x))  # noqa: B023
        np.testing.assert_allclose(
            np.asarray(y), tconv.conv_transpose(x, w, b, **case.kwargs()), rtol=1e-12, atol=1e-12
        )


def test_integers_stay_exact_under_jit():
    a, b = 2**40 + 1, 2**20 + 1
    y = jax.jit(tconv.conv_transpose)(jnp.asarray([[[a, 1]]]), jnp.asarray([[[b, 2]]]))
    assert y.dtype == jnp.int64 and np.asarray(y).tolist() == [[[a * b, 2 * a + b, 2]]]
