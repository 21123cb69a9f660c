"""``dask.distributed``: the same graphs on a ``LocalCluster`` of two worker processes.

The cluster is started and closed by the test (no network beyond this machine's loopback); the
weight travels once to the workers, the blocks are computed where the scheduler puts them, and the
result equals NumPy's.
"""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import tconv  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit="512MiB", dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_conv_transpose_and_conv_on_a_local_cluster(client):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 40, 30)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    kw = dict(stride=(2, 3), padding="same", dilation=(2, 1))
    y = tconv.conv_transpose(da.from_array(x, chunks=(2, 3, 10, 15)), w, b, **kw)
    z = tconv.conv(y, w, None, stride=(2, 3), padding=1)
    got_y, got_z = client.compute([y, z], sync=True)
    expected_y = tconv.conv_transpose(x, w, b, **kw)
    np.testing.assert_allclose(got_y, expected_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_z, tconv.conv(expected_y, w, None, stride=(2, 3), padding=1), rtol=1e-4, atol=1e-4)
    # Both workers took part.
    assert len(client.scheduler_info()["workers"]) == 2
    assert all(
        n > 0 for n in client.run(lambda dask_worker: len(dask_worker.data) + dask_worker.state.executed_count).values()
    )
