"""The seam between tconv's methods and array libraries.

Methods are written once against the array API standard: they ask an array for its namespace
(``xp``) and use only what the standard offers — ``zeros``, ``reshape``, ``permute_dims``,
``matmul``, ``take``, ``flip``, strided slicing, and indexing with an ellipsis wherever fewer indices
than axes are given. ``array-api-compat`` bridges NumPy, PyTorch, JAX and Dask to it, so the same
code runs on ``array_api_strict`` (the standard's reference), torch tensors of any device and JAX
arrays — inside ``jax.jit`` too, since every shape comes from the (static) geometry.

Writes go through :func:`set_at` and :func:`add_at`: ``a[index] = v`` / ``a[index] += v`` in place
where the library allows it (NumPy, torch, array-api-strict: no copy, no cost), and a functional
update where arrays are immutable (JAX), by ``array_api_extra.at`` — ``a.at[index].add(v)`` there,
which ``jax.grad`` differentiates.

This module also holds the few helpers every method shares: turning array-likes into arrays, the
dtype policy and the integer range check, and the zero-filled ``window`` that implements every crop and
pad. The memory guard is :mod:`tconv.resources`'s (re-exported here).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj, is_jax_array
from array_api_compat import device as device_of

from tconv.errors import TConvError, TConvTypeError
from tconv.resources import check_memory, memory_limit

__all__ = [
    "as_array",
    "namespace",
    "library",
    "SUPPORTED",
    "set_at",
    "add_at",
    "device_of",
    "compute_dtype",
    "check_integer_range",
    "window",
    "check_memory",
    "memory_limit",
    "weight_as_conv",
    "itemsize",
    "prod",
]


def as_array(name: str, value):
    """``value`` as an array of its own library; nested lists and scalars become NumPy arrays."""
    if type(value) is np.ndarray and value.dtype.kind in "biuf":  # the common case, first: a small call's µs
        return value
    if is_array_api_obj(value) and not isinstance(value, np.ndarray):
        return value  # other libraries' dtypes are checked by compute_dtype
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists, objects NumPy cannot hold
        raise TConvError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TConvTypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    return arr


#: The array libraries tconv is tested with (``tconv.conv_transpose`` sends Dask arrays to
#: :mod:`tconv.backends.dask`; the others run the methods directly).
SUPPORTED = ("numpy", "torch", "jax", "array_api_strict", "dask")


def library(a) -> str:
    """The library an array comes from, by the top-level module of its type: ``'numpy'``, ``'torch'``, ...

    >>> library(np.zeros(2))
    'numpy'
    """
    return type(a).__module__.split(".")[0].replace("jaxlib", "jax")


_NUMPY = array_namespace(np.empty(0))


def namespace(*arrays, names=("x", "weight", "bias")):
    """The one array namespace shared by ``arrays`` (None entries are skipped; ``names`` name them).

    Raises
    ------
    TConvTypeError
        The arrays come from different libraries (the message names each), or from one that
        array-api-compat does not know (the message lists the supported ones).
    """
    present = [a for a in arrays if a is not None]
    if all(type(a) is np.ndarray for a in present):
        return _NUMPY  # the common case, without array-api-compat's search
    try:
        return array_namespace(*present)  # the common case costs nothing more than this
    except TypeError:
        pass
    labels = (*names, *(f"array {j}" for j in range(len(names), len(arrays))))
    named = [(n, a) for n, a in zip(labels, arrays) if a is not None]
    libraries = {library(a) for a in present}
    if len(libraries) > 1:
        which = ", ".join(f"{n} is a {library(a)} array" for n, a in named)
        raise TConvTypeError(f"x, weight and bias must come from one array library: {which}")
    raise TConvTypeError(
        f"arrays of library {libraries.pop()!r} are not supported; tconv supports {', '.join(SUPPORTED)}"
    )


_MUTABLE: dict[type, bool] = {np.ndarray: True}


def _is_mutable(a) -> bool:
    # Cached per type: the test is made once per array type, not on every slice of a hot loop.
    # JAX arrays (and tracers inside jit/grad) are immutable; every other supported library writes in place.
    kind = type(a)
    mutable = _MUTABLE.get(kind)
    if mutable is None:
        mutable = _MUTABLE[kind] = not is_jax_array(a)
    return mutable


def set_at(a, index, value):
    """``a[index] = value``: in place when ``a``'s library allows it, otherwise a new array (JAX).

    Always use the result: ``a = set_at(a, index, value)``. ``a`` must be an array the caller made
    (the in-place branch writes to it).

    >>> set_at(np.zeros(4), (slice(None, None, 2),), 1.0)
    array([1., 0., 1., 0.])
    """
    if _is_mutable(a):
        a[index] = value
        return a
    return _functional(a, index).set(value)


def add_at(a, index, value):
    """``a[index] += value``: in place when ``a``'s library allows it, otherwise a new array (JAX).

    >>> add_at(np.ones(3), (slice(1, None),), np.array([1.0, 2.0]))
    array([1., 2., 3.])
    """
    if _is_mutable(a):
        a[index] += value
        return a
    return _functional(a, index).add(value)


def _functional(a, index):
    """``array_api_extra.at(a, index)``: the functional update of immutable arrays (JAX).

    Imported only here: NumPy and torch arrays never need it, so it is an extra (``tconv[jax]``).
    """
    try:
        import array_api_extra as xpx
    except ImportError:
        raise TConvTypeError(
            f"{type(a).__module__} arrays are immutable: tconv updates them with array-api-extra, which is not "
            "installed (pip install 'tconv[jax]')"
        ) from None
    return xpx.at(a, index)


def compute_dtype(xp, *arrays):
    """``(compute, result)`` dtypes: integers stay exact in int64; floats accumulate in ≥ float32.

    float16 and bfloat16 are computed in float32 and rounded back once at the end, so a long sum
    does not lose precision term by term; float64 stays float64.
    """
    return _dtype_policy(xp, tuple(a.dtype for a in arrays if a is not None))


@functools.lru_cache(maxsize=256)
def _dtype_policy(xp, dtypes):
    # Cached per combination of dtypes: the same few recur, and the checks are a fair share of a small call.
    floats = [d for d in dtypes if xp.isdtype(d, "real floating")]
    for d in dtypes:
        if d not in floats and not (d == xp.bool or xp.isdtype(d, "integral")):
            raise TConvTypeError(f"tconv computes with real numbers; got dtype {d}")
    if not floats:
        return xp.int64, xp.int64
    result = xp.result_type(*floats)
    compute = result if xp.finfo(result).bits >= 32 else xp.float32
    return compute, result


INT64_MAX = 2**63 - 1


def _largest_magnitude(xp, a) -> int | None:
    """``max |a|`` as a Python int (exact at any size), or None for an empty or traced array."""
    if a is None or prod(a.shape) == 0:
        return 0
    try:
        return max(int(xp.max(a)), -int(xp.min(a)))  # no abs(): |int64's minimum| is not an int64
    except TypeError:  # a JAX tracer inside jit: its values are not known until it runs
        return None


def check_integer_range(xp, what: str, terms: int, x, weight, bias=None, folds: int = 1) -> None:
    """Refuse an integer call whose result could leave int64, before computing it.

    Every output element is a sum of at most ``terms`` products ``x·w`` (:attr:`Geometry.max_terms`),
    ``folds`` times over for a padding mode's folded cells, plus the bias: so
    ``|y| ≤ folds·terms·max|x|·max|w| + max|b|``. Where that bound fits in int64 the result is exact;
    where it does not, the call is refused rather than wrapped around. Cheap: one pass for each
    array's extremes, in Python integers. (Inside ``jax.jit`` the values are unknown: not checked.)

    Raises
    ------
    TConvError
        The bound exceeds ``2**63 − 1``; the message gives the bound and its factors.
    """
    mx, mw, mb = (_largest_magnitude(xp, a) for a in (x, weight, bias))
    if mx is None or mw is None or mb is None:
        return
    bound = folds * terms * mx * mw + mb
    if bound > INT64_MAX:
        n = folds * terms
        raise TConvError(
            f"{what}: an integer result could reach {bound:,} = {n} term{'s' if n != 1 else ''} · max|x|={mx:,} · max|weight|={mw:,}"
            f"{f' + max|bias|={mb:,}' if mb else ''}, beyond int64's {INT64_MAX:,}; tconv returns exact integers or "
            "none: use smaller values or a float dtype"
        )


def window(a, begin, size):
    """``a[..., b:b+n]`` on each trailing spatial axis, with zeros wherever that runs past ``a``.

    ``begin`` may be negative and ``b + n`` may exceed the axis: this one helper is every crop
    (PyTorch's padding, ONNX pads) and every zero pad (TensorFlow's ``same`` with ``k_eff < s``,
    the borders of a convolution) in tconv.
    """
    xp = array_namespace(a)
    nd = len(size)
    have = a.shape[a.ndim - nd :]
    if all(0 <= b and b + n <= h for b, n, h in zip(begin, size, have)):
        return a[(..., *(slice(b, b + n) for b, n in zip(begin, size)))]
    out = xp.zeros((*a.shape[: a.ndim - nd], *size), dtype=a.dtype, device=device_of(a))
    # Overlap of [b, b+n) with [0, h) on each axis, in the coordinates of `a` and of `out`.
    src = tuple(slice(max(b, 0), min(b + n, h)) for b, n, h in zip(begin, size, have))
    dst = tuple(slice(r.start - b, r.stop - b) for r, b in zip(src, begin))
    if all(r.start < r.stop for r in src):
        out = set_at(out, (..., *dst), a[(..., *src)])
    return out


def weight_as_conv(weight, groups: int, flip: bool):
    """Transposed-convolution weight ``(C_in, C_out/G, *k)`` → convolution weight ``(C_out, C_in/G, *k)``.

    Swaps the two channel axes within each group (and flips every spatial axis when ``flip``): the
    convolution that reproduces a transposed convolution reads the kernel backwards.
    """
    xp = array_namespace(weight)
    c_in, c_out_g, *k = weight.shape
    w = xp.reshape(weight, (groups, c_in // groups, c_out_g, *k))
    w = xp.permute_dims(w, (0, 2, 1, *range(3, 3 + len(k))))
    w = xp.reshape(w, (groups * c_out_g, c_in // groups, *k))
    if flip:
        w = xp.flip(w, axis=tuple(range(2, 2 + len(k))))
    return w


def itemsize(xp, dtype) -> int:
    if xp.isdtype(dtype, "real floating"):
        return xp.finfo(dtype).bits // 8
    return xp.iinfo(dtype).bits // 8


def prod(shape) -> int:
    return math.prod(int(n) for n in shape)
