"""``explain``: one transposed convolution computed step by step, as typed records (public as ``tconv.explain``).

The steps follow the learner's notes (the README's example):

1. ``shape``       — the output-size formula with the numbers put in;
2. ``channels``    — for a layer: how input channels sum into each output channel, and the groups;
3. ``scatter``     — each input element stamps ``value × kernel`` at ``position × stride``;
4. ``zero_insert`` — zeros inserted, padded, and a stride-1 convolution with the *flipped* kernel;
5. ``matrix``      — the forward convolution as a matrix ``C``, and ``Cᵀx``;
6. ``gemm``        — all stamps at once as one matrix product, then *col2im*;
7. ``polyphase``   — the output split into ``s^d`` phases, each with its own sub-kernel;
8. ``result``      — the core's five methods compared with each other (and with PyTorch);
9. ``adjoint``     — ``conv(result)`` next to the input: the adjoint, not the inverse.

The result itself always comes from :func:`tconv.conv_transpose`.

>>> e = explain([[2, 2], [0, 2]], [[1, 0], [0, 1]], torch_check=False)
>>> e.output.tolist()
[[2, 2, 0], [0, 4, 2], [0, 0, 2]]
>>> [s.kind for s in e.steps]
['shape', 'scatter', 'zero_insert', 'matrix', 'gemm', 'polyphase', 'result', 'adjoint']
>>> e.step("adjoint").conv_of_output.tolist()   # conv(conv_transpose(x)) is not x
[[6, 4], [0, 6]]
"""

from __future__ import annotations

import math

import numpy as np

from tconv.api import METHODS, conv_transpose
from tconv.arguments import transpose_geometry
from tconv.errors import TConvError
from tconv.explainer.channels import channels_step
from tconv.explainer.checks import adjoint_step, overlap_map, torch_check
from tconv.explainer.explanation import Explanation
from tconv.explainer.parse import MAX_ELEMENTS
from tconv.explainer.records import ResultStep, TorchCheck
from tconv.explainer.steps import gemm_step, matrix_step, polyphase_step, scatter_step, shape_step, zero_insert_step

__all__ = ["explain", "STEP_KINDS", "MAX_CHANNELS"]

#: Every step ``explain`` can produce, in the order it produces them.
STEP_KINDS = ("shape", "channels", "scatter", "zero_insert", "matrix", "gemm", "polyphase", "result", "adjoint")
_METHOD_STEPS = {m: (m,) for m in METHODS} | {"all": STEP_KINDS[2:7]}
MAX_CHANNELS = 64  # a layer explained has at most this many input and output channels
MAX_PRODUCTS = 2**20  # input elements × kernel taps (× channels): the multiplications of one method
MAX_FULL = 2**18  # elements of the full output F (and of the output): what one drawn grid may hold


def _check(x: np.ndarray, w: np.ndarray, groups) -> bool:
    """Check the shapes (naming the parameter, before any work); True for a layer with channels."""
    for label, a in (("input", x), ("kernel", w)):
        if a.size == 0 or a.ndim == 0:
            raise TConvError(f"{label} must be a non-empty 1-D or 2-D matrix; got shape {a.shape}")
        if a.size > MAX_ELEMENTS:
            raise TConvError(
                f"{label} has {a.size:,} elements: the explainer takes at most {MAX_ELEMENTS:,} "
                "(for big arrays call tconv.conv_transpose)"
            )
    channelled = w.ndim == x.ndim + 1 and x.ndim >= 2  # (C_in, *spatial) with (C_in, C_out/groups, *k)
    if not channelled:
        if x.ndim != w.ndim:
            raise TConvError(
                f"input is {x.ndim}-D but kernel is {w.ndim}-D: give both as rows or both as matrices "
                "(or, for channels, input (C_in, *spatial) and kernel (C_in, C_out/groups, *k))"
            )
        if x.ndim > 2:
            raise TConvError(f"input must be 1-D or 2-D; got shape {x.shape}")
        if groups != 1:
            raise TConvError(f"groups={groups} needs channels: input (C_in, *spatial), kernel (C_in, C_out/groups, *k)")
        return False
    if x.ndim - 1 not in (1, 2):
        raise TConvError(f"input with channels must be (C_in, length) or (C_in, height, width); got shape {x.shape}")
    c_out = w.shape[1] * groups if isinstance(groups, int) else 0
    if max(x.shape[0], c_out) > MAX_CHANNELS:
        raise TConvError(
            f"{x.shape[0]} input and {c_out} output channels: the explainer takes at most {MAX_CHANNELS} each"
        )
    return True


def _check_size(x, w, g) -> None:
    """Refuse, before any work, what would take too long or too much memory to explain."""
    products = x.size * w.size // (x.shape[0] if w.ndim == x.ndim + 1 else 1)
    if products > MAX_PRODUCTS:
        raise TConvError(
            f"input ({x.size:,} elements) × kernel ({w.size:,}) is {products:,} multiplications: the explainer "
            f"takes at most {MAX_PRODUCTS:,} (for big arrays call tconv.conv_transpose)"
        )
    for what, shape in (("full output F", g.full), ("output", g.large)):
        if math.prod(shape) > MAX_FULL:
            raise TConvError(
                f"the {what} would be {'×'.join(map(str, shape))} = {math.prod(shape):,} elements (stride "
                f"{g.stride}, dilation {g.dilation}): the explainer draws at most {MAX_FULL:,}"
            )


def explain(
    input,
    kernel,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    *,
    groups: int = 1,
    method: str = "all",
    limit: int = 64,
    torch_check: bool = True,
    name: str = "",
    note: str = "",
) -> Explanation:
    """Compute ``conv_transpose(input, kernel, ...)`` and record how, step by step.

    Parameters
    ----------
    input, kernel : array_like
        One channel: both 1-D or both 2-D. A layer: ``input`` of shape ``(C_in, *spatial)`` and
        ``kernel`` of PyTorch's ``(C_in, C_out/groups, *k)`` (one more axis than ``input``).
    stride, padding, output_padding, dilation, groups
        PyTorch's arguments, plus tconv's padding forms (``"same"``, ``(begin, end)`` per axis).
    method : str
        The method steps shown: ``"all"`` or one of :data:`tconv.METHODS`.
    limit : int
        The stamps and windows kept (the rest are counted in ``more``).
    torch_check : bool
        Compare with PyTorch when it is installed.

    Returns
    -------
    Explanation
        Prints as text, ``.to_json()`` as JSON, and displays in Jupyter as the interactive page.

    Raises
    ------
    TConvError
        On bad arguments, naming the parameter, before any large allocation.

    >>> e = explain([1, 2], [1, 10, 100], stride=2, torch_check=False)
    >>> e.output.tolist(), e.step("result").agree
    ([1, 10, 102, 20, 200], True)
    >>> [st.at for st in e.step("scatter").stamps]
    [[0], [2]]
    """
    x, w = np.asarray(input), np.asarray(kernel)
    channelled = _check(x, w, groups)
    if method not in _METHOD_STEPS:
        raise TConvError(f"method={method!r} is not one of {('all', *METHODS)}")
    args = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    x1, w1 = (x[0], w[0, 0]) if channelled else (x, w)  # the one channel the method steps show
    g1 = transpose_geometry((1, 1, *x1.shape), (1, 1, *w1.shape), stride, padding, output_padding, 1, dilation)
    _check_size(x, w, g1)
    # Each kept stamp holds a copy of the running sum: keep fewer when F is big (the JSON stays small).
    limit = max(1, min(limit, 2**16 // math.prod(g1.full)))
    if channelled:
        g = transpose_geometry((1, *x.shape), w.shape, stride, padding, output_padding, groups, dilation)
        results = {m: conv_transpose(x[None], w, groups=groups, method=m, **args)[0] for m in METHODS}
    else:
        g = g1
        results = {m: conv_transpose(x[None, None], w[None, None], method=m, **args)[0, 0] for m in METHODS}
    output = results["scatter" if method == "all" else method]

    steps: list = [shape_step(g1, padding, output_padding)]
    if channelled:
        steps.append(channels_step(x, w, groups=groups, **args))
    shown = _METHOD_STEPS[method]
    builders = {
        "scatter": lambda: scatter_step(x1, w1, g1, limit, output_padding),
        "zero_insert": lambda: zero_insert_step(x1, w1, g1, limit),
        "matrix": lambda: matrix_step(x1, w1, g1),
        "gemm": lambda: gemm_step(x1, w1, g1),
    }
    one = conv_transpose(x1[None, None], w1[None, None], **args)[0, 0]  # what the one-channel steps must sum to
    for kind in STEP_KINDS[2:7]:
        if kind in shown:
            steps.append(polyphase_step(x1, w1, g1, one) if kind == "polyphase" else builders[kind]())
    own = {
        s.kind: (s.Ct_x.reshape(one.shape) if s.kind == "matrix" else s.output)
        for s in steps
        if s.kind in ("scatter", "zero_insert") or (s.kind == "matrix" and s.C is not None)
    }
    methods = {m: bool(np.array_equal(r, output) or np.allclose(r, output)) for m, r in results.items()}
    steps_agree = {k: bool(np.allclose(v, one)) for k, v in own.items()}
    check = torch_check_or_skip(x, w, g, output, torch_check)
    agree = all(methods.values()) and all(steps_agree.values())
    steps.append(ResultStep(output, methods, steps_agree, check, agree, overlap_map(g1)))
    steps.append(adjoint_step(x1, w1, g1, one, padding, output_padding))
    arguments = dict(args, groups=groups) if channelled else args
    return Explanation(x, w, arguments, g, output, steps, method, name, note, g1)


def torch_check_or_skip(x, w, g, output, run: bool) -> TorchCheck:
    """PyTorch's check, or why it was skipped."""
    return torch_check(x, w, g, output) if run else TorchCheck(False, reason="skipped (--no-torch)")
