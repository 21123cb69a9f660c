"""What tconv.torch does on a torch without the private internals it reads (a torch outside the
tested range may move them): each has a public fallback that is still right, or a clear error.

* ``torch._prims_common.suggest_memory_format`` (the output's memory format): ``kernels.dense_format``;
* ``torch._C._functorch.is_functorch_wrapped_tensor`` (may a backward take the fused kernel?): never,
  the differentiable maps serve every case;
* the forward-mode AD state (``torch._functorch.eager_transforms.JVP_NESTING``,
  ``torch.autograd.forward_ad._current_level``), read to refuse forward mode inside a trace: tracing
  raises a clear error; eager calls, forward mode included, are unaffected.

And the installed torch lies in the range the ``torch`` extra declares."""

from __future__ import annotations

import pathlib
import sys

import pytest

torch = pytest.importorskip("torch")

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tconv.torch import autograd, kernels  # noqa: E402

F64 = torch.float64


def pair(*args, **kwargs):
    """(torch.nn layer, tconv layer) with the same weights, float64."""
    theirs = torch.nn.ConvTranspose2d(*args, dtype=F64, **kwargs)
    return theirs, tt.ConvTranspose2d.from_torch(theirs)


def grads(layer, x):
    x = x.clone().requires_grad_()
    layer.zero_grad()
    y = layer(x)
    y.backward(torch.linspace(-1, 1, y.numel(), dtype=F64).reshape(y.shape))
    return [y.detach(), x.grad, layer.weight.grad, layer.bias.grad]


@pytest.mark.parametrize("ndim", [3, 4, 5])
def test_public_memory_format_rule_agrees_with_atens_on_dense_tensors(ndim):
    """Every shape with sizes 1..3 (axes of size 1 make several layouts dense at once), in each format."""
    import itertools

    from torch._prims_common import suggest_memory_format

    formats = {4: [torch.channels_last], 5: [torch.channels_last_3d]}.get(ndim, [])
    for shape in itertools.product([1, 2, 3], repeat=ndim):
        for fmt in [torch.contiguous_format, *formats]:
            t = torch.empty(shape, memory_format=fmt)
            assert kernels.dense_format(t) == suggest_memory_format(t), (shape, fmt)


@pytest.mark.parametrize("x_format", [torch.contiguous_format, torch.channels_last], ids=["contiguous", "cl"])
def test_without_atens_memory_format_rule_outputs_keep_torch_nns_strides(monkeypatch, x_format):
    monkeypatch.setattr(kernels, "_suggest_memory_format", kernels.dense_format)
    torch.manual_seed(0)
    theirs, ours = pair(3, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 5, 6, dtype=F64).to(memory_format=x_format)
    y0, y1 = theirs(x), ours(x)
    assert y1.stride() == y0.stride()
    assert torch.allclose(y1, y0, rtol=1e-12, atol=1e-12)


def test_without_the_functorch_query_backward_takes_the_differentiable_maps(monkeypatch):
    """Gradients equal torch.nn's, and the fused kernel is not called."""
    torch.manual_seed(0)
    theirs, ours = pair(3, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 5, 5, dtype=F64)
    fused = []
    monkeypatch.setattr(autograd, "_functorch_wrapped", None)
    original = kernels.conv_and_correlation
    monkeypatch.setattr(kernels, "conv_and_correlation", lambda *a: fused.append(1) or original(*a))
    for a, b in zip(grads(ours, x), grads(theirs, x)):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)
    assert not fused


def test_without_the_forward_mode_state_tracing_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(autograd, "_FORWARD_MODE_READABLE", False)
    torch.manual_seed(0)
    theirs, ours = pair(3, 4, 3, stride=2, padding=1)
    x = torch.randn(1, 3, 5, 5, dtype=F64)
    with pytest.raises(tconv.TConvError, match=r"torch .* does not have the forward-mode AD state .*tconv\[torch\]"):
        torch.jit.trace(ours, (x,))
    # Eager calls never read it: forward, backward and forward mode as before.
    assert torch.allclose(ours(x), theirs(x), rtol=1e-12, atol=1e-12)
    v = torch.randn_like(x)
    t0, t1 = torch.func.jvp(theirs, (x,), (v,))[1], torch.func.jvp(ours, (x,), (v,))[1]
    assert torch.allclose(t1, t0, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_the_installed_torch_is_in_the_declared_range():
    """The ``torch`` extra declares a range (not a pin) and the torch these tests ran on lies in it;
    the ``test`` extra pins the one version the suite is run with."""
    import tomllib
    from packaging.requirements import Requirement
    from packaging.version import Version

    pyproject = pathlib.Path(tconv.__file__).parents[2] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("not a source checkout")
    extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    (declared,) = [Requirement(r) for r in extras["torch"]]
    assert declared.name == "torch" and len(declared.specifier) == 2  # a lower and an upper bound
    assert Version(torch.__version__).base_version in declared.specifier
    pinned = [Requirement(r) for r in extras["test"] if Requirement(r).name == "torch"]
    assert [str(r.specifier) for r in pinned] == ["==2.13.0"] and "2.13.0" in declared.specifier
