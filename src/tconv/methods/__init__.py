"""The five ways to compute a transposed convolution, behind one small registry.

Each method is a module holding one function ``method(x, weight, geometry)``: ``x`` batched
``(N, C_in, *i)`` in the compute dtype, ``weight`` ``(C_in, C_out/G, *k)``, ``geometry`` a checked,
transposed :class:`~tconv.geometry.Geometry`; it returns a fresh ``(N, C_out, *o)`` array of the
same library. All five give the same result (the tests check it on random geometries):

============== ===========================================================================
``scatter``    every input element stamps ``value × kernel`` at ``position × stride``
``zero_insert`` zeros inserted, padded, a stride-1 convolution with the flipped kernel
``matrix``     ``Cᵀx``, with ``C`` the forward convolution's (sparse) matrix
``gemm``       one matrix product into a column buffer, then col2im
``polyphase``  ``s^d`` zero-free stride-1 correlations, one per output phase, interleaved
============== ===========================================================================

The public API (:mod:`tconv.api`), the plan (:mod:`tconv.plan`) and ``tconv.torch`` all go
through :func:`run`, :func:`workspace` and :func:`choose`, so a method is added in one place.

>>> import numpy as np
>>> from tconv.arguments import transpose_geometry
>>> x, w = np.array([[[1, 2]]]), np.array([[[1, 10, 100]]])
>>> g = transpose_geometry(x.shape, w.shape, stride=2)
>>> {name: run(name, x, w, g).tolist() for name in METHODS} == {name: [[[1, 10, 102, 20, 200]]] for name in METHODS}
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from tconv.errors import TConvError
from tconv.geometry import Geometry
from tconv.methods.gemm import gemm
from tconv.methods.matrix import matrix
from tconv.methods.polyphase import polyphase
from tconv.methods.scatter import scatter
from tconv.methods.zero_insert import zero_insert

__all__ = ["METHODS", "CONV_METHODS", "run", "workspace", "choose", "check_method"]

#: The five ways tconv computes a transposed convolution; all give the same result.
METHODS = ("scatter", "zero_insert", "matrix", "gemm", "polyphase")
#: The ways tconv computes the forward convolution.
CONV_METHODS = ("direct",)

_IMPLEMENTATIONS: dict[str, Callable[[Any, Any, Geometry], Any]] = {
    "scatter": scatter,
    "zero_insert": zero_insert,
    "matrix": matrix,
    "gemm": gemm,
    "polyphase": polyphase,
}


def check_method(method: str, allowed: tuple[str, ...] = METHODS, extra: tuple[str, ...] = ("auto",)) -> None:
    """Refuse a ``method`` that is not one of ``extra + allowed``, naming the choices.

    Raises
    ------
    TConvError
        ``method`` is not one of the choices.
    """
    if method not in (*extra, *allowed):
        raise TConvError(f"method={method!r} is not one of {(*extra, *allowed)}")


def run(method: str, x: Any, weight: Any, geometry: Geometry, arrangement: str | None = None) -> Any:
    """Compute the transposed convolution of the batched ``x`` by ``method`` (one of :data:`METHODS`).

    Parameters
    ----------
    method
        One of :data:`METHODS` (``"auto"`` is resolved by the caller, with :func:`choose`).
    x, weight
        Arrays of one library, in the compute dtype; ``x`` has its batch axis.
    geometry
        The checked geometry of the call, transposed, with ``batch`` set.
    arrangement
        For ``gemm`` on NumPy arrays, the fast path's arrangement (:mod:`tconv.methods.choice`);
        ``None``: its rule's.

    Returns
    -------
    array
        ``(N, C_out, *o)``, a fresh array the caller may modify.
    """
    if method == "gemm":
        return gemm(x, weight, geometry, arrangement)
    return _IMPLEMENTATIONS[method](x, weight, geometry)


def workspace(method: str, g: Geometry) -> int:
    """Elements ``method`` allocates besides its output: an upper bound, for the memory guard.

    >>> from tconv.arguments import transpose_geometry
    >>> workspace("scatter", transpose_geometry((1, 1, 4), (1, 1, 3), stride=2))   # the full canvas F = 9
    9
    """
    n, c_in, c_out = g.batch or 1, g.small_channels, g.large_channels
    if method == "gemm":  # the readable version's column buffer and canvas; NumPy's fast path tiles, using less
        return n * c_out * (g.taps * math.prod(g.small) + math.prod(g.full))
    if method == "scatter":
        return n * c_out * math.prod(g.full)
    if method == "zero_insert":
        stretched = math.prod((i - 1) * s + 1 for i, s in zip(g.small, g.stride))
        return n * c_in * stretched + n * c_out * math.prod(g.large)
    if method == "matrix":
        return n * c_in * math.prod(g.large) * 2
    return 2 * n * c_out * math.prod(g.large)  # polyphase


def choose(g: Geometry) -> tuple[str, str]:
    """The method ``method="auto"`` runs for this geometry, and why.

    ``gemm`` everywhere: it is the only method with a fast path (:mod:`tconv.methods.gemm_numpy`,
    whose arrangement :mod:`tconv.methods.choice` picks by a short rule, or by timing them, and
    :func:`tconv.plan` shows); the others are the readable definitions, slower on every measured
    layer, and inexact where an ``inf`` in the weight meets a padding zero (``docs/performance.md``).
    Pure Python on the geometry: ``torch.compile`` traces through it.

    >>> from tconv.arguments import transpose_geometry
    >>> choose(transpose_geometry((1, 1, 4), (1, 1, 3), stride=2))
    ('gemm', 'gemm: the one method with a fast path')
    """
    return "gemm", "gemm: the one method with a fast path"
