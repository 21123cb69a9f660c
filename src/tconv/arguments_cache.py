"""Checked geometries, remembered: :mod:`tconv.arguments`'s checks run once per distinct call.

Checking the arguments is most of a small call's time (the learner's example: about 20 of 60 µs;
the torch layer's step on a small layer: about 25 µs), and layers call with the same shapes again and
again. Geometries are immutable, so sharing one is safe. Only calls whose every argument is *plain*
are remembered — Python ints, strings and None, in tuples, the shapes' entries ints — because
``2 == 2.0 == True`` with equal hashes: a cache keyed on anything else would accept ``stride=2.0``
after a call with ``stride=2`` had passed. Any other argument (a float, a bool, a NumPy integer, a
list, a traced size) is checked afresh every time, so whether a call is accepted never depends on the
calls before it.

>>> transpose_geometry((1, 4, 8, 8), (4, 2, 4, 4), stride=2) is transpose_geometry((1, 4, 8, 8), (4, 2, 4, 4), stride=2)
True
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from tconv import arguments
from tconv.geometry import Geometry

__all__ = ["transpose_geometry", "conv_geometry"]

_PLAIN = frozenset((int, str, type(None)))
_TRANSPOSE = functools.lru_cache(maxsize=1024)(arguments.transpose_geometry)
_CONV = functools.lru_cache(maxsize=1024)(arguments.conv_geometry)


def _plain(value) -> bool:
    """Whether ``value`` is built only of Python ints, strings and None (in tuples). Loops rather than
    ``all()`` over a generator: this runs on every call, and a small call's budget is microseconds."""
    if type(value) is not tuple:
        return type(value) in _PLAIN
    for v in value:
        if type(v) not in _PLAIN and not (type(v) is tuple and _plain(v)):
            return False
    return True


def _shape(shape):
    """A shape (a tuple, ``torch.Size``) as a plain tuple of ints, or None if an entry is not an int."""
    for v in shape:
        if type(v) is not int:
            return None
    return tuple(shape)


def _checked(cached: Callable[..., Geometry], build: Callable[..., Geometry], input_shape, weight_shape, args, kwargs):
    shapes = _shape(input_shape), _shape(weight_shape)
    bias = kwargs.get("bias_shape")
    if bias is not None and (bias := _shape(bias)) is not None:
        kwargs = {**kwargs, "bias_shape": bias}
    flags = type(kwargs.get("allow_empty", False)) is bool  # a switch of tconv's own, not a size: True or False
    sizes = tuple(v for k, v in kwargs.items() if k != "allow_empty")
    if None not in shapes and flags and _plain(args) and _plain(sizes):
        return cached(*shapes, *args, **kwargs)
    return build(input_shape, weight_shape, *args, **kwargs)


def transpose_geometry(input_shape, weight_shape, *args, **kwargs) -> Geometry:
    """:func:`tconv.arguments.transpose_geometry`, remembered for plain arguments (module docstring)."""
    return _checked(_TRANSPOSE, arguments.transpose_geometry, input_shape, weight_shape, args, kwargs)


def conv_geometry(input_shape, weight_shape, *args, **kwargs) -> Geometry:
    """:func:`tconv.arguments.conv_geometry`, remembered for plain arguments (module docstring)."""
    return _checked(_CONV, arguments.conv_geometry, input_shape, weight_shape, args, kwargs)
