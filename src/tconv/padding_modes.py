"""Non-zero padding modes: ``"circular"``, ``"reflect"`` and ``"replicate"``, and their adjoints.

A convolution with padding mode ``m`` first extends its input ``x`` (size ``n`` per axis) by ``b``
cells at the start and ``e`` at the end, then correlates without padding:

    conv_m(x) = correlate_valid(P_m x),   (P_m x)[j] = x[src(j)],  j = 0 .. b+n+e−1

    circular:  src(j) = (j − b) mod n
    reflect:   src(j) = |j − b| reflected at 0 and n−1 (needs b < n and e < n, as in PyTorch)
    replicate: src(j) = clip(j − b, 0, n−1)

The transposed convolution with mode ``m`` is defined as the adjoint of that map, so it is the
plain transposed convolution without any crop, followed by ``P_mᵀ``: every padded cell is added
back onto the cell it copied — wrapped around for circular, mirrored for reflect, piled onto the
edge for replicate:

    conv_transpose_m(y) = P_mᵀ(conv_transpose_valid(y))

Circular is then exactly the periodic transposed convolution on a lattice of size ``n``.

Per axis ``b`` is the geometry's start crop (PyTorch's ``padding``) and ``e`` the padding the last
output actually reads, ``e = F − b − n`` with ``F = (i−1)·s + k_eff`` — PyTorch's ``padding``
minus ``output_padding``; never negative here (a negative ``e`` leaves the last cells unread, as
with zeros). So ``output_padding``/``output_size`` keep their meaning: they pick the size ``o`` of
the signal whose convolution (with mode ``m``, padding ``p``) this is the adjoint of.

>>> import numpy as np
>>> pad(np.arange(4), ((2, 1),), "circular")
array([2, 3, 0, 1, 2, 3, 0])
>>> pad_adjoint(np.ones(7, dtype=int), 4, ((2, 1),), "circular")
array([2, 1, 2, 2])
"""

from __future__ import annotations

import dataclasses

from array_api_compat import array_namespace

from tconv.arrays import device_of, window
from tconv.errors import TConvError

__all__ = ["PADDING_MODES", "check_mode", "mode_pairs", "pad", "pad_adjoint", "fold", "uncropped"]

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


def check_mode(padding_mode, sizes, pairs) -> None:
    """Refuse an unknown mode, or pads the mode cannot fill from ``sizes`` (spatial sizes ``n``)."""
    if padding_mode not in PADDING_MODES:
        raise TConvError(f"padding_mode={padding_mode!r} must be one of {PADDING_MODES}")
    if padding_mode == "reflect":
        for n, (b, e) in zip(sizes, pairs):
            if b >= n or e >= n:
                raise TConvError(
                    f"padding_mode='reflect' needs padding smaller than the size it reflects: pads (b, e)={tuple(pairs)} "
                    f"on spatial size {tuple(sizes)} (each b and e must be < n)"
                )


def _source(n: int, b: int, e: int, mode: str) -> list[int]:
    """``src(j)`` for the ``b + n + e`` cells of one padded axis (the module docstring's formulas)."""
    out = []
    for j in range(-b, n + e):
        if mode == "circular":
            out.append(j % n)
        elif mode == "replicate":
            out.append(min(max(j, 0), n - 1))
        else:  # reflect about 0 and n−1, valid for b, e < n
            out.append(-j if j < 0 else 2 * (n - 1) - j if j >= n else j)
    return out


def pad(x, pairs, mode: str):
    """``P_m x``: extend each trailing spatial axis of ``x`` by ``(b, e)`` cells copied per ``mode``.

    >>> import numpy as np
    >>> pad(np.array([1, 2, 3]), ((2, 2),), "reflect"), pad(np.array([1, 2, 3]), ((1, 2),), "replicate")
    (array([3, 2, 1, 2, 3, 2, 1]), array([1, 1, 2, 3, 3, 3]))
    """
    xp = array_namespace(x)
    nd = len(pairs)
    check_mode(mode, x.shape[x.ndim - nd :], pairs)
    if mode == "zeros":
        return window(
            x, tuple(-b for b, _ in pairs), tuple(b + n + e for n, (b, e) in zip(x.shape[x.ndim - nd :], pairs))
        )
    for a, (b, e) in enumerate(pairs):
        axis = x.ndim - nd + a
        index = xp.asarray(_source(x.shape[axis], b, e, mode), dtype=xp.int64, device=device_of(x))
        x = xp.take(x, index, axis=axis)
    return x


def _fold_axis(z, axis: int, n: int, b: int, e: int, mode: str):
    """``P_mᵀ`` on one axis: ``z`` has ``b + n + e`` cells there; the result has ``n``."""
    xp = array_namespace(z)
    nd = z.ndim - axis  # `window` acts on the trailing axes from `axis` on
    keep = tuple(z.shape[axis + 1 :])

    def win(a, begin, size):  # window on `axis` only
        return window(a, (begin, *(0,) * (nd - 1)), (size, *keep))

    if mode == "circular":
        # Cell j of z belongs to x[(j − b) mod n]. Prepend r = (−b) mod n zeros so that this is
        # (j + r) mod n = position within rows of n, pad to whole rows, and sum the rows.
        r = (-b) % n
        rows = -(-(r + b + n + e) // n)
        grid = win(z, -r, rows * n)
        return xp.sum(xp.reshape(grid, (*z.shape[:axis], rows, n, *keep)), axis=axis)
    centre = win(z, b, n)
    left, right = win(z, 0, b), win(z, b + n, e)
    if mode == "replicate":  # every left cell copied x[0], every right cell x[n−1]
        return (
            centre
            + win(xp.sum(left, axis=axis, keepdims=True), 0, n)
            + win(xp.sum(right, axis=axis, keepdims=True), -(n - 1), n)
        )
    # reflect: left cell j (0 ≤ j < b) copied x[b − j], so flip(left) lands on x[1 .. b];
    # right cell b+n+r copied x[n−2−r], so flip(right) lands on x[n−1−e .. n−2].
    return centre + win(xp.flip(left, axis=axis), -1, n) + win(xp.flip(right, axis=axis), -(n - 1 - e), n)


def pad_adjoint(z, sizes, pairs, mode: str):
    """``P_mᵀ z``: fold the padded cells of ``z`` back onto the ``sizes`` cells they copied.

    ``⟨pad(x), z⟩ = ⟨x, pad_adjoint(z)⟩`` for every ``x`` of spatial size ``sizes``.

    >>> import numpy as np
    >>> pad_adjoint(np.array([1, 10, 100, 1000, 10000, 100000]), (3,), ((1, 2),), "replicate")
    array([    11,    100, 111000])
    """
    sizes = (sizes,) if isinstance(sizes, int) else tuple(sizes)
    nd = len(pairs)
    check_mode(mode, sizes, pairs)
    if mode == "zeros":
        return window(z, tuple(b for b, _ in pairs), sizes)
    for a, (n, (b, e)) in enumerate(zip(sizes, pairs)):
        z = _fold_axis(z, z.ndim - nd + a, n, b, e, mode)
    return z


# ---- the two operations with a padding mode ----------------------------------------------------


def mode_pairs(g):
    """``(b, e)`` per axis that a mode fills for geometry ``g``: the start padding and the end padding
    the last output reads, ``e = max(F − b − o, 0)`` (``g.end`` clipped at 0)."""
    return tuple((b, max(e, 0)) for b, e in zip(g.begin, g.end))


def fold(full, g, padding_mode: str):
    """``P_mᵀ`` of the uncropped transposed convolution ``full`` (``F`` cells per axis): the output of
    size ``o``. ``full`` covers the padded signal from its first cell; past ``F`` it is zero.

    This is the whole of the mode's work in :func:`conv_transpose`; a caller with its own
    differentiable uncropped transposed convolution (``tconv.torch``) can apply it to that.
    """
    pairs = mode_pairs(g)
    check_mode(padding_mode, g.large, pairs)
    z = window(full, (0,) * g.ndim, tuple(n + b + e for n, (b, e) in zip(g.large, pairs)))
    return pad_adjoint(z, g.large, pairs, padding_mode)


def uncropped(g, padding_mode: str):
    """``g`` without its crop — the full output of ``F`` cells, which :func:`fold` then folds back —
    after checking that ``padding_mode`` can pad this geometry (before anything is computed)."""
    check_mode(padding_mode, g.large, mode_pairs(g))
    return dataclasses.replace(g, begin=(0,) * g.ndim, large=g.full)
