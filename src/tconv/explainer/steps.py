"""The explainer's content: one transposed convolution, computed step by step, as plain data.

:func:`explain` returns an :class:`Explanation` — a list of :class:`Step` objects holding NumPy
arrays and numbers, nothing formatted — and every renderer reads that one structure: the terminal
text (:mod:`tconv.render_text`), the JSON (:meth:`Explanation.to_json`) and the pictures
(:mod:`tconv.render_image`). The steps follow the learner's notes (the README's example):

1. ``shape``       — the output-size formula with the numbers put in;
2. ``scatter``     — each input element stamps ``value × kernel`` at ``position × stride``;
3. ``zero_insert`` — zeros inserted, padded, and a stride-1 convolution with the *flipped* kernel;
4. ``matrix``      — the forward convolution as a matrix ``C``, and ``Cᵀx``;
5. ``gemm``        — all stamps at once as one matrix product, then *col2im*;
6. ``polyphase``   — the output split into ``s^d`` phases, each with its own sub-kernel;
7. ``result``      — the core's five methods compared with each other (and with PyTorch);
8. ``adjoint``     — ``conv(result)`` next to the input: the adjoint, not the inverse.

The index maths of every step is the core's (``o = i·s + t·d − b``, :func:`tconv._array.window`,
:func:`tconv.matrix.conv_matrix`, :func:`tconv.polyphase.phase_taps`); the result itself always
comes from :func:`tconv.conv_transpose`. Only one channel, 1-D or 2-D: what a person can read.

>>> e = explain([[2, 2], [0, 2]], [[1, 0], [0, 1]], torch_check=False)
>>> e.output.tolist()
[[2, 2, 0], [0, 4, 2], [0, 0, 2]]
>>> [s.kind for s in e.steps]
['shape', 'scatter', 'zero_insert', 'matrix', 'gemm', 'polyphase', 'result', 'adjoint']
>>> e.step("adjoint").data["conv_of_output"].tolist()   # conv(conv_transpose(x)) is not x
[[6, 4], [0, 6]]
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field

import numpy as np

from tconv.api import METHODS, conv, conv_transpose
from tconv.arguments import transpose_geometry
from tconv.arrays import window
from tconv.errors import TConvError
from tconv.explainer.parse import MAX_ELEMENTS
from tconv.geometry import Geometry
from tconv.interop.frameworks import torch_arguments
from tconv.methods.matrix import conv_matrix
from tconv.methods.polyphase import phase_taps

__all__ = ["Step", "Explanation", "explain", "shape_step", "STEP_KINDS"]

#: Every step ``explain`` can produce, in the order it produces them.
STEP_KINDS = ("shape", "scatter", "zero_insert", "matrix", "gemm", "polyphase", "result", "adjoint")
#: Which method steps each ``method=`` shows (the shape, result and adjoint steps are always there).
_METHOD_STEPS = {
    "scatter": ("scatter",),
    "zero_insert": ("zero_insert",),
    "matrix": ("matrix",),
    "gemm": ("gemm",),
    "polyphase": ("polyphase",),
    "all": STEP_KINDS[1:6],
}

MAX_MATRIX_ENTRIES = 4096  # C is written out only up to this many entries (rows × columns)


# ---- the data ---------------------------------------------------------------------------------


@dataclass
class Step:
    """One step: ``kind`` (one of :data:`STEP_KINDS`), a title and its numbers (arrays, ints, text)."""

    kind: str
    title: str
    data: dict = field(default_factory=dict)


@dataclass
class Explanation:
    """A transposed convolution of one 1-D or 2-D input with one kernel, and the steps computing it."""

    input: np.ndarray
    kernel: np.ndarray
    arguments: dict  # stride, padding, output_padding, dilation as given
    geometry: Geometry
    output: np.ndarray
    steps: list
    method: str = "all"
    name: str = ""
    note: str = ""

    def step(self, kind: str) -> Step:
        """The step of that kind (``KeyError`` if this explanation does not show it)."""
        for s in self.steps:
            if s.kind == kind:
                return s
        raise KeyError(kind)

    def to_dict(self) -> dict:
        """Everything as JSON-ready Python values (arrays become nested lists)."""
        g = self.geometry
        return _plain(
            {
                "input": self.input,
                "kernel": self.kernel,
                "arguments": self.arguments,
                "method": self.method,
                "output": self.output,
                "output_shape": list(self.output.shape),
                "geometry": {
                    "input": g.small,
                    "kernel": g.kernel,
                    "stride": g.stride,
                    "dilation": g.dilation,
                    "effective_kernel": g.effective_kernel,
                    "full": g.full,
                    "begin": g.begin,
                    "end": g.end,
                    "output": g.large,
                },
                "steps": {s.kind: {"title": s.title, **s.data} for s in self.steps},
            }
        )

    def to_json(self, indent=None) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _plain(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


# ---- the steps ----------------------------------------------------------------------------------


def _crops(g: Geometry, output_padding):
    """Per axis ``(b, e, op)``: the crops of the full output and the output_padding appended after.

    ``Geometry.end`` is the net crop ``e − op``; the explainer shows the two parts separately.
    """
    ops = (output_padding,) * g.ndim if isinstance(output_padding, (int, np.integer)) else tuple(output_padding)
    return [(b, e + op, op) for b, e, op in zip(g.begin, g.end, ops)]


def _symmetric(g: Geometry, output_padding) -> bool:
    """Whether PyTorch can spell this crop: ``b = e = p`` on every axis."""
    return all(b == e >= 0 for b, e, _ in _crops(g, output_padding))


def shape_step(g: Geometry, padding, output_padding) -> Step:
    """``o = (i−1)·s + d·(k−1) + 1 − b − e + op``, per axis, with the numbers substituted."""
    axes = []
    symmetric = _symmetric(g, output_padding) and not (isinstance(padding, str) and padding.lower() == "same")
    for a, (b, e, op) in enumerate(_crops(g, output_padding)):
        i, k, s, d = g.small[a], g.kernel[a], g.stride[a], g.dilation[a]
        o, F = g.large[a], g.full[a]
        base = f"({i}-1)*{s} + {d}*({k}-1) + 1"
        if not symmetric:
            # per-side crops (ONNX pads, TensorFlow "same"): b at the start, e at the end
            formula, numbers = "o = (i-1)*s + d*(k-1) + 1 - b - e + op", f"{base} - {b} - {e} + {op} = {o}"
        else:
            formula, numbers = "o = (i-1)*s + d*(k-1) + 1 - 2*p + op", f"{base} - 2*{b} + {op} = {o}"
        axes.append(
            {
                "i": i,
                "k": k,
                "s": s,
                "d": d,
                "k_eff": g.effective_kernel[a],
                "full": F,
                "begin": b,
                "end": e,
                "output_padding": op,
                "o": o,
                "formula": formula,
                "numbers": numbers,
            }
        )
    notes = [
        "F = (i-1)*s + d*(k-1) + 1 is the full output; padding does not pad it, it crops it: "
        "b elements at the start and e at the end (PyTorch: b = e = padding, default 0)."
    ]
    if isinstance(padding, str) and padding.lower() == "same":
        notes.append(
            "padding='same' is TensorFlow's rule: o = i*s, crop b = floor(max(k_eff - s, 0)/2), "
            "the rest at the end (negative e: zeros appended)."
        )
    if any(op for op in (ax["output_padding"] for ax in axes)):
        notes.append("output_padding gives back op positions at the end, after the crop; it adds no taps.")
    return Step("shape", "output size", {"axes": axes, "notes": notes})


def _scatter_step(x, w, g: Geometry, limit: int) -> Step:
    """``full[i·s + t·d] += x[i]·w[t]``: one stamp per input element, then the crop ``[b, b + o)``."""
    full = np.zeros(g.full, dtype=np.result_type(x, w))
    stamps = []
    total = x.size
    for i in itertools.product(*(range(m) for m in g.small)):
        # The stamp covers i·s, i·s + d, ..., i·s + (k−1)·d on each axis (scatter.py's `where`).
        where = tuple(
            slice(ia * s, ia * s + ke, d) for ia, s, ke, d in zip(i, g.stride, g.effective_kernel, g.dilation)
        )
        stamp = x[i] * w
        full[where] += stamp
        if len(stamps) < limit:
            stamps.append(
                {
                    "index": list(i),
                    "value": x[i],
                    "at": [ia * s for ia, s in zip(i, g.stride)],
                    "stamp": stamp,
                    "sum": full.copy(),
                }
            )
    output = window(full, g.begin, g.large)  # the crop (and zeros appended where e < 0)
    return Step(
        "scatter",
        "scatter: every input element stamps value x kernel at position x stride",
        {
            "stamps": stamps,
            "more": total - len(stamps),
            "full": full,
            "begin": list(g.begin),
            "end": list(g.end),
            "output": output,
        },
    )


def _zero_insert_step(x, w, g: Geometry, limit: int) -> Step:
    """Insert ``s−1`` zeros, pad by ``k_eff−1−b`` and ``k_eff−1−e``, correlate with the flipped kernel.

    ``output[o] = Σ_u P[o + u·d] · flip(w)[u]`` where ``P`` is the padded, zero-inserted input.
    """
    stretched = tuple((i - 1) * s + 1 for i, s in zip(g.small, g.stride))
    z = np.zeros(stretched, dtype=x.dtype)
    z[tuple(slice(None, None, s) for s in g.stride)] = x
    # Where each padded cell came from: 2 an input value, 1 an inserted zero, 0 padding.
    origin = np.ones(stretched, dtype=np.int8)
    origin[tuple(slice(None, None, s) for s in g.stride)] = 2
    start = tuple(b - (ke - 1) for b, ke in zip(g.begin, g.effective_kernel))  # as in zero_insert.py
    span = tuple(o - 1 + ke for o, ke in zip(g.large, g.effective_kernel))
    padded, origin = window(z, start, span), window(origin, start, span)
    flipped = np.flip(w)  # every spatial axis

    def slide(a, kernel):  # Σ_u a[o + u·d] · kernel[u] for every output o: a stride-1 correlation
        return conv(a[None, None], kernel[None, None], dilation=g.dilation)[0, 0]

    out = slide(padded, flipped)
    unflipped = slide(padded, w)  # the trap: the same windows without the flip
    wasted = int(np.sum(slide((origin != 2).astype(np.int64), np.ones_like(w, dtype=np.int64))))
    windows = []
    for o in itertools.islice(itertools.product(*(range(n) for n in g.large)), limit):
        read = tuple(slice(oa, oa + ke, d) for oa, ke, d in zip(o, g.effective_kernel, g.dilation))
        windows.append({"out": list(o), "patch": padded[read], "sum": out[o]})
    return Step(
        "zero_insert",
        "zero insertion: insert zeros, pad, convolve with the flipped kernel",
        {
            "stretched": z,
            "pad_before": [ke - 1 - b for ke, b in zip(g.effective_kernel, g.begin)],
            "pad_after": [s - st - (ke - 1 - b) for s, st, ke, b in zip(span, stretched, g.effective_kernel, g.begin)],
            "padded": padded,
            "origin": origin,
            "flipped": flipped,
            "symmetric": bool(np.array_equal(flipped, w)),
            "windows": windows,
            "more": out.size - len(windows),
            "output": out,
            "unflipped_output": unflipped,
            "multiplications": out.size * w.size,
            "zero_multiplications": wasted,
        },
    )


def _matrix_step(x, w, g: Geometry) -> Step:
    """``C`` of the forward convolution (rows: input positions, columns: output positions); ``Cᵀx``."""
    rows, cols = math.prod(g.small), math.prod(g.large)
    data = {"rows": rows, "columns": cols, "C": None}
    if rows * cols <= MAX_MATRIX_ENTRIES:
        c = conv_matrix(g, w[None, None])
        data.update(C=c, x=x.ravel(), Ct_x=c.T @ x.ravel())
    return Step("matrix", "matrix: the convolution is a matrix C; the transposed convolution is C^T x", data)


def _gemm_step(x, w, g: Geometry) -> Step:
    """``cols[t, i] = w[t]·x[i]`` (one matrix product), then col2im adds row ``t`` at ``i·s + t·d − b``."""
    cols = np.outer(w.ravel(), x.ravel())
    taps = [list(t) for t in itertools.product(*(range(k) for k in g.kernel))]
    return Step(
        "gemm",
        "gemm + col2im: all stamps at once as one matrix product",
        {"columns": cols if cols.size <= MAX_MATRIX_ENTRIES else None, "shape": list(cols.shape), "taps": taps},
    )


def _polyphase_step(x, w, g: Geometry, output) -> Step:
    """Output positions ``o ≡ r − b (mod s)`` use only the taps with ``t·d ≡ r (mod s)``."""
    phases = []
    for r in itertools.product(*(range(s) for s in g.stride)):
        axes = [phase_taps(k, s, d, ra) for k, s, d, ra in zip(g.kernel, g.stride, g.dilation, r)]
        o0 = [(ra - b) % s for ra, b, s in zip(r, g.begin, g.stride)]  # first output of this phase
        sel = tuple(slice(a, None, s) for a, s in zip(o0, g.stride))
        count = math.prod(c for _, _, c, _, _ in axes)
        taps = [list(range(t0, t0 + step * c, step)) for t0, step, c, _, _ in axes]
        sub = (
            w[tuple(slice(t0, None, step) for t0, step, _, _, _ in axes)] if count else np.zeros((0,) * g.ndim, w.dtype)
        )
        phases.append(
            {"phase": list(r), "taps": taps, "count": count, "sub_kernel": sub, "first": o0, "values": output[sel]}
        )
    counts = sorted({p["count"] for p in phases})
    return Step(
        "polyphase",
        "polyphase: s^d phases, each a stride-1 convolution with a sub-kernel",
        {"phases": phases, "counts": counts, "even": len(counts) == 1},
    )


def _torch_check(x, w, g: Geometry, padding, output_padding, output) -> dict:
    """PyTorch's ``conv_transpose{1,2}d`` on the same numbers. PyTorch has no ``same`` or per-side
    padding for it: then it runs with padding 0 and the output is cropped to ``[b, b + o)``."""
    try:
        import torch.nn.functional as F

        import torch
    except ImportError:
        return {"available": False, "reason": "not installed, so not checked against it (pip install 'tconv[torch]')"}
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[g.ndim]
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))[None, None]
    wt = torch.as_tensor(np.asarray(w, dtype=np.float64))[None, None]
    t = torch_arguments(g)
    y = fn(xt, wt, stride=g.stride, padding=t.padding, output_padding=t.output_padding, dilation=g.dilation)[
        0, 0
    ].numpy()
    call = (
        f"{fn.__name__}(x, w, stride={_axes(g.stride)}, padding={_axes(t.padding)}, "
        f"output_padding={_axes(t.output_padding)}, dilation={_axes(g.dilation)})"
    )
    if not t.exact:
        y = window(y, t.start, t.size)
        call += f" cropped to [{_axes(t.start)}, +{_axes(t.size)}) (PyTorch has no same/per-side padding)"
    diff = float(np.max(np.abs(y - output))) if y.shape == output.shape else float("inf")
    return {
        "available": True,
        "version": torch.__version__,
        "call": call,
        "output": y,
        "equal": bool(y.shape == output.shape and np.allclose(y, output, rtol=1e-9, atol=1e-9)),
        "max_abs_diff": diff,
    }


def _axes(v):
    return v[0] if len(set(v)) == 1 else tuple(v)


def _adjoint_step(x, w, g: Geometry, output) -> Step:
    """``conv(conv_transpose(x)) = C Cᵀ x``: equal to ``x`` only when ``C Cᵀ = I``."""
    # conv with the same weight and left padding b reads y[i·s + t·d − b]; it returns at least the
    # i positions of x (more when output_padding appended zeros), so keep the first i.
    back = conv(
        output[None, None],
        w[None, None],
        stride=g.stride,
        dilation=g.dilation,
        padding=tuple((b, max(e, 0)) for b, e in zip(g.begin, g.end)),
    )[0, 0]
    back = back[tuple(slice(0, n) for n in g.small)]
    data = {"conv_of_output": back, "input": x, "equal": bool(np.allclose(back, x)), "CCt": None}
    rows, cols = math.prod(g.small), math.prod(g.large)
    if rows * cols <= MAX_MATRIX_ENTRIES:
        c = conv_matrix(g, w[None, None])
        cct = c @ c.T
        data.update(CCt=cct, identity=bool(np.allclose(cct, np.eye(rows))))
    data["overlap"] = any(k_eff > s for k_eff, s in zip(g.effective_kernel, g.stride))
    data["kernel_norm2"] = np.sum(w * w)
    # A geometry where the two do coincide: k = s, no crop, a unit-norm kernel (orthonormal rows).
    s = tuple(max(si, 2) for si in g.stride)
    w1 = np.full(s, 1 / math.sqrt(math.prod(s)))
    y1 = conv_transpose(x[None, None], w1[None, None], stride=s)
    x1 = conv(y1, w1[None, None], stride=s)[0, 0]
    data["orthonormal_example"] = {
        "kernel": w1,
        "stride": list(s),
        "conv_transpose": y1[0, 0],
        "conv_back": x1,
        "equal": bool(np.allclose(x1, x)),
    }
    return Step("adjoint", "adjoint, not inverse: conv(result) next to the input", data)


def explain(
    input,
    kernel,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    *,
    method: str = "all",
    limit: int = 64,
    torch_check: bool = True,
    name: str = "",
    note: str = "",
) -> Explanation:
    """Compute ``conv_transpose(input, kernel, ...)`` and record how, step by step.

    ``input`` and ``kernel`` are 1-D or 2-D (one channel); the arguments are PyTorch's plus tconv's
    padding forms. ``method`` picks the method steps shown (``"all"`` or one of ``METHODS``);
    ``limit`` caps the stamps and windows kept (the rest are counted in ``more``).

    >>> e = explain([1, 2], [1, 10, 100], stride=2, torch_check=False)
    >>> e.output.tolist(), e.step("result").data["agree"]
    ([1, 10, 102, 20, 200], True)
    >>> [st["at"] for st in e.step("scatter").data["stamps"]]
    [[0], [2]]
    """
    x, w = np.asarray(input), np.asarray(kernel)
    for label, a in (("--input", x), ("--kernel", w)):
        if a.ndim not in (1, 2) or a.size == 0:
            raise TConvError(f"{label} must be a non-empty 1-D or 2-D matrix; got shape {a.shape}")
        if a.size > MAX_ELEMENTS:
            raise TConvError(
                f"{label} has {a.size:,} elements: the explainer takes at most {MAX_ELEMENTS:,} "
                "(for big arrays call tconv.conv_transpose)"
            )
    if x.ndim != w.ndim:
        raise TConvError(f"--input is {x.ndim}-D but --kernel is {w.ndim}-D: give both as rows or both as matrices")
    if method not in _METHOD_STEPS:
        raise TConvError(f"method={method!r} is not one of {('all', *METHODS)}")
    g = transpose_geometry((1, 1, *x.shape), (1, 1, *w.shape), stride, padding, output_padding, 1, dilation)
    # The result comes from the core: every method, compared with each other.
    results = {
        m: conv_transpose(
            x[None, None],
            w[None, None],
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
            method=m,
        )[0, 0]
        for m in METHODS
    }
    output = results["scatter" if method == "all" else method]
    steps = [shape_step(g, padding, output_padding)]
    shown = _METHOD_STEPS[method]
    if "scatter" in shown:
        steps.append(_scatter_step(x, w, g, limit))
    if "zero_insert" in shown:
        steps.append(_zero_insert_step(x, w, g, limit))
    if "matrix" in shown:
        steps.append(_matrix_step(x, w, g))
    if "gemm" in shown:
        steps.append(_gemm_step(x, w, g))
    if "polyphase" in shown:
        steps.append(_polyphase_step(x, w, g, output))
    own = {s.kind: s.data["output"] for s in steps if "output" in s.data}  # the steps' own sums
    result = {
        "output": output,
        "methods": {m: bool(np.array_equal(r, output) or np.allclose(r, output)) for m, r in results.items()},
        "steps_agree": {k: bool(np.allclose(v, output)) for k, v in own.items()},
        "torch": _torch_check(x, w, g, padding, output_padding, output)
        if torch_check
        else {"available": False, "reason": "skipped (--no-torch)"},
    }
    result["agree"] = all(result["methods"].values()) and all(result["steps_agree"].values())
    steps.append(Step("result", "result", result))
    steps.append(_adjoint_step(x, w, g, output))
    arguments = {"stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation}
    return Explanation(x, w, arguments, g, output, steps, method, name, note)
