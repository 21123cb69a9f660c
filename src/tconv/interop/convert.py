"""Transposed-convolution arguments from one framework to another, through one canonical description.

Every framework computes the full output ``F = (i−1)·s + k_eff`` (``k_eff = d·(k−1) + 1``) and keeps
the window that starts ``b`` cells in and ends ``e`` cells before the end (negative: zeros added):
``o = F − b − e``. :class:`Canonical` holds exactly ``(k, s, d, b, e)`` per axis; a ``from_*``
function reads one framework's arguments into it, a ``to_*`` function writes it out as
:class:`Arguments` — the other side's keyword arguments, and the crop still to apply when that side
cannot say it (PyTorch crops ``padding`` at both ends, so TensorFlow's ``same`` with an odd
``k_eff − s`` is out of its reach).

>>> c = from_keras(3, strides=2, padding="same")
>>> c.begin, c.end
((0,), (1,))
>>> print(to_torch(c))
torch: ConvTranspose1d(kernel_size=3, stride=2, padding=0, output_padding=0, dilation=1)
  not exact: PyTorch crops padding=b at the start and padding − output_padding at the end
  then crop (start, end) = ((0, 1),)  (negative: insert that many zeros)
  weight: torch (I, O/groups, *k)

The kernel layouts (``kernel_to_torch``/``kernel_from_torch``) and channels-last activations
(``activations_to_torch``/``activations_from_torch``) are here too. ``tconv convert`` prints a
conversion from the command line (:mod:`tconv.cli.convert`).

This module is the public face; the work is in :mod:`tconv.interop.canonical` (the two records),
:mod:`tconv.interop.readers` (``from_*``) and :mod:`tconv.interop.writers` (``to_*``).
"""

from __future__ import annotations

from tconv.interop.canonical import Arguments, Canonical
from tconv.interop.layouts import (  # re-exported: converting arguments and moving arrays go together
    FRAMEWORKS,
    activations_from_torch,
    activations_to_torch,
    apply_crop,
    kernel_from_torch,
    kernel_to_torch,
)
from tconv.interop.readers import from_jax, from_keras, from_mlx, from_onnx, from_tconv, from_tensorflow, from_torch
from tconv.interop.writers import convert, to_jax, to_keras, to_mlx, to_onnx, to_tconv, to_torch

__all__ = [
    "Canonical",
    "Arguments",
    "FRAMEWORKS",
    "from_tconv",
    "from_torch",
    "from_onnx",
    "from_keras",
    "from_tensorflow",
    "from_jax",
    "from_mlx",
    "to_tconv",
    "to_torch",
    "to_onnx",
    "to_keras",
    "to_jax",
    "to_mlx",
    "convert",
    "kernel_to_torch",
    "kernel_from_torch",
    "activations_to_torch",
    "activations_from_torch",
    "apply_crop",
]
