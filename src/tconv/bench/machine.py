"""Where a benchmark runs: the versions of the libraries, NumPy's BLAS, and the process's peak memory."""

from __future__ import annotations

from typing import Any

from tconv.bench.peers import optional

__all__ = ["rss_hwm", "reset_hwm", "blas_info", "installed_version", "version"]


def rss_hwm() -> int | None:
    """Peak resident bytes of this process since the last reset (Linux), else None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_hwm() -> bool:
    """Reset the peak resident memory (Linux ``clear_refs``); False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return f"{pool.get('internal_api')} {pool.get('version')} ({pool.get('architecture')}, {pool.get('num_threads')} threads)"
    return "none found"


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, without importing it; None when absent."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def version(name: str) -> Any:
    module = optional(name)
    return getattr(module, "__version__", None) if module is not None else None


def numba_first_call(dtype: str) -> tuple[float, bool, str] | None:
    """The compiled kernels' first calls in this process on tiny ``dtype`` arrays — the fused loop
    and the two col2im passes: their seconds (numba's import, then compiling each kernel or loading
    it from numba's disk cache), whether all were loaded from that cache, and the cache's folder;
    None without numba, or for a dtype the kernels lack."""
    import time

    import numpy as np

    from tconv.arguments import transpose_geometry
    from tconv.methods import gemm_col2im, gemm_compiled

    if dtype not in gemm_compiled.DTYPES or not gemm_compiled.available():
        return None
    x, w = np.ones((1, 1, 2), dtype=dtype), np.ones((1, 1, 2), dtype=dtype)
    g = transpose_geometry(x.shape, w.shape, stride=2)
    start = time.perf_counter()
    gemm_compiled.compiled(x, w, np.empty((1, 1, 4), dtype=dtype), g)
    gemm_col2im.col2im(np.ones((1, 1, 2, 2), dtype=dtype), np.empty((1, 1, 4), dtype=dtype), g)
    gemm_col2im.col2im_last(np.ones((1, 2, 2, 1), dtype=dtype), np.empty((1, 1, 4), dtype=dtype), g)
    seconds = time.perf_counter() - start
    kernels = (gemm_compiled._kernel(), gemm_col2im._col2im_kernel(), gemm_col2im._col2im_last_kernel())
    cached = not any(k.stats.cache_misses for k in kernels)
    return seconds, cached, kernels[0].stats.cache_path
