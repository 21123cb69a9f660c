"""Shared fixtures. The geometry generators live in ``tests/geometries.py``, the array libraries
(``xp``) in ``tests/support.py``."""

import zlib

import numpy as np
import pytest

from tests import support


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's id: reproducible, and different for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(params=support.library_params())
def xp(request) -> support.Library:
    """Each array library in turn (NumPy, array-api-strict, torch, JAX), skipped where not installed."""
    return support.library(request.param)
