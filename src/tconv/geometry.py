"""The one geometry object every method consumes, and every size formula, once.

A convolution and its transposed convolution are one linear map and its adjoint. Both relate a
position ``i`` on the *small* side to a position ``o`` on the *large* side through a kernel tap ``t``:

    o = i·s + t·d − b        (per spatial axis; s stride, d dilation, b the start crop/pad)

* ``conv`` (large → small):  y[i] = Σ_t w[t] · x[i·s + t·d − b]     (``b`` is its left padding)
* ``conv_transpose`` (small → large): every x[i] is added, times w[t], into y[i·s + t·d − b].

Without any crop the transposed convolution covers ``F = (i−1)·s + d·(k−1) + 1`` positions, the
*full* output. PyTorch's ``padding=p`` crops ``p`` at both ends and ``output_padding`` gives back
``op`` at the end; ONNX's pads crop ``b`` and ``e``; TensorFlow's ``same`` crops so that
``o = i·s``. All of them are the same thing: the output is the window ``[b, b + o)`` of the full
output, zero where the window runs past ``F``. :class:`Geometry` stores exactly that — the sizes of
both sides, the kernel, stride, dilation and ``b`` — and nothing a method would have to re-derive.
Checking user arguments into a ``Geometry`` is :mod:`tconv.arguments`' job.

>>> from tconv.arguments import transpose_geometry
>>> g = transpose_geometry((1, 1, 2, 2), (1, 1, 2, 2))
>>> g.output_shape
(1, 1, 3, 3)
>>> transpose_geometry((8, 16, 7), (16, 4, 3), stride=2, padding=1, output_padding=1).output_shape
(8, 4, 14)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["Geometry", "effective_kernel", "full_size", "conv_size", "taps_per_phase", "same_pairs", "conv_same_pairs"]


# ---- the size formulas, per axis ---------------------------------------------------------------


def effective_kernel(k: int, d: int) -> int:
    """``k_eff = d·(k−1) + 1``: the span of a kernel of ``k`` taps spaced ``d`` apart.

    >>> effective_kernel(3, 2)
    5
    """
    return d * (k - 1) + 1


def full_size(i: int, s: int, k_eff: int) -> int:
    """``F = (i−1)·s + k_eff``: the transposed convolution's output before any crop.

    The last input element lands at ``(i−1)·s`` and its stamp reaches ``k_eff`` further.

    >>> full_size(2, 2, 3)
    5
    """
    return (i - 1) * s + k_eff


def conv_size(n: int, s: int, k_eff: int, padded: int) -> int:
    """``o = ⌊(n + P − k_eff)/s⌋ + 1``: windows of ``k_eff`` that fit, every ``s``, in the padded input.

    ``padded`` is the total padding ``P = b + e``.

    >>> conv_size(10, 2, 3, 2)
    5
    """
    return (n + padded - k_eff) // s + 1


def taps_per_phase(k: int, s: int, d: int) -> tuple[int, ...]:
    """For each output phase ``φ = 0 … s−1``, the taps ``t`` with ``(t·d) mod s = φ``.

    Output position ``o`` (of the full output) receives tap ``t`` from input ``i = (o − t·d)/s``,
    which exists only when ``o ≡ t·d (mod s)``: inside the output, the ``φ``-th phase receives
    exactly this many taps. Unequal counts are the uneven overlap behind checkerboard artifacts.

    >>> taps_per_phase(3, 2, 1), taps_per_phase(4, 2, 1), taps_per_phase(3, 2, 2)
    ((2, 1), (2, 2), (3, 0))
    """
    counts = [0] * s
    for t in range(k):
        counts[t * d % s] += 1
    return tuple(counts)


def same_pairs(k_eff, stride) -> tuple[tuple[int, int], ...]:
    """TensorFlow's ``"same"`` for a transposed convolution: the crops ``(b, e)`` that give ``o = i·s``.

    The total crop is ``T = F − i·s = k_eff − s``, split with the smaller half at the start. When
    ``k_eff < s``, ``T < 0``: nothing is cropped at the start and ``−T`` zeros are appended at the end.

    >>> same_pairs((3, 2), (2, 3))
    ((0, 1), (0, -1))
    """
    return tuple((max(ke - s, 0) // 2, (ke - s) - max(ke - s, 0) // 2) for ke, s in zip(k_eff, stride))


def conv_same_pairs(n, k_eff, stride) -> tuple[tuple[int, int], ...]:
    """TensorFlow's ``"same"`` for a convolution: ``o = ⌈n/s⌉``, total padding
    ``P = max((o−1)·s + k_eff − n, 0)``, ``b = ⌊P/2⌋`` at the start and the rest at the end.

    >>> conv_same_pairs((10,), (3,), (2,))
    ((0, 1),)
    """
    totals = (max((-(-m // s) - 1) * s + ke - m, 0) for m, ke, s in zip(n, k_eff, stride))
    return tuple((t // 2, t - t // 2) for t in totals)


@dataclass(frozen=True)
class Geometry:
    """The normalised, checked geometry of one convolution or transposed convolution.

    Fields describe the linear map ``o = i·s + t·d − b`` between the *small* side (the transposed
    convolution's input, the convolution's output) and the *large* side. ``transposed`` says which
    way data flows; :meth:`adjoint` flips it, giving the geometry of the adjoint map with the very
    same weight tensor, whose layout is ``(small_channels, large_channels // groups, *kernel)`` in
    both directions (PyTorch's ``conv_transpose`` and ``conv`` layouts coincide this way).
    """

    transposed: bool
    batch: int | None  # None: unbatched input (no leading N axis)
    small_channels: int
    large_channels: int
    groups: int
    small: tuple[int, ...]
    large: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    begin: tuple[int, ...]  # b: start crop of the full output / left padding of the convolution

    # ---- derived sizes -------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.kernel)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        """``k_eff = d·(k−1) + 1``: the span of the dilated kernel."""
        return tuple(effective_kernel(k, d) for k, d in zip(self.kernel, self.dilation))

    @property
    def full(self) -> tuple[int, ...]:
        """``F = (i−1)·s + k_eff``: the transposed convolution's output before any crop."""
        return tuple(full_size(i, s, ke) for i, s, ke in zip(self.small, self.stride, self.effective_kernel))

    @property
    def end(self) -> tuple[int, ...]:
        """Crop at the end of the full output, ``e = F − b − o``; negative means zeros appended."""
        return tuple(f - b - o for f, b, o in zip(self.full, self.begin, self.large))

    @property
    def taps(self) -> int:
        """Number of kernel taps, ``Π k``."""
        return math.prod(self.kernel)

    @property
    def taps_per_phase(self) -> tuple[tuple[int, ...], ...]:
        """Per axis, :func:`taps_per_phase`: the taps each output phase receives."""
        return tuple(taps_per_phase(k, s, d) for k, s, d in zip(self.kernel, self.stride, self.dilation))

    @property
    def max_terms(self) -> int:
        """The most products summed into one output element: ``C_in/G · Π k`` for a convolution,
        ``C_in/G · Π max_φ taps_per_phase`` for a transposed one (its busiest phase). With the
        largest magnitudes of input and weight it bounds the result, which an integer call checks.

        >>> from tconv.arguments import transpose_geometry
        >>> transpose_geometry((1, 6, 5, 5), (6, 2, 3, 4), stride=2, groups=2).max_terms   # 3 · 2 · 2
        12
        """
        if not self.transposed:
            return self.large_channels // self.groups * self.taps
        return self.small_channels // self.groups * math.prod(max(c) for c in self.taps_per_phase)

    # ---- shapes in the direction of the map ----------------------------------------------------
    def _shape(self, channels: int, spatial: tuple[int, ...]) -> tuple[int, ...]:
        lead = () if self.batch is None else (self.batch,)
        return (*lead, channels, *spatial)

    @property
    def small_shape(self) -> tuple[int, ...]:
        return self._shape(self.small_channels, self.small)

    @property
    def large_shape(self) -> tuple[int, ...]:
        return self._shape(self.large_channels, self.large)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.small_shape if self.transposed else self.large_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.large_shape if self.transposed else self.small_shape

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.small_channels, self.large_channels // self.groups, *self.kernel)

    @property
    def macs(self) -> int:
        """Useful multiply-adds, ``N·C_small·(C_large/G)·Π i·Π k``: each small-side element meets
        each tap once. (Taps landing in a crop are counted; they are a tiny fraction.)"""
        return (
            (self.batch or 1)
            * self.small_channels
            * (self.large_channels // self.groups)
            * math.prod(self.small)
            * self.taps
        )

    def adjoint(self) -> Geometry:
        """The same map the other way: a convolution's geometry becomes its transpose's, and back."""
        return replace(self, transposed=not self.transposed)

    def __str__(self) -> str:
        kind = "conv_transpose" if self.transposed else "conv"
        ke, full, end = self.effective_kernel, self.full, self.end
        lines = [
            f"{kind}: {self.input_shape} -> {self.output_shape}, weight {self.weight_shape}, groups {self.groups}",
        ]
        for a in range(self.ndim):
            lines.append(
                f"  axis {a}: i={self.small[a]} k={self.kernel[a]} s={self.stride[a]} d={self.dilation[a]}"
                f" k_eff={ke[a]} F=(i-1)*s+k_eff={full[a]} crop b={self.begin[a]} e={end[a]}"
                f" -> o={self.large[a]}"
            )
        return "\n".join(lines)
