"""Shared test fixtures. The geometry generators every test file draws from live in ``geometries.py``."""

import pathlib
import sys
import zlib

import numpy as np
import pytest

# Make tests/geometries.py importable whatever pytest's import mode.
sys.path.insert(0, str(pathlib.Path(__file__).parent))


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's id: reproducible, and different for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
