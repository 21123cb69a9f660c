"""The output size of a transposed convolution, and the paddings that give a wanted one.

Forward, per axis: ``o = (i−1)·s + d·(k−1) + 1 − b − e + op`` (PyTorch: ``b = e = padding``).
Reverse: for a wanted ``o``, with ``F = (i−1)·s + d·(k−1) + 1`` the full output,

* PyTorch needs ``F − 2p + op = o`` with ``p ≥ 0`` and ``0 ≤ op < max(s, d)``;
* tconv's ``(begin, end)`` pairs need ``b + e = F − o`` (both ≥ 0), or ``output_padding = o − F``
  when ``o > F``; and ``padding="same"`` gives ``o = i·s``.

>>> [(p, op) for p, op in torch_solutions(full=11, want=10, stride=2, dilation=1)]
[(1, 1)]
>>> tconv_pairs(full=11, want=10)
[(0, 1), (1, 0)]
"""

from __future__ import annotations

__all__ = ["torch_solutions", "tconv_pairs"]


def torch_solutions(full: int, want: int, stride: int, dilation: int):
    """PyTorch's ``(padding, output_padding)`` pairs with ``full − 2·padding + output_padding = want``."""
    return [
        ((full + op - want) // 2, op)
        for op in range(max(stride, dilation))
        if full + op - want >= 0 and (full + op - want) % 2 == 0
    ]


def tconv_pairs(full: int, want: int):
    """tconv's ``padding=(begin, end)`` pairs (no output_padding) that crop ``full`` to ``want``."""
    total = full - want
    return [(b, total - b) for b in range(total + 1)] if total >= 0 else []
