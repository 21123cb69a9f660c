"""A transposed convolution larger than any worker's memory, on a ``dask.distributed`` cluster.

Run ``python -m tconv.backends.out_of_core`` (``--help`` for the sizes). It starts a
``LocalCluster`` of worker *processes*, each limited to ``--memory`` (1 GiB by default), makes a
lazy random input, up-samples it with :func:`tconv.conv_transpose` into an output of several GiB —
larger than any worker, and than all of them together — and reduces it to one number per output
chunk and their sum, so that no process ever holds the whole output. It reports, for 1 and 2
workers, the wall time and each worker's peak memory (the peak resident set of the worker process,
``getrusage(RUSAGE_SELF).ru_maxrss``), and checks the first image against the in-memory result.

The figures in ``docs/backends.md`` were measured with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time

import numpy as np

import tconv

__all__ = ["Run", "run", "main"]


@dataclasses.dataclass(frozen=True)
class Run:
    """One measured run: the sizes, the time, and each worker's peak resident memory."""

    workers: int
    memory_limit: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    output_bytes: int
    chunks: int
    seconds: float
    peaks: tuple[int, ...]  # bytes, one per worker process
    total: float
    max_error: float  # first image against the in-memory result

    def __str__(self) -> str:
        gib = 2**30
        peaks = ", ".join(f"{p / gib:.2f}" for p in self.peaks)
        return (
            f"{self.workers} worker(s), limit {self.memory_limit / gib:.2f} GiB each: x {self.input_shape} -> "
            f"y {self.output_shape} = {self.output_bytes / gib:.2f} GiB in {self.chunks} chunks; "
            f"{self.seconds:.1f} s; worker peaks {peaks} GiB; sum {self.total:.6g}; first image max error {self.max_error:.2g}"
        )


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(
    workers: int,
    *,
    shape=(32, 4, 512, 512),
    out_channels: int = 4,
    kernel: int = 8,
    stride: int = 4,
    padding: int = 2,
    chunk: int = 128,
    memory: str = "1GiB",
    dtype: str = "float64",
    seed: int = 0,
) -> Run:
    """Compute ``conv_transpose`` of a lazy random ``x`` on ``workers`` worker processes, reduced.

    Parameters
    ----------
    workers
        Worker processes (one thread each).
    shape, out_channels, kernel, stride, padding
        The input ``(N, C_in, H, W)`` and the layer (square kernel).
    chunk
        Spatial chunk of the input (the batch is chunked by 1, the channels kept whole).
    memory
        Each worker's memory limit (Dask pauses a worker at 80 % and restarts it at 95 %).
    dtype, seed
        The input's dtype and random seed.

    Returns
    -------
    Run
        The sizes, the time, the per-worker peaks and the reduced result.
    """
    import dask.array as da
    from dask.utils import parse_bytes
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((shape[1], out_channels, kernel, kernel)).astype(dtype) / kernel
    x = da.random.default_rng(seed).standard_normal(shape, chunks=(1, shape[1], chunk, chunk)).astype(dtype)
    y = tconv.conv_transpose(x, weight, stride=stride, padding=padding)
    sums = y.map_blocks(lambda b: np.sum(b, keepdims=True), chunks=(1,) * y.ndim, dtype=y.dtype)  # one per chunk
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter()
        per_chunk = sums.compute()
        seconds = time.perf_counter() - start
        peaks = tuple(client.run(_peak_rss).values())
        first = y[:1].compute()
    expected = tconv.conv_transpose(x[:1].compute(), weight, stride=stride, padding=padding)
    return Run(
        workers=workers,
        memory_limit=parse_bytes(memory),
        input_shape=tuple(x.shape),
        output_shape=tuple(y.shape),
        output_bytes=int(np.prod(y.shape)) * y.dtype.itemsize,
        chunks=int(np.prod(y.numblocks)),
        seconds=seconds,
        peaks=peaks,
        total=float(per_chunk.sum()),
        max_error=float(np.max(np.abs(first - expected))),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shape", type=lambda t: tuple(int(v) for v in t.split(",")), default=(32, 4, 512, 512))
    parser.add_argument("--out-channels", type=int, default=4)
    parser.add_argument("--kernel", type=int, default=8)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--padding", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--memory", default="1GiB")
    parser.add_argument("--dtype", default="float64")
    args = parser.parse_args(argv)
    for n in args.workers:
        print(
            run(
                n,
                shape=args.shape,
                out_channels=args.out_channels,
                kernel=args.kernel,
                stride=args.stride,
                padding=args.padding,
                chunk=args.chunk,
                memory=args.memory,
                dtype=args.dtype,
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
