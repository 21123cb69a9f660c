"""Shared fixtures. The geometry generators live in ``tests/geometries.py``, marks and tolerances in
``tests/support.py``."""

import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's id: reproducible, and different for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
