"""What the machine gives this process: CPUs for tconv's threads, memory for the memory guard.

Both are read the way a container sees them, not the way the host does:

* **CPUs** (:func:`available_cpus`): the CPUs this process may run on (``sched_getaffinity``), capped
  by a cgroup CPU quota (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us / cpu.cfs_period_us`` in v1). A
  container limited to 2 CPUs on a 64-core host gets 2, where ``os.cpu_count()`` says 64.
* **Memory** (:func:`memory_limit`): the smaller of what the kernel says is available
  (``MemAvailable`` in ``/proc/meminfo``) and what the cgroup's memory limit leaves (limit minus
  usage), or ``TCONV_MAX_BYTES`` when set. The answer names its source, so the memory guard's refusal
  says which limit it met.

tconv's own threads are a public setting (:func:`set_num_threads`, or ``TCONV_NUM_THREADS`` in the
environment); by default they are the available CPUs, at most :data:`MAX_THREADS`.

>>> previous = set_num_threads(2)
>>> get_num_threads()
2
>>> set_num_threads(previous) == 2
True
"""

from __future__ import annotations

import functools
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass

from tconv.errors import TConvError

__all__ = [
    "MAX_THREADS",
    "available_cpus",
    "set_num_threads",
    "get_num_threads",
    "MemoryLimit",
    "memory_limit",
    "check_memory",
]

#: tconv's default thread count is the available CPUs, at most this many (col2im is bound by memory
#: bandwidth, which a few threads saturate).
MAX_THREADS = 8
_CGROUP = pathlib.Path("/sys/fs/cgroup")
#: A cgroup limit at or above this is "no limit" (v1 writes 2**63 rounded down to a page).
_UNLIMITED = 1 << 60


def _read(path: pathlib.Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpu_quota(root: pathlib.Path = _CGROUP) -> float | None:
    """CPUs allowed by the cgroup's quota (quota / period), or None when there is no quota."""
    v2 = _read(root / "cpu.max")  # "max 100000" or "150000 100000"
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100000)
    quota_v1, period_v1 = _read(root / "cpu" / "cpu.cfs_quota_us"), _read(root / "cpu" / "cpu.cfs_period_us")
    if quota_v1 is None or period_v1 is None or int(quota_v1) <= 0:
        return None
    return int(quota_v1) / int(period_v1)


@functools.lru_cache(maxsize=1)
def available_cpus() -> int:
    """The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (at least 1).

    Read once per process (the system calls cost microseconds, and a call must not pay them).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        quota = _cpu_quota()
    except (ValueError, OSError):  # an unreadable or unexpected cgroup file: no quota known
        quota = None
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return max(1, cpus)


_THREADS: int | None = None


def _from_environment() -> int | None:
    text = os.environ.get("TCONV_NUM_THREADS", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise TConvError(f"TCONV_NUM_THREADS must be a positive whole number; got {text!r}")
    return int(text)


def set_num_threads(threads: int | None) -> int | None:
    """Let tconv use at most ``threads`` threads of its own; return the previous setting.

    Parameters
    ----------
    threads
        A positive whole number, or None for the default: ``TCONV_NUM_THREADS`` if set, else
        :func:`available_cpus` (at most :data:`MAX_THREADS`).

    Returns
    -------
    int or None
        The setting before this call (None: the default), to restore it later.

    Notes
    -----
    This is tconv's own setting: it never changes the BLAS library's thread count, which NumPy's
    matrix products use (set that with ``threadpoolctl``, or ``OPENBLAS_NUM_THREADS``).
    """
    global _THREADS
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise TConvError(f"threads must be a positive whole number or None; got {threads!r}")
    previous, _THREADS = _THREADS, threads
    return previous


def get_num_threads() -> int:
    """The number of threads tconv uses now (see :func:`set_num_threads`)."""
    if _THREADS is not None:
        return _THREADS
    return _from_environment() or min(available_cpus(), MAX_THREADS)


@dataclass(frozen=True)
class MemoryLimit:
    """How many bytes one call may allocate, and where that figure comes from.

    Attributes
    ----------
    bytes
        The limit.
    source
        ``"TCONV_MAX_BYTES"``, ``"MemAvailable"`` (``/proc/meminfo``), ``"cgroup memory limit"``
        (the limit minus the usage), or ``"physical memory"`` where neither can be read.
    """

    bytes: int
    source: str

    def __str__(self) -> str:
        return f"{self.bytes:,} bytes ({self.source})"


def _mem_available() -> int | None:
    text = _read(pathlib.Path("/proc/meminfo"))
    for line in (text or "").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_memory_left(root: pathlib.Path = _CGROUP) -> int | None:
    """The cgroup's memory limit minus its usage, or None when there is no limit."""
    for limit_file, usage_file in (
        (root / "memory.max", root / "memory.current"),  # v2
        (root / "memory" / "memory.limit_in_bytes", root / "memory" / "memory.usage_in_bytes"),  # v1
    ):
        limit = _read(limit_file)
        if limit is None:
            continue
        if limit == "max" or int(limit) >= _UNLIMITED:
            return None
        return max(0, int(limit) - int(_read(usage_file) or 0))
    return None


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def memory_limit() -> MemoryLimit:
    """The memory guard's limit, read now: ``TCONV_MAX_BYTES`` if set, else the smaller of
    ``MemAvailable`` and the cgroup memory limit's remainder (physical memory where neither is known).

    Raises
    ------
    TConvError
        ``TCONV_MAX_BYTES`` is not a whole number of bytes.
    """
    env = os.environ.get("TCONV_MAX_BYTES", "").strip()
    if env:
        if not env.isdigit():
            raise TConvError(f"TCONV_MAX_BYTES must be a whole number of bytes; got {env!r}")
        return MemoryLimit(int(env), "TCONV_MAX_BYTES")
    known = []
    for read, source in ((_mem_available, "MemAvailable"), (_cgroup_memory_left, "cgroup memory limit")):
        try:
            n = read()
        except ValueError:  # an unexpected file format: use what else could be read
            n = None
        if n is not None:
            known.append((n, source))
    if not known:
        return MemoryLimit(_physical_memory(), "physical memory")
    return MemoryLimit(*min(known))


#: Calls needing less than this are not checked against the machine (reading ``/proc`` costs tens of
#: microseconds, as much as a small call): every machine tconv runs on has this much to spare.
SMALL_BYTES = 1 << 26


def check_memory(what: str | Callable[[], str], elements: int, itemsize: int) -> None:
    """Refuse, before allocating, a call whose arrays would not fit in memory (``what``: the call,
    or a function that names it, called only to word a refusal).

    Raises
    ------
    TConvError
        ``elements * itemsize`` bytes are more than :func:`memory_limit` allows; the message names
        the limit's source.
    """
    need = elements * itemsize
    if need <= SMALL_BYTES and "TCONV_MAX_BYTES" not in os.environ:
        return
    limit = memory_limit()
    if need > limit.bytes:
        if callable(what):
            what = what()
        raise TConvError(
            f"{what} would need {need:,} bytes ({need / 2**30:.3g} GiB), more than the {limit.bytes:,} bytes "
            f"available ({limit.source}; set TCONV_MAX_BYTES to change the limit)"
        )
