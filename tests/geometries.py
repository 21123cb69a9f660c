"""Random transposed-convolution geometries, shared by every test file.

A :class:`Case` is the complete argument list of one ``conv_transpose`` call — shapes, stride,
padding, output_padding, dilation, groups, bias, batched or not — together with the crop ``(b, e)``
and output size that the *tests* derive from it, independently of tconv:

    F = (i − 1)·s + d·(k − 1) + 1        the full, uncropped output
    o = F − b − e + op                   the output, the window [b, b + o) of F (zeros past F)

with ``b = e = p`` for PyTorch's padding, the pair itself for ONNX-style ``(b, e)`` pairs, ``0`` for
``"valid"`` and TensorFlow's rule for ``"same"``: ``b = ⌊max(k_eff − s, 0)/2⌋``, ``e = k_eff − s − b``.

:func:`build_case` draws every field from one integer-drawing callable ``pick(lo, hi)`` (inclusive),
so the same definition serves a seeded NumPy generator (:func:`random_case`) and hypothesis
(:func:`cases`, which then shrinks a failure to a small geometry). Every drawn case is legal by
construction: ``0 ≤ op < max(s, d)`` and the crop leaves at least one output element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest input size per spatial axis, by number of axes (keeps 3-D cases cheap).
MAX_SIZE = {1: 7, 2: 5, 3: 3}
#: The padding spellings a case can use; only "torch" (int or per-axis ints) is PyTorch's own.
PADDING_FORMS = ("torch", "pairs", "same", "valid")


@dataclass(frozen=True)
class Case:
    batch: int | None  # None: unbatched input (C_in, *spatial)
    in_channels: int
    out_channels: int
    groups: int
    spatial: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    output_padding: tuple
    padding_form: str
    pairs: tuple  # ((b, e), ...) per axis, derived by the test from the padding
    bias: bool
    scalar_args: bool = False  # pass equal per-axis values as one int

    # ---- derived by the tests' own formulas ------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def effective_kernel(self) -> tuple:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def full(self) -> tuple:
        return tuple((i - 1) * s + ke for i, s, ke in zip(self.spatial, self.stride, self.effective_kernel))

    @property
    def out_spatial(self) -> tuple:
        return tuple(f - b - e + op for f, (b, e), op in zip(self.full, self.pairs, self.output_padding))

    @property
    def lead(self) -> tuple:
        return () if self.batch is None else (self.batch,)

    @property
    def x_shape(self) -> tuple:
        return (*self.lead, self.in_channels, *self.spatial)

    @property
    def weight_shape(self) -> tuple:
        return (self.in_channels, self.out_channels // self.groups, *self.kernel)

    @property
    def out_shape(self) -> tuple:
        return (*self.lead, self.out_channels, *self.out_spatial)

    # ---- the arguments, as a user would spell them -------------------------------------------------
    def _axis(self, values):
        return values[0] if self.scalar_args and len(set(values)) == 1 else values

    @property
    def padding(self):
        if self.padding_form == "torch":
            return self._axis(tuple(b for b, _ in self.pairs))
        if self.padding_form == "pairs":
            return self.pairs
        return self.padding_form  # "same" or "valid"

    def kwargs(self) -> dict:
        """Keyword arguments of ``tconv.conv_transpose`` (and, for the "torch" form, of PyTorch's)."""
        return dict(
            stride=self._axis(self.stride),
            padding=self.padding,
            output_padding=self._axis(self.output_padding),
            groups=self.groups,
            dilation=self._axis(self.dilation),
        )

    def arrays(self, rng, dtype=np.float64):
        """Random ``x``, ``weight`` and ``bias`` (None without bias); integers for integer dtypes."""
        shapes = (self.x_shape, self.weight_shape, (self.out_channels,))
        if np.issubdtype(dtype, np.integer):
            x, w, b = (rng.integers(-9, 10, size=s).astype(dtype) for s in shapes)
        else:
            x, w, b = (rng.uniform(-1, 1, size=s).astype(dtype) for s in shapes)
        return x, w, (b if self.bias else None)

    def __str__(self) -> str:
        n = "unbatched" if self.batch is None else f"N={self.batch}"
        pad = {"torch": f"p={self.padding}", "pairs": f"pads={self.pairs}"}.get(self.padding_form, self.padding_form)
        return (
            f"{self.ndim}d {n} C={self.in_channels}->{self.out_channels} g={self.groups} i={self.spatial} "
            f"k={self.kernel} s={self.stride} d={self.dilation} {pad} op={self.output_padding}"
            f"{' bias' if self.bias else ''}{' (ints)' if self.scalar_args else ''}"
        )


def same_pairs(kernel, stride, dilation) -> tuple:
    """TensorFlow's ``same`` crop: ``o = i·s``, ``b = ⌊max(k_eff − s, 0)/2⌋``, ``e = k_eff − s − b``."""
    pairs = []
    for k, s, d in zip(kernel, stride, dilation):
        ke = d * (k - 1) + 1
        b = max(ke - s, 0) // 2
        pairs.append((b, ke - s - b))
    return tuple(pairs)


def build_case(pick, ndim=None, *, forms=PADDING_FORMS, batches=(None, 0, 1, 2), max_groups=3) -> Case:
    """A legal case, every field drawn by ``pick(lo, hi)`` (an inclusive integer draw)."""
    ndim = ndim or pick(1, 3)
    groups = pick(1, max_groups)
    c_in, c_out = groups * pick(1, 2), groups * pick(1, 2)
    kmax = 4 if ndim < 3 else 3
    kernel = tuple(pick(1, kmax) for _ in range(ndim))
    stride = tuple(pick(1, 3) for _ in range(ndim))
    dilation = tuple(pick(1, 3) for _ in range(ndim))
    spatial = tuple(pick(1, MAX_SIZE[ndim]) for _ in range(ndim))
    op = tuple(pick(0, max(s, d) - 1) for s, d in zip(stride, dilation))
    form = forms[pick(0, len(forms) - 1)]
    full = [(i - 1) * s + d * (k - 1) + 1 for i, s, d, k in zip(spatial, stride, dilation, kernel)]
    if form == "torch":  # o = F − 2p + op ≥ 1
        pairs = tuple((p, p) for p in (pick(0, (f + o - 1) // 2) for f, o in zip(full, op)))
    elif form == "pairs":  # o = F − b − e + op ≥ 1
        pairs = []
        for f, o in zip(full, op):
            b = pick(0, f + o - 1)
            pairs.append((b, pick(0, f + o - 1 - b)))
        pairs = tuple(pairs)
    elif form == "same":
        pairs = same_pairs(kernel, stride, dilation)
    else:
        pairs = ((0, 0),) * ndim
    batch = batches[pick(0, len(batches) - 1)]
    bias, scalar_args = bool(pick(0, 1)), bool(pick(0, 1))
    return Case(batch, c_in, c_out, groups, spatial, kernel, stride, dilation, op, form, pairs, bias, scalar_args)


def random_case(rng: np.random.Generator, ndim=None, **options) -> Case:
    """:func:`build_case` driven by a seeded NumPy generator."""
    return build_case(lambda lo, hi: int(rng.integers(lo, hi + 1)), ndim, **options)


def random_cases(seed: int, count: int, ndim=None, **options) -> list[Case]:
    rng = np.random.default_rng(seed)
    return [random_case(rng, ndim, **options) for _ in range(count)]


def cases(ndim=None, **options):
    """A hypothesis strategy of :class:`Case` (imports hypothesis only when called)."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return build_case(lambda lo, hi: draw(st.integers(lo, hi)), ndim, **options)

    return strategy()


# ---- references computed by the tests (NumPy by hand, or PyTorch) ---------------------------------


def crop(full, pairs, out_spatial):
    """The window ``[b, b + o)`` of ``full`` on each trailing axis, zeros where it runs past the end."""
    nd = len(pairs)
    out = np.zeros((*full.shape[: full.ndim - nd], *out_spatial), dtype=full.dtype)
    src = tuple(slice(b, min(b + o, f)) for (b, _), o, f in zip(pairs, out_spatial, full.shape[-nd:]))
    dst = tuple(slice(0, r.stop - r.start) for r in src)
    out[(..., *dst)] = full[(..., *src)]
    return out


def naive_conv_transpose(x, w, case: Case):
    """The definition, one term at a time, in exact Python arithmetic on object arrays.

    ``y[n, g·C'+co, i·s + t·d − b] += x[n, g·C+ci, i] · w[g·C+ci, co, t]``: slow, for tiny cases only.
    """
    x = np.asarray(x, dtype=object)
    xb = x if case.batch is not None else x[None]
    w = np.asarray(w, dtype=object)
    n, c_in = xb.shape[:2]
    cg_in, cg_out = c_in // case.groups, case.out_channels // case.groups
    full = np.zeros((n, case.out_channels, *case.full), dtype=object)
    for ci in range(c_in):
        grp = ci // cg_in
        for co in range(cg_out):
            for i in np.ndindex(*case.spatial):
                for t in np.ndindex(*case.kernel):
                    f = tuple(a * s + b * d for a, s, b, d in zip(i, case.stride, t, case.dilation))
                    full[(slice(None), grp * cg_out + co, *f)] += xb[(slice(None), ci, *i)] * w[(ci, co, *t)]
    y = crop(full, case.pairs, case.out_spatial)
    return y if case.batch is not None else y[0]


def torch_conv_transpose(case: Case, x, w, bias):
    """PyTorch's result for ``case`` (NumPy in, NumPy out, in the inputs' dtype).

    PyTorch's own padding/output_padding when the case uses its spelling; otherwise PyTorch's full
    output (padding 0) cropped to ``[b, b + o)`` by hand, zeros appended past ``F``, plus bias.
    """
    import torch
    import torch.nn.functional as F

    fn = getattr(F, f"conv_transpose{case.ndim}d")
    tx, tw = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(w))
    tb = None if bias is None else torch.from_numpy(np.ascontiguousarray(bias))
    if case.padding_form == "torch":
        k = case.kwargs()
        y = fn(tx, tw, tb, k["stride"], k["padding"], k["output_padding"], case.groups, k["dilation"])
        return y.numpy()
    full = fn(tx, tw, None, case.stride, 0, 0, case.groups, case.dilation).numpy()
    y = crop(full, case.pairs, case.out_spatial)
    if bias is not None:
        y = y + bias.reshape(-1, *(1,) * case.ndim).astype(y.dtype)
    return y


def dot(a, b):
    """⟨a, b⟩ over all elements, exactly for integer arrays."""
    return np.sum(np.asarray(a) * np.asarray(b))


def adjoint_padding(case: Case) -> tuple:
    """``(b, e')`` pairs that make ``conv`` read the large side exactly as ``case`` writes it.

    Output ``q`` of the convolution reads large positions ``q·s + t·d − b``, whatever ``e'``; ``e'``
    only decides how many outputs there are: ``⌊(o + b + e' − k_eff)/s⌋ + 1``. With
    ``o + b − k_eff = (i − 1)·s − e + op`` that is ``i`` for ``e' = e − op``, the smallest choice; when
    that is negative (op reaching beyond the end crop) the caller keeps the first ``i`` outputs.
    """
    return tuple((b, max(e - op, 0)) for (b, e), op in zip(case.pairs, case.output_padding))
