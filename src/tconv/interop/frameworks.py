"""A :class:`~tconv.geometry.Geometry` in a framework's own arguments: one function per framework.

Every framework computes the full output ``F = (i−1)·s + k_eff`` and keeps the window ``[b, b + o)``
(zeros past ``F``). They differ in how the window can be said. PyTorch says it with ``padding = p``
(crop ``p`` at both ends) and ``output_padding = op`` (give ``op`` back at the end, ``0 ≤ op <
max(s, d)``): its output is the window ``[p, F − p + op)``. When ``b ≥ 0`` and ``0 ≤ b − e <
max(s, d)`` that is exact with ``p = b``, ``op = b − e``. Otherwise the call keeps what it can, and
the rest is a window of PyTorch's output: start ``b − p``, size ``o``.

The torch layer's comparison kernel, the benchmark, the explainer's PyTorch check and the converter
(:func:`tconv.interop.convert.to_torch`) all use :func:`torch_arguments`.

>>> from tconv.arguments import transpose_geometry
>>> torch_arguments(transpose_geometry((1, 1, 8), (1, 1, 3), stride=2, padding="same"))
TorchArguments(padding=(0,), output_padding=(0,), start=(0,), size=(16,), torch_size=(17,))
>>> torch_arguments(transpose_geometry((1, 1, 8), (1, 1, 4), stride=2, padding=1)).exact
True
"""

from __future__ import annotations

from dataclasses import dataclass

from tconv.geometry import Geometry

__all__ = ["TorchArguments", "torch_arguments", "torch_axis"]


@dataclass(frozen=True)
class TorchArguments:
    """PyTorch's ``padding`` and ``output_padding``, and the window of its output that is the result.

    Per spatial axis: PyTorch's output has ``torch_size = F − 2p + op`` elements; the result is
    ``torch_output[..., start : start + size]``, zeros where that runs past it (``start`` may be < 0).
    """

    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    start: tuple[int, ...]
    size: tuple[int, ...]
    torch_size: tuple[int, ...]

    @property
    def exact(self) -> bool:
        """Whether PyTorch's own output is the result (no window left to cut)."""
        return all(s == 0 for s in self.start) and self.size == self.torch_size


def torch_axis(b: int, e: int, s: int, d: int) -> tuple[int, int, int, int]:
    """One axis: ``(p, op, start, end)`` — PyTorch's padding and output_padding for crops ``b``, ``e``,
    and the crop still to take from its output at the start and the end (negative: zeros to add).

    >>> torch_axis(1, 1, 2, 1)        # symmetric: exact
    (1, 0, 0, 0)
    >>> torch_axis(0, 1, 2, 1)        # "same" with k3 s2: p = 0, then one more cut at the end
    (0, 0, 0, 1)
    """
    if b >= 0 and 0 <= b - e < max(s, d):
        return b, b - e, 0, 0
    p = max(min(b, e), 0)
    op = min(max(p - e, 0), max(s, d) - 1)  # output_padding takes over as much of a zero tail as it can
    return p, op, b - p, e - (p - op)  # PyTorch cropped p at the start and p − op at the end


def torch_arguments(g: Geometry) -> TorchArguments:
    """PyTorch's arguments for the transposed convolution of ``g``, and the window still to cut."""
    axes = [torch_axis(b, e, s, d) for b, e, s, d in zip(g.begin, g.end, g.stride, g.dilation)]
    return TorchArguments(
        padding=tuple(a[0] for a in axes),
        output_padding=tuple(a[1] for a in axes),
        start=tuple(a[2] for a in axes),
        size=g.large,
        torch_size=tuple(f - 2 * p + op for f, (p, op, _, _) in zip(g.full, axes)),
    )
