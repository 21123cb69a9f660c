"""Backends: where an array is not one block in this process's memory.

* :mod:`tconv.backends.dask` — Dask arrays, chunked over batch and spatial axes, computed block by
  block (overlap-add for ``conv_transpose``, a halo for ``conv``), lazily, on one machine or a
  ``dask.distributed`` cluster.

:func:`tconv.conv_transpose` and :func:`tconv.conv` send a Dask ``x`` here; every other supported
library (NumPy, torch, JAX, array-api-strict) runs the methods directly. Nothing here imports Dask
until a Dask array arrives.
"""

from __future__ import annotations

__all__ = ["is_dask"]


def is_dask(a) -> bool:
    """Whether ``a`` is a Dask array (or another Dask collection), without importing Dask.

    >>> import numpy as np
    >>> is_dask(np.zeros(2))
    False
    """
    return type(a).__module__.split(".")[0] == "dask"
