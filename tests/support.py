"""Array libraries for the tests: one :class:`Library` per library tconv runs on, skipped when absent.

``xp`` (the fixture in ``tests/conftest.py``) is parametrised over :data:`LIBRARIES`; a test takes
NumPy arrays, moves them with ``lib.asarray`` and brings results back with ``lib.to_numpy``, so one
test body checks NumPy, array-api-strict (the standard's reference implementation), torch and JAX.
JAX runs with 64-bit types enabled (``jax_enable_x64``) so that int64 and float64 mean what they say.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

#: Every library the core tests run on, in the order they are reported.
LIBRARIES = ("numpy", "array_api_strict", "torch", "jax")


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


@dataclass(frozen=True)
class Library:
    """One array library, seen by the tests: its name, its namespace, and the two conversions."""

    name: str
    xp: Any

    def dtype(self, name: str):
        """This library's dtype ``name``; the test is skipped where the library has none (float16 in
        array-api-strict, which keeps to the standard's dtypes)."""
        if name == "float16" and self.name == "array_api_strict":
            pytest.skip("array-api-strict has no float16 (not a standard dtype)")
        return getattr(self.xp, name)

    def asarray(self, a):
        """A NumPy array (or None) as this library's array, with the same dtype and values."""
        if a is None:
            return None
        self.dtype(np.asarray(a).dtype.name)  # skip what the library cannot hold
        if self.name == "torch":
            import torch

            return torch.from_numpy(np.ascontiguousarray(a))
        return self.xp.asarray(np.ascontiguousarray(a))

    def to_numpy(self, a) -> np.ndarray:
        if self.name == "torch":
            return a.detach().cpu().numpy()
        if self.name == "array_api_strict":
            return np.asarray(a._array)  # the wrapped NumPy array (no __array__ by design)
        return np.asarray(a)

    def is_own(self, a) -> bool:
        """Whether ``a`` is an array of this library (a result must stay in its input's library)."""
        return type(a).__module__.split(".")[0].replace("jaxlib", "jax") == self.name


def library(name: str) -> Library:
    """The :class:`Library` for ``name``, importing it (call only when :func:`installed`)."""
    if name == "numpy":
        import array_api_compat.numpy as xp
    elif name == "array_api_strict":
        import array_api_strict as xp
    elif name == "torch":
        import array_api_compat.torch as xp
    elif name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as xp
    else:
        raise ValueError(name)
    return Library(name, xp)


def library_params(names=LIBRARIES):
    """``pytest.param`` per library, skipped (with the reason) when it is not installed."""
    return [
        pytest.param(n, id=n, marks=pytest.mark.skipif(not installed(n), reason=f"{n} is not installed")) for n in names
    ]
