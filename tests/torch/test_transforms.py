"""PyTorch's program transforms on a small U-Net swapped to tconv, against the unswapped U-Net:
``torch.compile(fullgraph=True)``, dynamic shapes, ``torch.func.vmap``/``grad``/``jvp``/``jacfwd``/
``hessian``, ``torch.autograd.forward_ad``, ``torch.jit.trace``, ``torch.export`` and ONNX export.
Each works because tconv's computations are registered operators (``torch.ops.tconv.*``) with fake
implementations, vmap rules and derivatives; the one refusal (forward-mode AD inside a compiled
region) is checked to say so."""

from __future__ import annotations

import io

import pytest

torch = pytest.importorskip("torch")
from torch.func import functional_call, grad, jacfwd, jacrev, jvp, stack_module_state, vmap  # noqa: E402

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tests.torch import nets  # noqa: E402

F64 = torch.float64


@pytest.fixture(scope="module")
def unets():
    """(torch.nn U-Net, the same U-Net swapped to tconv), float64, width 2."""
    pair = []
    for _ in range(2):
        torch.manual_seed(0)
        pair.append(nets.TinyUNet(channels=2, width=2).to(F64))
    tt.swap_conv_transpose(pair[1])
    return tuple(pair)


def x_of(*shape):
    torch.manual_seed(1)
    return torch.randn(shape, dtype=F64)


def close(a, b, tol=1e-10):
    return nets.relative(a, b) <= tol


def params(model):
    return {k: v.detach() for k, v in model.named_parameters()}


def test_compile_fullgraph_forward_and_backward(unets):
    """No graph break: the operators' fake implementations give AOTAutograd the shapes, and their
    registered backward is traced into the joint graph (backend aot_eager: Dynamo and AOTAutograd
    trace everything; the graph then runs eagerly, without Inductor's C++ compilation)."""
    theirs, ours = unets
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    x = x_of(2, 2, 8, 8)
    y0, g0, p0 = nets.outputs_and_gradients(theirs, x)
    y1, g1, p1 = nets.outputs_and_gradients(ours, x)  # eager reference for the parameter names
    y2, g2, _ = nets.outputs_and_gradients(compiled, x)
    p2 = {n: p.grad for n, p in ours.named_parameters()}
    assert close(y2, y0) and close(g2, g0)
    assert all(close(p2[n], p0[n]) for n in p0)


def test_inductor_compiles_the_operator():
    """The default backend: the operator is an extern call in Inductor's code, with the strides its
    fake implementation promised (channels_last here). One layer, no gradient: Inductor's C++
    compilation of a whole training step costs about a minute on a 2-core machine."""
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1, dtype=F64)
    ours = tt.ConvTranspose2d.from_torch(theirs)
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True)
    x = x_of(2, 2, 5, 5).to(memory_format=torch.channels_last)
    with torch.no_grad():
        y = compiled(x)
        assert close(y, theirs(x)) and y.stride() == theirs(x).stride()


def test_compile_with_dynamic_shapes(unets):
    theirs, ours = unets
    torch._dynamo.reset()
    compiled = torch.compile(ours, fullgraph=True, dynamic=True, backend="aot_eager")
    for size in (4, 8):
        x = x_of(1, 2, size, size)
        assert close(compiled(x), theirs(x))


def test_vmap_per_sample_gradients(unets):
    """vmap(grad): the mapped axis is folded into the batch by the operators' vmap rules."""
    theirs, ours = unets
    x = x_of(3, 2, 8, 8)

    def loss(p, model, sample):
        return functional_call(model, p, (sample[None],)).square().sum()

    g0 = vmap(grad(loss), in_dims=(None, None, 0))(params(theirs), theirs, x)
    g1 = vmap(grad(loss), in_dims=(None, None, 0))(params(ours), ours, x)
    assert all(close(g1[n], g0[n]) for n in g0)


def test_vmap_over_weights_model_ensembling(unets):
    """vmap over stacked parameters: each copy's weight is one more group of the operator."""
    theirs, ours = unets
    x = x_of(2, 2, 8, 8)
    results = []
    for model in (theirs, ours):
        stacked, _ = stack_module_state([model, model])
        stacked = {
            k: v * torch.tensor([1.0, -0.5], dtype=F64).reshape(-1, *(1,) * (v.ndim - 1)) for k, v in stacked.items()
        }
        results.append(vmap(lambda p, xx, m=model: functional_call(m, p, (xx,)), in_dims=(0, None))(stacked, x))
    assert close(results[1], results[0])


def test_jvp_and_forward_ad(unets):
    """Forward mode: the eager Functions' jvp, ``d(T_w x) = T_w dx + T_dw x``, for input and parameters."""
    theirs, ours = unets
    x, v = x_of(1, 2, 8, 8), x_of(1, 2, 8, 8).flip(-1)
    assert close(jvp(ours, (x,), (v,))[1], jvp(theirs, (x,), (v,))[1])
    tangents = {k: torch.ones_like(p) for k, p in params(ours).items()}
    j0 = jvp(lambda p: functional_call(theirs, p, (x,)), (params(theirs),), (tangents,))[1]
    j1 = jvp(lambda p: functional_call(ours, p, (x,)), (params(ours),), (tangents,))[1]
    assert close(j1, j0)
    import torch.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(ours(fwAD.make_dual(x, v))).tangent
    assert close(tangent, jvp(theirs, (x,), (v,))[1])


def test_jacobians_and_hessian(unets):
    """jacfwd = jacrev, and the Hessian (forward over reverse) equals torch.nn's."""
    theirs, ours = unets
    x = x_of(1, 2, 4, 4)
    assert close(jacfwd(ours)(x), jacrev(theirs)(x))
    h0 = torch.func.hessian(lambda t: theirs(t).sin().sum())(x)
    h1 = torch.func.hessian(lambda t: ours(t).sin().sum())(x)
    assert close(h1, h0)


def test_forward_ad_inside_a_compiled_region_is_refused_not_wrong(unets):
    """PyTorch's registry holds no forward-mode formula for an operator: tconv says so."""
    _, ours = unets
    x = x_of(1, 2, 8, 8)
    torch._dynamo.reset()
    compiled = torch.compile(lambda t: jvp(ours, (t,), (t,))[1], fullgraph=True, backend="aot_eager")
    with pytest.raises(Exception, match="forward-mode AD .* inside torch.compile"):
        compiled(x)
    # Outside the compiled region forward mode is served eagerly, and right.
    torch._dynamo.reset()
    assert close(jvp(torch.compile(ours, backend="aot_eager"), (x,), (x,))[1], jvp(ours, (x,), (x,))[1])


def test_jit_trace_records_the_operator_and_survives_save_and_load(unets):
    theirs, ours = unets
    x = x_of(2, 2, 8, 8)
    traced = torch.jit.trace(ours, (x,))
    assert "tconv::conv_transpose" in str(traced.inlined_graph)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    xx = x.clone().requires_grad_()
    loaded(xx).sum().backward()
    x0 = x.clone().requires_grad_()
    theirs(x0).sum().backward()
    assert close(loaded(x), theirs(x)) and close(xx.grad, x0.grad)


def test_torch_export_holds_the_operators(unets):
    theirs, ours = unets
    x = x_of(2, 2, 8, 8)
    program = torch.export.export(ours, (x,))
    targets = [str(n.target) for n in program.graph.nodes if n.op == "call_function"]
    assert targets.count("tconv.conv_transpose.default") == 2
    assert close(program.module()(x), theirs(x))


def test_onnx_export_gives_standard_conv_transpose_nodes(unets):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    theirs, ours = unets
    x = x_of(2, 2, 8, 8).float()
    model = nets.TinyUNet(channels=2, width=2)
    model.load_state_dict(ours.state_dict())
    reference = model(x)  # float32, torch.nn
    tt.swap_conv_transpose(model)
    program = tt.export_onnx(model, (x,))
    graph = program.model_proto.graph
    assert [n.op_type for n in graph.node].count("ConvTranspose") == 2
    assert {n.domain for n in graph.node} <= {"", "ai.onnx"}
    session = ort.InferenceSession(program.model_proto.SerializeToString())
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert close(torch.from_numpy(out), reference.detach(), tol=1e-5)
    with pytest.raises(tconv.TConvError, match="dynamo=False"):
        tt.export_onnx(model, (x,), dynamo=False)


@pytest.mark.parametrize("padding", [1, "same", ((2, 0), (0, 1))])
def test_onnx_export_of_every_padding_form(padding):
    """Crops at either end and zeros appended (``output_padding``, "same" with ``k_eff < s``) map to
    ONNX's pads and output_padding; tconv's conv maps to Conv."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        tt.ConvTranspose2d(3, 4, 3, stride=2, padding=padding, output_padding=1 if padding == 1 else 0),
        tt.ConvTranspose2d(4, 2, 2, stride=(4, 3), padding="same", dilation=(1, 2), groups=2),
    ).eval()
    x = torch.randn(1, 3, 5, 4)
    program = tt.export_onnx(model, (x,))
    session = ort.InferenceSession(program.model_proto.SerializeToString())
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert close(torch.from_numpy(out), model(x).detach(), tol=1e-5)
