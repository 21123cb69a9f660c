"""The explanation's last two steps: the result checked every way, and the adjoint (not the inverse).

* :func:`torch_check` — PyTorch's ``conv_transpose{1,2}d`` on the same numbers, through the one
  geometry→PyTorch mapping (:func:`tconv.interop.frameworks.torch_arguments`); :func:`torch_call`
  spells that call without importing torch;
* :func:`overlap_map` — how many taps land on each output position (the checkerboard pattern);
* :func:`adjoint_step` — ``conv(conv_transpose(x)) = C Cᵀ x`` and exactly what ``C Cᵀ`` is.

>>> from tconv.arguments import transpose_geometry
>>> overlap_map(transpose_geometry((1, 1, 3), (1, 1, 3), stride=2)).tolist()
[1, 1, 2, 1, 2, 1, 1]
"""

from __future__ import annotations

import math

import numpy as np

from tconv.api import conv, conv_transpose
from tconv.arguments import transpose_geometry
from tconv.arrays import window
from tconv.errors import TORCH_INSTALL
from tconv.explainer.i18n import messages
from tconv.explainer.records import AdjointStep, OrthonormalDemo, TorchCheck
from tconv.explainer.steps import MAX_MATRIX_ENTRIES
from tconv.geometry import Geometry
from tconv.interop.frameworks import torch_arguments
from tconv.methods.matrix import conv_matrix

__all__ = ["torch_call", "torch_check", "overlap_map", "adjoint_step", "orthonormal_demo"]


def _axes(v):
    return v[0] if len(set(v)) == 1 else tuple(v)


def torch_call(g: Geometry) -> str:
    """PyTorch's call giving this result, as text: ``conv_transpose{1,2}d(x, w, ...)`` and, where
    PyTorch has no same or per-side padding, the crop of its output. Computed without torch.

    >>> from tconv.arguments import transpose_geometry
    >>> torch_call(transpose_geometry((1, 1, 3), (1, 1, 3), stride=2, padding="same"))
    'conv_transpose1d(x, w, stride=2, padding=0, output_padding=0, dilation=1) cropped to [0, +6) (PyTorch has no same/per-side padding)'
    """
    t = torch_arguments(g)
    groups = f", groups={g.groups}" if g.groups != 1 else ""
    call = (
        f"conv_transpose{g.ndim}d(x, w, stride={_axes(g.stride)}, padding={_axes(t.padding)}, "
        f"output_padding={_axes(t.output_padding)}{groups}, dilation={_axes(g.dilation)})"
    )
    if not t.exact:
        call += f" cropped to [{_axes(t.start)}, +{_axes(t.size)}) (PyTorch has no same/per-side padding)"
    return call


def torch_check(x, w, g: Geometry, output, lang: str = "en") -> TorchCheck:
    """PyTorch's ``conv_transpose{1,2}d`` on the same numbers (one channel, or ``(C_in, *spatial)``).

    PyTorch has no ``same`` or per-side padding for it: then it runs with the nearest padding it
    has and the output is cropped to ``[start, start + o)``. torch is imported here, only when the
    check runs (it takes seconds to import).
    """
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return TorchCheck(
            False,
            reason=messages(lang)("reason.not_installed", install=TORCH_INSTALL),
            call=torch_call(g),
        )
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[g.ndim]
    channelled = w.ndim == g.ndim + 2
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))[None] if channelled else None
    wt = torch.as_tensor(np.asarray(w, dtype=np.float64))
    if not channelled:
        xt, wt = torch.as_tensor(np.asarray(x, dtype=np.float64))[None, None], wt[None, None]
    t = torch_arguments(g)
    y = fn(
        xt,
        wt,
        stride=g.stride,
        padding=t.padding,
        output_padding=t.output_padding,
        groups=g.groups,
        dilation=g.dilation,
    )[0].numpy()
    y = y if channelled else y[0]
    if not t.exact:
        lead = y.shape[:1] if channelled else ()
        y = window(y, (0,) * len(lead) + t.start, lead + t.size)
    same_shape = y.shape == output.shape
    return TorchCheck(
        True,
        version=torch.__version__,
        call=torch_call(g),
        output=y,
        equal=bool(same_shape and np.allclose(y, output, rtol=1e-9, atol=1e-9)),
        max_abs_diff=float(np.max(np.abs(y - output))) if same_shape else float("inf"),
    )


def overlap_map(g: Geometry) -> np.ndarray:
    """Taps landing on each output position: ``conv_transpose(ones, ones)`` with this geometry.

    Computed by the core, borders and crop included; neighbouring counts that differ in the
    interior are the checkerboard pattern (``tconv artifacts``).
    """
    ones_x = np.ones((1, 1, *g.small), dtype=np.int64)
    ones_w = np.ones((1, 1, *g.kernel), dtype=np.int64)
    full = conv_transpose(ones_x, ones_w, stride=g.stride, dilation=g.dilation)[0, 0]
    return window(full, g.begin, g.large)


def orthonormal_demo(x, g: Geometry, padding, output_padding, lang: str = "en") -> OrthonormalDemo:
    """A kernel whose ``C`` has orthonormal rows, so that ``conv(conv_transpose(x)) = x`` — with the
    user's stride, dilation and, when it crops no stamp, padding.

    ``k' = s / gcd(s, d)`` taps spaced ``d`` apart never meet a neighbour's (``i·s + t·d = i'·s + t'·d``
    needs ``|t − t'| ≥ s/gcd(s, d)``); the value ``1/√Πk'`` makes every row of ``C`` a unit vector —
    unless a crop cuts taps off the border stamps, which is why a cropping padding is replaced by 0.

    >>> from tconv.arguments import transpose_geometry
    >>> g = transpose_geometry((1, 1, 3), (1, 1, 3), stride=2, padding=1)
    >>> d = orthonormal_demo(np.array([1, 2, 3]), g, 1, 0)
    >>> d.kernel.round(4).tolist(), d.kept_padding, d.equal
    ([0.7071, 0.7071], False, True)
    """
    taps = tuple(s // math.gcd(s, d) for s, d in zip(g.stride, g.dilation))
    w1 = np.full(taps, 1 / math.sqrt(math.prod(taps)))
    shape_x, shape_w = (1, 1, *g.small), (1, 1, *taps)
    kept, why = True, ""
    try:
        g1 = transpose_geometry(shape_x, shape_w, g.stride, padding, output_padding, 1, g.dilation)
        # a crop at the start (b > 0) or at the end (e = net end + op > 0) cuts a border stamp
        if any(b > 0 for b in g1.begin) or any(e + op > 0 for e, op in zip(g1.end, _per_axis(output_padding, g.ndim))):
            kept = False
    except ValueError:  # the user's padding leaves nothing of this smaller kernel's output
        kept = False
    if not kept:
        why = messages(lang)("reason.cropping_padding", p=_show(padding))
        padding = 0
    y1 = conv_transpose(
        x[None, None],
        w1[None, None],
        stride=g.stride,
        padding=padding,
        output_padding=output_padding,
        dilation=g.dilation,
    )
    g1 = transpose_geometry(shape_x, shape_w, g.stride, padding, output_padding, 1, g.dilation)
    pads = tuple((b, max(e, 0)) for b, e in zip(g1.begin, g1.end))
    x1 = conv(y1, w1[None, None], stride=g.stride, dilation=g.dilation, padding=pads)[0, 0]
    x1 = x1[tuple(slice(0, n) for n in g.small)]
    return OrthonormalDemo(
        kernel=w1,
        stride=list(g.stride),
        dilation=list(g.dilation),
        padding=padding,
        output_padding=output_padding,
        kept_padding=kept,
        why=why,
        conv_transpose=y1[0, 0],
        conv_back=x1,
        equal=bool(np.allclose(x1, x)),
    )


def _per_axis(v, ndim: int) -> tuple[int, ...]:
    return (v,) * ndim if isinstance(v, (int, np.integer)) else tuple(v)


def _show(padding) -> str:
    if isinstance(padding, tuple):
        return ",".join(":".join(map(str, p)) if isinstance(p, tuple) else str(p) for p in padding)
    return str(padding)


def adjoint_step(x, w, g: Geometry, output, padding, output_padding, lang: str = "en") -> AdjointStep:
    """``conv(conv_transpose(x)) = C Cᵀ x``: equal to ``x`` for every ``x`` exactly when ``C Cᵀ = I``.

    ``(C Cᵀ)[i, i'] = Σ_o C[i, o]·C[i', o]``: the diagonal is ``Σ w²`` over the taps of input ``i``'s
    stamp that survive the crop (``|w|²`` when none is cropped); an off-diagonal entry is non-zero
    where the stamps of ``i`` and ``i'`` meet on taps of non-zero weight.
    """
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
    rows, cols = math.prod(g.small), math.prod(g.large)
    cct = identity = diagonal = scale = None
    if rows * cols <= MAX_MATRIX_ENTRIES:
        c = conv_matrix(g, w[None, None])
        cct = c @ c.T
        diag = np.diag(cct)
        diagonal = bool(np.allclose(cct, np.diag(diag)))
        if diagonal and np.allclose(diag, diag[0]):
            scale = diag[0].item()
        identity = bool(np.allclose(cct, np.eye(rows)))
    return AdjointStep(
        conv_of_output=back,
        input=x,
        equal=bool(np.allclose(back, x)),
        CCt=cct,
        identity=identity,
        diagonal=diagonal,
        scale=scale,
        overlap=any(k_eff > s for k_eff, s in zip(g.effective_kernel, g.stride)),
        kernel_norm2=np.sum(w * w),
        orthonormal_example=orthonormal_demo(x, g, padding, output_padding, lang),
    )
