"""``explain``: one transposed convolution computed step by step, as typed records (public as ``tconv.explain``).

The steps follow the learner's notes (the README's example):

1. ``shape``       — the output-size formula with the numbers put in;
2. ``channels``    — for a layer: how input channels sum into each output channel, and the groups;
3. ``scatter``     — each input element stamps ``value × kernel`` at ``position × stride``;
4. ``zero_insert`` — zeros inserted, padded, and a stride-1 convolution with the *flipped* kernel;
5. ``matrix``      — the forward convolution as a matrix ``C``, and ``Cᵀx``;
6. ``gemm``        — all stamps at once as one matrix product, then *col2im*;
7. ``polyphase``   — the output split into ``s^d`` phases, each with its own sub-kernel;
8. ``result``      — the core's five methods compared with each other (and with PyTorch, when asked);
9. ``adjoint``     — ``conv(result)`` next to the input: the adjoint, not the inverse.

The result itself always comes from :func:`tconv.conv_transpose`.

>>> e = explain([[2, 2], [0, 2]], [[1, 0], [0, 1]])
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
from tconv.explainer.checks import adjoint_step, overlap_map, torch_call, torch_check
from tconv.explainer.explanation import Explanation
from tconv.explainer.i18n import check_lang, messages
from tconv.explainer.limits import MAX_CHANNELS, MAX_ELEMENTS, MAX_FULL, MAX_PRODUCTS, check_bounds
from tconv.explainer.records import ResultStep, TorchCheck
from tconv.explainer.steps import gemm_step, matrix_step, polyphase_step, scatter_step, shape_step, zero_insert_step

__all__ = ["explain", "STEP_KINDS", "MAX_CHANNELS", "MAX_FULL", "MAX_PRODUCTS"]

#: Every step ``explain`` can produce, in the order it produces them.
STEP_KINDS = ("shape", "channels", "scatter", "zero_insert", "matrix", "gemm", "polyphase", "result", "adjoint")
_METHOD_STEPS = {m: (m,) for m in METHODS} | {"all": STEP_KINDS[2:7]}


#: The shapes :func:`explain` takes, as its errors state them.
SHAPES = (
    "one channel: input (W) with kernel (kW), or (H, W) with (kH, kW); a layer: input (C_in, W) or "
    "(1, C_in, W) with kernel (C_in, C_out/groups, kW), or (C_in, H, W) or (1, C_in, H, W) with kernel "
    "(C_in, C_out/groups, kH, kW)"
)


def _check(x: np.ndarray, w: np.ndarray, groups) -> tuple[bool, bool]:
    """Check the shapes (naming the parameter, before any work): ``(channelled, batched)``.

    The kernel says which form it is: 1-D or 2-D, one channel, and the input has as many axes;
    3-D or 4-D, PyTorch's weight of a 1-D or 2-D layer, and the input is ``(C_in, *spatial)`` or
    ``(1, C_in, *spatial)``.
    """
    for label, a in (("input", x), ("kernel", w)):
        if a.size == 0:
            raise TConvError(f"{label} is empty (shape {a.shape}); explain takes {SHAPES}")
        if a.size > MAX_ELEMENTS:
            raise TConvError(
                f"{label} has {a.size:,} elements: the explainer takes at most {MAX_ELEMENTS:,} "
                "(for big arrays call tconv.conv_transpose)"
            )
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            raise TConvError(f"{label} has values that are not finite (inf or nan): the explainer takes finite numbers")
    if w.ndim not in (1, 2, 3, 4):
        raise TConvError(f"kernel has shape {w.shape} ({w.ndim}-D); explain takes {SHAPES}")
    if w.ndim <= 2:
        if x.ndim != w.ndim:
            raise TConvError(f"input has shape {x.shape} and kernel {w.shape}; explain takes {SHAPES}")
        if groups != 1:
            raise TConvError(
                f"groups={groups} needs a layer: input (C_in, *spatial) or (1, C_in, *spatial), "
                "kernel (C_in, C_out/groups, *k)"
            )
        return False, False
    spatial = w.ndim - 2
    batched = x.ndim == spatial + 2
    if not (batched or x.ndim == spatial + 1):
        raise TConvError(
            f"input has shape {x.shape} and kernel {w.shape} (the weight of a {spatial}-D layer); explain takes {SHAPES}"
        )
    if batched and x.shape[0] != 1:
        axes = ("W", "H, W")[spatial - 1]
        raise TConvError(
            f"input has shape {x.shape} and kernel {w.shape} (the weight of a {spatial}-D layer): a batch of "
            f"{x.shape[0]}, and explain shows one image; give input (1, C_in, {axes}) or (C_in, {axes}) "
            "(for a batch call tconv.conv_transpose)"
        )
    c_in = x.shape[1] if batched else x.shape[0]
    c_out = w.shape[1] * groups if isinstance(groups, int) else 0
    if max(c_in, c_out) > MAX_CHANNELS:
        raise TConvError(f"{c_in} input and {c_out} output channels: the explainer takes at most {MAX_CHANNELS} each")
    return True, batched


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


@np.errstate(over="ignore", invalid="ignore")  # an overflow shows as inf in the steps, not as warnings on stderr
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
    torch_check: bool = False,
    name: str = "",
    note: str = "",
    lang: str = "en",
) -> Explanation:
    """Compute ``conv_transpose(input, kernel, ...)`` and record how, step by step.

    Parameters
    ----------
    input, kernel : array_like
        The kernel's axes say the form. One channel: ``input`` ``(W)`` with ``kernel`` ``(kW)``, or
        ``(H, W)`` with ``(kH, kW)``. A layer: ``kernel`` of PyTorch's ``(C_in, C_out/groups, *k)``
        and ``input`` ``(C_in, *spatial)`` or ``(1, C_in, *spatial)`` (a batch of one, as
        :func:`tconv.conv_transpose` takes it; the output then keeps the batch axis).
    stride, padding, output_padding, dilation, groups
        PyTorch's arguments, plus tconv's padding forms (``"same"``, ``(begin, end)`` per axis).
    method : str
        The method steps shown: ``"all"`` or one of :data:`tconv.METHODS`.
    limit : int
        The stamps and windows kept (the rest are counted in ``more``).
    torch_check : bool
        Also run PyTorch's ``conv_transpose{1,2}d`` on the same numbers and compare (imports torch,
        which takes seconds; default ``False``: the result step then shows the PyTorch call without
        running it — the five methods already check each other, and the tests check them against
        PyTorch).
    lang : str
        The language of the text, the page and the pictures' labels: ``"en"`` (the default) or
        ``"ja"`` (:data:`tconv.explainer.i18n.LANGS`). The numbers do not depend on it.

    Returns
    -------
    Explanation
        ``print`` shows the steps as text, ``repr`` one line, ``.to_json()`` the JSON; in Jupyter it
        displays as the interactive page.

    Raises
    ------
    TConvError
        On bad arguments, naming the parameter, before any large allocation: a whole number past
        :data:`tconv.explainer.limits.BOUNDS` (``stride`` at most 4,096 and 4,096 phases, ``dilation``,
        ``padding`` and ``output_padding`` at most 1,048,576, ``groups`` at most 64), a non-finite
        ``input`` or ``kernel``, or more than the explainer draws.

    >>> e = explain([1, 2], [1, 10, 100], stride=2)
    >>> e.output.tolist(), e.step("result").agree
    ([1, 10, 102, 20, 200], True)
    >>> [st.at for st in e.step("scatter").stamps]
    [[0], [2]]
    >>> e
    Explanation(input (2), kernel (3), stride 2, padding 0, output_padding 0, dilation 1 -> output (5); print() shows the steps)

    A batch of one, in :func:`tconv.conv_transpose`'s layout, keeps its batch axis:

    >>> explain(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), stride=2).output.shape
    (1, 1, 4, 4)

    Values that overflow float64 are explained (as ``inf``), without a warning; their
    :meth:`~Explanation.to_json` is refused, since JSON cannot carry them.
    """
    check_lang(lang)
    check_bounds(dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, groups=groups))
    given, w = np.asarray(input), np.asarray(kernel)
    channelled, batched = _check(given, w, groups)
    x = given[0] if batched else given  # a layer's input (C_in, *spatial), or one channel
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

    steps: list = [shape_step(g1, padding, output_padding, lang)]
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
    check = torch_check_or_skip(x, w, g, output, torch_check, lang)
    agree = all(methods.values()) and all(steps_agree.values())
    steps.append(ResultStep(output, methods, steps_agree, check, agree, overlap_map(g1)))
    steps.append(adjoint_step(x1, w1, g1, one, padding, output_padding, lang))
    arguments = dict(args, groups=groups) if channelled else args
    shown_output = output[None] if batched else output  # in the input's layout
    return Explanation(given, w, arguments, g, shown_output, steps, method, name, note, g1, lang)


def torch_check_or_skip(x, w, g, output, run: bool, lang: str = "en") -> TorchCheck:
    """PyTorch's check, or its call spelled out and why it did not run."""
    if run:
        return torch_check(x, w, g, output, lang)
    return TorchCheck(False, call=torch_call(g), reason=messages(lang)("reason.not_run"))
