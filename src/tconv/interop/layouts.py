"""Where each framework keeps the kernel and the channels, and moving arrays between those layouts.

Kernels: PyTorch, ONNX and tconv use ``(I, O/groups, *k)`` (I: the transposed convolution's input
channels). TensorFlow/Keras use ``(*k, O, I)`` with no flip; JAX's ``lax.conv_transpose`` reads
``(*k, I, O)`` *flipped* unless ``transpose_kernel=True``, which makes it TensorFlow's; MLX uses
``(O, *k, I/groups)``. Activations: PyTorch is channels-first ``(N, C, *spatial)``; the others
default to channels-last. Every function here is array-API code (NumPy arrays, torch tensors).
"""

from __future__ import annotations

from array_api_compat import array_namespace

from tconv.arrays import weight_as_conv, window
from tconv.errors import TConvError

__all__ = [
    "KERNEL_LAYOUTS",
    "FRAMEWORKS",
    "kernel_to_torch",
    "kernel_from_torch",
    "activations_to_torch",
    "activations_from_torch",
    "apply_crop",
]

#: Where each framework keeps the kernel (letters: I = the transposed convolution's input channels,
#: O = its output channels; ``k`` the spatial axes) and whether it reads it flipped relative to PyTorch.
KERNEL_LAYOUTS = {
    "tconv": "(I, O/groups, *k)",
    "torch": "(I, O/groups, *k)",
    "onnx": "(I, O/groups, *k)",
    "keras": "(*k, O, I)",
    "tensorflow": "(*k, O, I)",
    "jax": "(*k, O, I) with transpose_kernel=True; (*k, I, O) flipped with transpose_kernel=False (rhs spec HWIO)",
    "mlx": "(O, *k, I/groups)",
}
FRAMEWORKS = tuple(KERNEL_LAYOUTS)


def _jax_axes(rhs_spec: str, ndim: int):
    """Positions of JAX's rhs spec letters 'O', 'I' and the spatial letters (in the order written)."""
    spec = rhs_spec.upper()
    if len(spec) != ndim or sorted(spec.count(c) for c in "OI") != [1, 1]:
        raise TConvError(f"rhs_spec={rhs_spec!r} must name O, I and {ndim - 2} spatial axes (e.g. 'HWIO', 'OIHW')")
    return spec.index("O"), spec.index("I"), tuple(a for a, c in enumerate(spec) if c not in "OI")


def kernel_to_torch(w, framework: str, *, groups: int = 1, transpose_kernel: bool = True, rhs_spec: str | None = None):
    """A kernel of ``framework``'s layout (:data:`KERNEL_LAYOUTS`) in PyTorch's ``(I, O/groups, *k)``.

    For JAX, ``rhs_spec`` is the kernel part of ``dimension_numbers`` (default ``'HWIO'``-style):
    with ``transpose_kernel=False`` JAX reads it as an ordinary conv kernel — its ``I`` is the input's
    channels and it is applied flipped relative to PyTorch; with ``transpose_kernel=True`` JAX flips
    and swaps it first, so its ``O`` is the input's channels and no flip is left (TensorFlow's layout).

    >>> import numpy as np
    >>> kernel_to_torch(np.zeros((3, 5, 4, 2)), "keras").shape  # (*k, O, I) -> (I, O, *k)
    (2, 4, 3, 5)
    """
    xp = array_namespace(w)
    n = w.ndim - 2
    if framework in ("tconv", "torch", "onnx"):
        return w
    if framework in ("keras", "tensorflow"):
        return kernel_to_torch(w, "jax", groups=groups, transpose_kernel=True)
    if framework == "jax":
        _no_groups(framework, groups)
        o, i, sp = _jax_axes(rhs_spec or "S" * n + "IO", w.ndim)
        if transpose_kernel:  # O holds the input's channels; already PyTorch's orientation
            return xp.permute_dims(w, (o, i, *sp))
        return xp.flip(xp.permute_dims(w, (i, o, *sp)), axis=tuple(range(2, n + 2)))
    if framework == "mlx":  # (O, *k, I/G) is a conv weight (O, I/G, *k) with the axes moved
        return weight_as_conv(xp.permute_dims(w, (0, n + 1, *range(1, n + 1))), groups, flip=False)
    raise TConvError(f"framework={framework!r} must be one of {FRAMEWORKS}")


def kernel_from_torch(
    w, framework: str, *, groups: int = 1, transpose_kernel: bool = True, rhs_spec: str | None = None
):
    """PyTorch's ``(I, O/groups, *k)`` in ``framework``'s layout; the inverse of :func:`kernel_to_torch`.

    >>> import numpy as np
    >>> w = np.arange(24).reshape(2, 3, 4)
    >>> bool((kernel_to_torch(kernel_from_torch(w, "mlx"), "mlx") == w).all())
    True
    """
    xp = array_namespace(w)
    n = w.ndim - 2
    spatial = tuple(range(2, n + 2))
    if framework in ("tconv", "torch", "onnx"):
        return w
    if framework in ("keras", "tensorflow"):
        return kernel_from_torch(w, "jax", groups=groups, transpose_kernel=True)
    if framework == "jax":
        _no_groups(framework, groups)
        o, i, sp = _jax_axes(rhs_spec or "S" * n + "IO", w.ndim)
        if not transpose_kernel:
            w = xp.flip(w, axis=spatial)
        # w is (a, b, *k) with a = O (transpose_kernel) or I; put each torch axis where the spec wants it.
        source = {o: 0, i: 1} if transpose_kernel else {i: 0, o: 1}
        source.update({p: 2 + j for j, p in enumerate(sp)})
        return xp.permute_dims(w, tuple(source[a] for a in range(w.ndim)))
    if framework == "mlx":
        return xp.permute_dims(weight_as_conv(w, groups, flip=False), (0, *spatial, 1))
    raise TConvError(f"framework={framework!r} must be one of {FRAMEWORKS}")


def _no_groups(framework, groups):
    if groups != 1:
        raise TConvError(f"{framework} has no grouped transposed convolution (groups={groups})")


def _layout_axes(layout: str | None, ndim: int):
    """Positions of N, C and the spatial letters in an activation layout such as ``'NHWC'``."""
    spec = (layout or "N" + "S" * (ndim - 2) + "C").upper()
    if len(spec) != ndim or spec.count("N") != 1 or spec.count("C") != 1:
        raise TConvError(f"layout={layout!r} must name N, C and {ndim - 2} spatial axes (e.g. 'NHWC')")
    return spec.index("N"), spec.index("C"), tuple(a for a, c in enumerate(spec) if c not in "NC")


def activations_to_torch(x, layout: str | None = None):
    """Activations of ``layout`` (default channels-last ``(N, *spatial, C)``) → PyTorch's ``(N, C, *spatial)``."""
    n, c, sp = _layout_axes(layout, x.ndim)
    return array_namespace(x).permute_dims(x, (n, c, *sp))


def activations_from_torch(x, layout: str | None = None):
    """PyTorch's ``(N, C, *spatial)`` → ``layout`` (default channels-last); inverse of :func:`activations_to_torch`."""
    n, c, sp = _layout_axes(layout, x.ndim)
    source = {n: 0, c: 1, **{p: 2 + j for j, p in enumerate(sp)}}
    return array_namespace(x).permute_dims(x, tuple(source[a] for a in range(x.ndim)))


def apply_crop(y, crop):
    """Cut ``(start, end)`` per trailing spatial axis from ``y`` (negative: insert zeros) — the step an
    :class:`Arguments` with a ``crop`` leaves to do. Works on NumPy arrays and torch tensors.

    >>> import numpy as np
    >>> apply_crop(np.arange(5), ((1, -2),))
    array([1, 2, 3, 4, 0, 0])
    """
    if crop is None:
        return y
    sizes = y.shape[y.ndim - len(crop) :]
    return window(y, tuple(b for b, _ in crop), tuple(n - b - e for n, (b, e) in zip(sizes, crop)))
