"""Dask arrays: ``conv_transpose`` by overlap-add, ``conv`` with a halo, block by block, lazily.

``x`` is chunked over its batch and spatial axes (channels are gathered into one chunk); the weight
is a NumPy array or a single-chunk Dask array, so every block's task holds it whole. Nothing is
computed here: the result is a Dask array whose graph runs on any scheduler, ``dask.distributed``
included, and equals the in-memory result.

**conv_transpose: overlap-add.** On one spatial axis let the input chunks start at ``c_0 = 0 < c_1 <
… < c_m = i``. Input block ``j`` (``c_j ≤ i < c_{j+1}``) stamps its kernels onto the full output
positions ``[c_j·s, (c_{j+1} − 1)·s + k_eff)``: its own full transposed convolution, computed by the
in-memory methods with no padding, placed at ``c_j·s``. Neighbouring blocks' full outputs overlap by
``k_eff − s`` cells, and the full output is their sum there — overlap-add, exact because the map is
linear and every stamp lands in exactly one block's output. The result is the window ``[b, b + o)``
of that sum (zeros past ``F``); output chunk ``J`` is ``[c_J·s, c_{J+1}·s)`` (the last one ends at
``o``), so output chunks are the input chunks times the stride and a chain of layers stays
aligned. Its task adds the slices of the (few) block outputs that reach it.

**conv: a halo.** Output ``q`` reads input ``q·s − b + t·d`` for ``t < k``. Output chunk ``J`` is
``[⌈c_J/s⌉, ⌈c_{J+1}/s⌉)`` (the input chunks divided by the stride); its task assembles the input
window ``[q_J·s − b, (q_{J+1} − 1)·s − b + k_eff)`` from the blocks it overlaps — its own and a halo
from its neighbours, zeros outside ``x`` — and correlates it.

Chunks smaller than the kernel's reach (``k_eff`` cells of input for ``conv``, ``⌈k_eff/s⌉`` for
``conv_transpose``) would make each task gather from many blocks; by default such an axis is
rechunked to the smallest chunk that avoids it (``small_chunks="rechunk"``), or refused
(``small_chunks="raise"``). Padding modes other than zeros pad (``conv``) or fold
(``conv_transpose``) with the array-API code of :mod:`tconv.padding_modes`, run lazily on the Dask
array through array-api-compat.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
from array_api_compat import array_namespace

from tconv import methods, padding_modes
from tconv.arguments import conv_geometry, transpose_geometry
from tconv.arrays import compute_dtype, library
from tconv.errors import TConvError, TConvTypeError
from tconv.geometry import Geometry
from tconv.methods.correlate import correlate
from tconv.plan import plan_geometry

__all__ = ["conv_transpose", "conv", "output_chunks"]


# ---- geometry of the blocks, per axis -----------------------------------------------------------


def _starts(chunks: tuple[int, ...]) -> list[int]:
    """``[c_0 = 0, c_1, …, c_m]``: where each chunk starts, and the end."""
    return [0, *itertools.accumulate(chunks)]


def _boundaries(points: list[int], size: int) -> tuple[int, ...]:
    """Chunk sizes from candidate boundaries: clipped to ``[0, size]``, empty chunks dropped."""
    cuts = sorted({min(max(p, 0), size) for p in points[:-1]} | {0, size})
    return tuple(b - a for a, b in zip(cuts, cuts[1:]))


def output_chunks(chunks: tuple[int, ...], stride: int, size: int, transposed: bool) -> tuple[int, ...]:
    """Output chunk sizes on one axis: input chunks × stride (``conv_transpose``) or ÷ stride (``conv``).

    >>> output_chunks((4, 4, 3), 2, 22, transposed=True)    # 11 inputs, s = 2, o = 22
    (8, 8, 6)
    >>> output_chunks((6, 6), 3, 4, transposed=False)       # 12 inputs, s = 3, o = 4
    (2, 2)
    """
    starts = _starts(chunks)
    points = [c * stride for c in starts] if transposed else [-(-c // stride) for c in starts]
    return _boundaries(points, size)


@dataclasses.dataclass(frozen=True)
class _Piece:
    """One block's contribution to one output chunk on one axis: ``dst[at:at+n] (+)= src[frm:frm+n]``."""

    block: int
    frm: int
    at: int
    n: int


def _pieces(segments: list[tuple[int, int]], start: int, size: int) -> list[_Piece]:
    """The pieces of the window ``[start, start + size)`` held by ``segments`` ``[(position, length)]``."""
    out = []
    for j, (pos, length) in enumerate(segments):
        lo, hi = max(start, pos), min(start + size, pos + length)
        if lo < hi:
            out.append(_Piece(j, lo - pos, lo - start, hi - lo))
    return out


def _gather(segments, starts, sizes, source: str, batch_block: int):
    """The task arguments that assemble the window ``[start, start + size)`` on every axis.

    Returns ``(spec, keys)``: per contributing block (one per combination of per-axis pieces) the
    source and destination slices, and the block's key in ``source``.
    """
    spec, keys = [], []
    for combo in itertools.product(*(_pieces(seg, st, n) for seg, st, n in zip(segments, starts, sizes))):
        spec.append((tuple(slice(p.frm, p.frm + p.n) for p in combo), tuple(slice(p.at, p.at + p.n) for p in combo)))
        keys.append((source, batch_block, 0, *(p.block for p in combo)))
    return spec, keys


def _min_chunk(g: Geometry) -> tuple[int, ...]:
    """The smallest spatial chunk whose windows reach only the neighbouring blocks."""
    if g.transposed:
        return tuple(-(-ke // s) for ke, s in zip(g.effective_kernel, g.stride))
    return g.effective_kernel


# ---- the tasks (plain NumPy functions, run on the workers) ------------------------------------------


def _block_full(x, weight, geometry_args, method, compute):
    """One input block's full (uncropped) transposed convolution, by the in-memory methods."""
    g = transpose_geometry(x.shape, weight.shape, *geometry_args)
    xb, wb = x.astype(compute, copy=False), weight.astype(compute, copy=False)
    if x.shape[0] == 0:
        return np.zeros(g.output_shape, dtype=compute)
    plan = plan_geometry(g, method, compute, numpy=True)
    plan.check()
    return methods.run(plan.method, xb, wb, g, plan.arrangement)


def _assemble(shape, dtype, spec, *blocks):
    """Sum the pieces ``spec = [(src slices, dst slices)]`` of ``blocks`` into zeros of ``shape``."""
    out = np.zeros(shape, dtype=dtype)
    for (src, dst), block in zip(spec, blocks):
        out[(..., *dst)] += block[(..., *src)]
    return out


def _finish_transpose(shape, compute, result, spec, bias, *blocks):
    y = _assemble(shape, compute, spec, *blocks)
    if bias is not None:
        y += bias.astype(compute).reshape(-1, *(1,) * (len(shape) - 2))
    return y.astype(result, copy=False)


def _conv_block(shape, compute, result, spec, weight, bias, conv_args, *blocks):
    """Assemble one output chunk's input window (its halo included), then correlate it."""
    window = _assemble(shape, compute, spec, *blocks)
    stride, dilation, groups, size = conv_args
    y = correlate(
        window,
        weight.astype(compute, copy=False),
        stride=stride,
        dilation=dilation,
        groups=groups,
        start=(0,) * len(size),
        size=size,
    )
    if bias is not None:
        y += bias.astype(compute).reshape(-1, *(1,) * len(size))
    return y.astype(result, copy=False)


# ---- arguments -------------------------------------------------------------------------------------


def _small(name: str, a):
    """``weight``/``bias`` as something every task can hold whole: a NumPy array or a one-chunk Dask array."""
    import dask.array as da

    if a is None:
        return None
    if isinstance(a, da.Array):
        return a.rechunk(a.shape) if a.npartitions > 1 else a
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, (list, tuple, int, float)):
        return np.asarray(a)
    raise TConvTypeError(
        f"x is a dask array but {name} is a {library(a)} array: give {name} as a NumPy array or a Dask array"
    )


def _prepare(x, weight, bias, small_chunks, method):
    methods.check_method(method, extra=("auto", "measure"))
    if small_chunks not in ("rechunk", "raise"):
        raise TConvError(f"small_chunks={small_chunks!r} must be 'rechunk' or 'raise'")
    weight, bias = _small("weight", weight), _small("bias", bias)
    for name, a in (("x", x), ("weight", weight), ("bias", bias)):
        if a is not None and a.dtype.kind not in "biuf":
            raise TConvTypeError(f"{name} must hold real numbers; got dtype {a.dtype}")
    xp = array_namespace(np.empty(0))
    compute, result = compute_dtype(xp, *(np.empty(0, a.dtype) for a in (x, weight, bias) if a is not None))
    return weight, bias, np.dtype(compute), np.dtype(result)


def _rechunk(x, g: Geometry, small_chunks: str):
    """``x`` batched, channels in one chunk, spatial chunks at least :func:`_min_chunk` (or refused).

    The last chunk of an axis may be smaller (Dask leaves the remainder there): it only makes the
    last output chunk gather from one block more.
    """
    x = x if g.batch is not None else x[None]
    chunks: dict[int, Any] = {1: -1} if len(x.chunks[1]) > 1 else {}
    for a, (have, need, n) in enumerate(zip(x.chunks[2:], _min_chunk(g), x.shape[2:])):
        if len(have) > 1 and min(have[:-1]) < need:
            if small_chunks == "raise":
                raise TConvError(
                    f"x's chunks {have} on spatial axis {a} are smaller than the kernel's reach: each must hold at "
                    f"least {need} cells (k_eff={g.effective_kernel[a]}, stride={g.stride[a]}); rechunk x, or pass "
                    f"small_chunks='rechunk'"
                )
            size = max(need, max(have))
            chunks[2 + a] = (size,) * (n // size) + ((n % size,) if n % size else ())
    return x.rechunk(chunks) if chunks else x


def _key_of(a):
    """The single key of a one-chunk Dask array, or the array itself (a literal in the graph)."""
    import dask.array as da

    if isinstance(a, da.Array):
        return (a.name, *(0,) * a.ndim)
    return a


# ---- conv_transpose ----------------------------------------------------------------------------------


def conv_transpose(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    output_padding=0,
    groups=1,
    dilation=1,
    *,
    output_size=None,
    padding_mode="zeros",
    method="auto",
    small_chunks="rechunk",
):
    """:func:`tconv.conv_transpose` of a Dask ``x``: a lazy Dask array, by overlap-add of the blocks.

    Takes :func:`tconv.conv_transpose`'s arguments, and ``small_chunks`` (``"rechunk"`` or
    ``"raise"``) for spatial chunks smaller than ``⌈k_eff/s⌉``.

    Returns
    -------
    dask.array.Array
        ``(N, C_out, *o)`` (or unbatched), chunked like ``x`` over the batch, one chunk over the
        channels, and ``x``'s chunks × stride over each spatial axis.

    Raises
    ------
    TConvError, TConvTypeError
        As :func:`tconv.conv_transpose`, before any graph is built; also for a weight of another
        library, or chunks too small with ``small_chunks="raise"``.

    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(6.0).reshape(1, 1, 6), chunks=(1, 1, 2))
    >>> y = conv_transpose(x, np.ones((1, 1, 3)), stride=2, padding=1)
    >>> y.chunks, y.compute().tolist()
    (((1,), (1,), (4, 4, 3)), [[[0.0, 1.0, 1.0, 3.0, 2.0, 5.0, 3.0, 7.0, 4.0, 9.0, 5.0]]])
    """
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph
    from dask.tokenize import tokenize

    weight, bias, compute, result = _prepare(x, weight, bias, small_chunks, method)
    g = transpose_geometry(
        x.shape,
        weight.shape,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size=output_size,
        bias_shape=None if bias is None else bias.shape,
    )
    # With a padding mode: the uncropped output, folded back by the mode at the end.
    computed = g if padding_mode == "zeros" else padding_modes.uncropped(g, padding_mode)
    xb = _rechunk(x, g, small_chunks)
    token = tokenize(xb, weight, bias, g, padding_mode, method)

    # Layer 1: each input block's full transposed convolution (no crop, no bias).
    full_name = f"tconv-full-{token}"
    w_key, args = _key_of(weight), (g.stride, 0, 0, g.groups, g.dilation)
    layer1: dict[Any, Any] = {
        (full_name, *idx): (_block_full, (xb.name, *idx), w_key, args, method, compute)
        for idx in itertools.product(*(range(len(c)) for c in xb.chunks))
    }
    # Layer 2: each output chunk sums the slices of the block outputs that reach it.
    segments = [  # per axis: where each block's full output starts (c_j·s) and its length
        [(c * s, (n - 1) * s + ke) for c, n in zip(_starts(ch), ch)]
        for ch, s, ke in zip(xb.chunks[2:], g.stride, g.effective_kernel)
    ]
    out_chunks = [output_chunks(ch, s, o, True) for ch, s, o in zip(xb.chunks[2:], g.stride, computed.large)]
    name = f"tconv-conv-transpose-{token}"
    layer2: dict[Any, Any] = {}
    for bn, n in enumerate(xb.chunks[0]):
        for J in itertools.product(*(range(len(c)) for c in out_chunks)):
            sizes = tuple(c[a] for c, a in zip(out_chunks, J))
            starts = tuple(sum(c[:a]) + b for c, a, b in zip(out_chunks, J, computed.begin))
            spec, keys = _gather(segments, starts, sizes, full_name, bn)
            shape = (n, g.large_channels, *sizes)
            bias_here = _key_of(bias) if padding_mode == "zeros" else None
            cast = result if padding_mode == "zeros" else compute
            layer2[(name, bn, 0, *J)] = (_finish_transpose, shape, compute, cast, spec, bias_here, *keys)
    dependencies = [xb] + [a for a in (weight, bias) if isinstance(a, da.Array)]
    graph = HighLevelGraph.from_collections(name, {**layer1, **layer2}, dependencies=dependencies)
    dtype = result if padding_mode == "zeros" else compute
    chunks = (xb.chunks[0], (g.large_channels,), *out_chunks)
    y = da.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), dtype=dtype))
    if padding_mode != "zeros":
        y = padding_modes.fold(y, g, padding_mode)
        if bias is not None:
            y = y + da.asarray(bias).astype(compute).reshape(-1, *(1,) * g.ndim)
        spatial = (output_chunks(ch, s, o, True) for ch, s, o in zip(xb.chunks[2:], g.stride, g.large))
        y = y.astype(result).rechunk((xb.chunks[0], -1, *spatial))
    return y if g.batch is not None else y[0]


# ---- conv ------------------------------------------------------------------------------------------------


def conv(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    padding_mode="zeros",
    method="auto",
    small_chunks="rechunk",
):
    """:func:`tconv.conv` of a Dask ``x``: a lazy Dask array; each output chunk reads a halo.

    Takes :func:`tconv.conv`'s arguments, and ``small_chunks`` (``"rechunk"`` or ``"raise"``)
    for spatial chunks smaller than ``k_eff``.

    Returns
    -------
    dask.array.Array
        ``(N, C_out, *o)`` (or unbatched), chunked like ``x`` over the batch, one chunk over the
        channels, and ``x``'s chunks ÷ stride (rounded up) over each spatial axis.

    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(8.0).reshape(1, 1, 8), chunks=(1, 1, 4))
    >>> y = conv(x, np.ones((1, 1, 3)), stride=2, padding=1)
    >>> y.chunks, y.compute().tolist()
    (((1,), (1,), (2, 2)), [[[1.0, 6.0, 12.0, 18.0]]])
    """
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph
    from dask.tokenize import tokenize

    methods.check_method(method, methods.CONV_METHODS)
    weight, bias, compute, result = _prepare(x, weight, bias, small_chunks, "auto")
    g = conv_geometry(
        x.shape, weight.shape, stride, padding, dilation, groups, bias_shape=None if bias is None else bias.shape
    )
    xb = _rechunk(x, g, small_chunks)
    out_chunks = [output_chunks(ch, s, o, False) for ch, s, o in zip(xb.chunks[2:], g.stride, g.small)]
    shift = (0,) * g.ndim  # where the array's cell 0 sits on x's axis
    if padding_mode != "zeros":  # pad by the mode, lazily: the padded array's cell 0 is x's cell −b
        pairs = padding_modes.mode_pairs(g)
        padding_modes.check_mode(padding_mode, g.large, pairs)
        xb = padding_modes.pad(xb, pairs, padding_mode)
        shift = tuple(-b for b, _ in pairs)
    token = tokenize(xb, weight, bias, g, padding_mode)
    segments = [[(c + sh, n) for c, n in zip(_starts(ch), ch)] for ch, sh in zip(xb.chunks[2:], shift)]
    name = f"tconv-conv-{token}"
    layer: dict[Any, Any] = {}
    w_key, b_key = _key_of(weight), _key_of(bias)
    for bn, n in enumerate(xb.chunks[0]):
        for J in itertools.product(*(range(len(c)) for c in out_chunks)):
            sizes = tuple(c[a] for c, a in zip(out_chunks, J))
            first = tuple(sum(c[:a]) for c, a in zip(out_chunks, J))
            # Output q reads q·s − b + t·d: the window from first·s − b, of span (size−1)·s + k_eff.
            span = tuple((m - 1) * s + ke for m, s, ke in zip(sizes, g.stride, g.effective_kernel))
            starts = tuple(q * s - b for q, s, b in zip(first, g.stride, g.begin))
            spec, keys = _gather(segments, starts, span, xb.name, bn)
            shape = (n, g.large_channels, *span)
            conv_args = (g.stride, g.dilation, g.groups, sizes)
            layer[(name, bn, 0, *J)] = (_conv_block, shape, compute, result, spec, w_key, b_key, conv_args, *keys)
    dependencies = [xb] + [a for a in (weight, bias) if isinstance(a, da.Array)]
    graph = HighLevelGraph.from_collections(name, layer, dependencies=dependencies)
    chunks = (xb.chunks[0], (g.small_channels,), *out_chunks)
    y = da.Array(graph, name, chunks, meta=np.empty((0,) * len(chunks), dtype=result))
    return y if g.batch is not None else y[0]
