"""The explainer's method steps: one transposed convolution, computed the way each method computes it.

Each builder returns a typed record of :mod:`tconv.explainer.records` holding NumPy arrays and
numbers, nothing formatted. The index maths is the core's (``o = i·s + t·d − b``,
:func:`tconv.arrays.window`, :func:`tconv.methods.matrix.conv_matrix`,
:func:`tconv.methods.polyphase.phase_taps`); :func:`tconv.explainer.compute.explain` puts them together.

>>> from tconv.arguments import transpose_geometry
>>> g = transpose_geometry((1, 1, 2), (1, 1, 3), stride=2)
>>> [s.at for s in scatter_step(np.array([1, 2]), np.array([1, 10, 100]), g, 64).stamps]
[[0], [2]]
>>> shape_step(g, 0, 0).axes[0].numbers
'(2-1)*2 + 1*(3-1) + 1 - 2*0 + 0 = 5'
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from tconv.api import conv
from tconv.arrays import window
from tconv.explainer.i18n import messages
from tconv.explainer.records import (
    GemmStep,
    MatrixStep,
    Phase,
    PolyphaseStep,
    ScatterStep,
    ShapeAxis,
    ShapeStep,
    Stamp,
    Window,
    ZeroInsertStep,
)
from tconv.geometry import Geometry
from tconv.methods.matrix import conv_matrix
from tconv.methods.polyphase import phase_taps

__all__ = [
    "crops",
    "shape_step",
    "scatter_step",
    "zero_insert_step",
    "matrix_step",
    "gemm_step",
    "polyphase_step",
    "MAX_MATRIX_ENTRIES",
]

MAX_MATRIX_ENTRIES = 4096  # C is written out only up to this many entries (rows × columns)


def crops(g: Geometry, output_padding) -> list[tuple[int, int, int]]:
    """Per axis ``(b, e, op)``: the crops of the full output ``F`` and the output_padding appended after.

    ``Geometry.end`` is the net ``e − op``; the explainer names ``e`` the end crop everywhere (as
    ``tconv convert`` and ONNX's pads do) and shows ``op`` separately.

    >>> from tconv.arguments import transpose_geometry
    >>> crops(transpose_geometry((1, 1, 2), (1, 1, 3), stride=2, padding=1, output_padding=1), 1)
    [(1, 1, 1)]
    """
    ops = (output_padding,) * g.ndim if isinstance(output_padding, (int, np.integer)) else tuple(output_padding)
    return [(b, e + op, op) for b, e, op in zip(g.begin, g.end, ops)]


def _symmetric(g: Geometry, output_padding) -> bool:
    """Whether PyTorch can spell this crop: ``b = e = p`` on every axis."""
    return all(b == e >= 0 for b, e, _ in crops(g, output_padding))


def shape_step(g: Geometry, padding, output_padding, lang: str = "en") -> ShapeStep:
    """``o = (i−1)·s + d·(k−1) + 1 − b − e + op``, per axis, with the numbers substituted; the notes in ``lang``."""
    t = messages(lang)
    same = isinstance(padding, str) and padding.lower() == "same"
    symmetric = _symmetric(g, output_padding) and not same
    axes = []
    for a, (b, e, op) in enumerate(crops(g, output_padding)):
        i, k, s, d, o = g.small[a], g.kernel[a], g.stride[a], g.dilation[a], g.large[a]
        base = f"({i}-1)*{s} + {d}*({k}-1) + 1"
        if symmetric:
            formula, numbers = "o = (i-1)*s + d*(k-1) + 1 - 2*p + op", f"{base} - 2*{b} + {op} = {o}"
        else:  # per-side crops (ONNX pads, TensorFlow "same"): b at the start, e at the end
            formula, numbers = "o = (i-1)*s + d*(k-1) + 1 - b - e + op", f"{base} - {b} - {e} + {op} = {o}"
        axes.append(ShapeAxis(i, k, s, d, g.effective_kernel[a], g.full[a], b, e, op, o, formula, numbers))
    notes = [t("note.crop")]
    if same:
        notes.append(t("note.same"))
    if any(ax.output_padding for ax in axes):
        notes.append(t("note.output_padding"))
    return ShapeStep(axes, notes)


def _stamp_region(at, g: Geometry) -> tuple[slice, ...]:
    """The cells ``at + t·d`` (``t < k``) one stamp covers, per axis: scatter.py's ``where``."""
    return tuple(slice(a, a + ke, d) for a, ke, d in zip(at, g.effective_kernel, g.dilation))


def scatter_step(x, w, g: Geometry, limit: int, output_padding=0) -> ScatterStep:
    """``full[i·s + t·d] += x[i]·w[t]``: one stamp per input element, then the crop ``[b, b + o)``."""
    full = np.zeros(g.full, dtype=np.result_type(x, w))
    stamps = []
    for i in itertools.product(*(range(m) for m in g.small)):
        at = [ia * s for ia, s in zip(i, g.stride)]
        stamp = x[i] * w
        full[_stamp_region(at, g)] += stamp
        if len(stamps) < limit:
            stamps.append(Stamp(list(i), x[i], at, stamp, full.copy()))
    output = window(full, g.begin, g.large)  # the crop (and zeros appended where e < 0 or op > 0)
    b, e, op = zip(*crops(g, output_padding))
    return ScatterStep(stamps, x.size - len(stamps), full, list(b), list(e), list(op), output)


def zero_insert_step(x, w, g: Geometry, limit: int) -> ZeroInsertStep:
    """Insert ``s−1`` zeros, pad by ``k_eff−1−b`` and ``k_eff−1−e+op``, correlate with the flipped kernel.

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
        windows.append(Window(list(o), padded[_stamp_region(o, g)], out[o]))
    before = [ke - 1 - b for ke, b in zip(g.effective_kernel, g.begin)]
    return ZeroInsertStep(
        stretched=z,
        pad_before=before,
        pad_after=[n - st - pb for n, st, pb in zip(span, stretched, before)],
        padded=padded,
        origin=origin,
        flipped=flipped,
        symmetric=bool(np.array_equal(flipped, w)),
        windows=windows,
        more=out.size - len(windows),
        output=out,
        unflipped_output=unflipped,
        multiplications=out.size * w.size,
        zero_multiplications=wasted,
    )


def matrix_step(x, w, g: Geometry) -> MatrixStep:
    """``C`` of the forward convolution (rows: input positions, columns: output positions); ``Cᵀx``."""
    rows, cols = math.prod(g.small), math.prod(g.large)
    if rows * cols > MAX_MATRIX_ENTRIES:
        return MatrixStep(rows, cols)
    c = conv_matrix(g, w[None, None])
    return MatrixStep(rows, cols, c, x.ravel(), c.T @ x.ravel())


def gemm_step(x, w, g: Geometry) -> GemmStep:
    """``cols[t, i] = w[t]·x[i]`` (one matrix product), then col2im adds row ``t`` at ``i·s + t·d − b``."""
    cols = np.outer(w.ravel(), x.ravel())
    taps = [list(t) for t in itertools.product(*(range(k) for k in g.kernel))]
    return GemmStep(cols if cols.size <= MAX_MATRIX_ENTRIES else None, list(cols.shape), taps)


def polyphase_step(x, w, g: Geometry, output) -> PolyphaseStep:
    """Output positions ``o ≡ r − b (mod s)`` use only the taps with ``t·d ≡ r (mod s)``."""
    phases = []
    for r in itertools.product(*(range(s) for s in g.stride)):
        axes = [phase_taps(k, s, d, ra) for k, s, d, ra in zip(g.kernel, g.stride, g.dilation, r)]
        first = [(ra - b) % s for ra, b, s in zip(r, g.begin, g.stride)]  # first output of this phase
        count = math.prod(c for _, _, c, _, _ in axes)
        taps = [list(range(t0, t0 + step * c, step)) for t0, step, c, _, _ in axes]
        sub = (
            w[tuple(slice(t0, None, step) for t0, step, _, _, _ in axes)] if count else np.zeros((0,) * g.ndim, w.dtype)
        )
        values = output[tuple(slice(a, None, s) for a, s in zip(first, g.stride))]
        phases.append(Phase(list(r), taps, count, sub, first, values))
    counts = sorted({p.count for p in phases})
    return PolyphaseStep(phases, counts, len(counts) == 1)
