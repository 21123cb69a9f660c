"""The workspace the torch layer's tiles write into: one buffer per thread, dtype, device and slot,
kept from call to call.

The allocator maps every block over 32 MiB freshly from the operating system, and the first write
to each page faults (measured: 75 MiB allocated and filled in 20 ms, 3.7 GB/s, where a reused
31 MiB block filled at 30 GB/s); a kept buffer of at most :data:`BUDGET` bytes is never faulted
again, and is read back from cache.
"""

from __future__ import annotations

import threading

import torch

__all__ = ["workspace", "BUDGET"]

#: Bytes of column buffer per tile, and of the workspace kept per thread, dtype and device.
BUDGET = 16 * 2**20
_LOCAL = threading.local()


def workspace(numel: int, like: torch.Tensor, slot: int = 0) -> torch.Tensor:
    """A buffer of ``numel`` elements of ``like``'s dtype and device: this thread's kept workspace
    number ``slot`` when it is large enough (at most :data:`BUDGET` bytes are kept), else a fresh one."""
    key = (like.dtype, like.device, slot)
    kept = getattr(_LOCAL, "buffers", None)
    if kept is None:
        kept = _LOCAL.buffers = {}
    buf = kept.get(key)
    if buf is None or buf.numel() < numel:
        buf = torch.empty(numel, dtype=like.dtype, device=like.device)
        if numel * buf.element_size() <= BUDGET:
            kept[key] = buf
    return buf[:numel]
