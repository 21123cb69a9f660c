"""tconv.torch on a GPU, against cuDNN. Skipped where no CUDA device is present.

The code is device-agnostic (the core allocates with ``device=x.device``); these tests check that on
a real device every method runs there, keeps the tensors there, and agrees with PyTorch's cuDNN
kernels — forward, gradients and double backward — in float64, float32, float16 and bfloat16.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

# cuDNN may use TF32 for float32 on Ampere and later; compare against float64 truth instead.
TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("method", tconv.METHODS)
def test_every_method_equals_cudnn_on_the_device(method, dtype):
    torch.manual_seed(0)
    dev = torch.device("cuda")
    x = torch.randn(2, 4, 6, 5, device=dev).to(dtype).requires_grad_()
    w = (torch.randn(4, 3, 3, 4, device=dev) / 4).to(dtype).requires_grad_()
    b = torch.randn(6, device=dev).to(dtype).requires_grad_()
    kw = dict(stride=(2, 3), padding=1, output_padding=(1, 0), groups=2, dilation=(1, 2))
    y = tt.conv_transpose(x, w, b, **kw, method=method)
    assert y.device.type == "cuda" and y.dtype == dtype
    gy = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, w, b), gy)
    leaves = [t.detach().double().requires_grad_() for t in (x, w, b)]
    y64 = torch.nn.functional.conv_transpose2d(*leaves, **kw)  # cuDNN (or its float64 path)
    grads64 = torch.autograd.grad(y64, leaves, gy.double())
    for ours, truth in zip((y, *grads), (y64, *grads64)):
        assert (ours.double() - truth).abs().max() <= TOLERANCE[dtype] * truth.abs().max()


def test_module_and_double_backward_on_the_device():
    torch.manual_seed(1)
    theirs = torch.nn.ConvTranspose3d(
        2, 4, 3, stride=2, padding=1, output_padding=1, device="cuda", dtype=torch.float64
    )
    ours = tt.ConvTranspose3d.from_torch(theirs)
    assert ours.weight.device.type == "cuda"
    x = torch.randn(2, 2, 3, 4, 3, device="cuda", dtype=torch.float64, requires_grad=True)
    for layer in (theirs, ours):
        (g,) = torch.autograd.grad(layer(x).square().sum(), x, create_graph=True)
        g.square().sum().backward()
    assert torch.allclose(ours.weight.grad, theirs.weight.grad, rtol=0, atol=1e-9)


def test_gradcheck_on_the_device():
    x = torch.randn(1, 2, 3, 4, device="cuda", dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 2, 3, device="cuda", dtype=torch.float64, requires_grad=True)

    def f(x, w):
        return tt.conv_transpose(x, w, stride=2, padding="same")

    assert torch.autograd.gradcheck(f, (x, w))
    assert torch.autograd.gradgradcheck(f, (x, w), fast_mode=True)


def test_swapped_model_transforms_on_the_device():
    """The operators on CUDA tensors: a swapped U-Net in float64 against torch.nn (cuDNN), forward and
    backward, compiled with fullgraph=True, under vmap and under jvp; the output keeps torch.nn's
    memory format."""
    from tests.torch import nets

    models = []
    for _ in range(2):
        torch.manual_seed(0)
        models.append(nets.TinyUNet(channels=2, width=2).to("cuda", torch.float64))
    theirs, ours = models
    tt.swap_conv_transpose(ours)
    x = torch.randn(2, 2, 8, 8, device="cuda", dtype=torch.float64)
    (y0, g0, p0), (y1, g1, p1) = nets.outputs_and_gradients(theirs, x), nets.outputs_and_gradients(ours, x)
    assert y1.device.type == "cuda"
    assert nets.difference([y1, g1, *(p1[n] for n in p0)], [y0, g0, *p0.values()]) <= 1e-10
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    assert nets.relative(compiled(x), y0) <= 1e-10
    v = torch.randn_like(x)
    j0 = torch.func.jvp(theirs, (x,), (v,))[1]
    assert nets.relative(torch.func.jvp(ours, (x,), (v,))[1], j0) <= 1e-10
    assert nets.relative(torch.func.vmap(ours)(x.unsqueeze(1)).squeeze(1), y0) <= 1e-10
    layer = tt.ConvTranspose2d(2, 3, 3, stride=2, device="cuda")
    xc = torch.randn(2, 2, 5, 5, device="cuda").to(memory_format=torch.channels_last)
    theirs_layer = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, device="cuda")
    assert layer(xc).stride() == theirs_layer(xc).stride()


def test_inductor_on_the_device():
    """Inductor's CUDA code calls the operator (an extern kernel) with the strides it promised."""
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1, device="cuda", dtype=torch.float64)
    ours = tt.ConvTranspose2d.from_torch(theirs)
    torch._dynamo.reset()
    compiled = torch.compile(torch.nn.Sequential(ours, torch.nn.ReLU()), fullgraph=True)
    x = torch.randn(2, 4, 6, 6, device="cuda", dtype=torch.float64, requires_grad=True)
    compiled(x).sum().backward()
    gx = x.grad.clone()
    x.grad = None
    torch.relu(theirs(x)).sum().backward()
    assert torch.allclose(gx, x.grad, rtol=0, atol=1e-10)
