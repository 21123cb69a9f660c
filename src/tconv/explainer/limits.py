"""The explainer's limits, in one place: ``tconv explain``, ``tconv.explain`` and ``tconv serve`` share them.

* sizes — :data:`MAX_ELEMENTS` values in the input or the kernel, :data:`MAX_PRODUCTS` multiplications,
  :data:`MAX_FULL` elements in a drawn grid, :data:`MAX_CHANNELS` channels;
* whole numbers — :func:`check_bounds`: every axis of ``stride``, ``dilation``, ``padding``,
  ``output_padding`` and ``groups`` within :data:`BOUNDS`, and at most :data:`MAX_PHASES` polyphase
  phases, checked before anything is computed (a stride of 10¹¹ would otherwise allocate its phases);
* JSON — :func:`strict_json`: standard JSON only (no ``NaN`` or ``Infinity``, which browsers'
  ``JSON.parse`` rejects); a result too large for float64 is an error naming the cause.

>>> check_bounds({"stride": 99999999999})
Traceback (most recent call last):
tconv.errors.TConvError: stride: 99999999999 is too large: at most 4,096 (the polyphase step draws one sub-kernel per phase, stride₁ × stride₂ phases)
>>> check_bounds({"dilation": 2**80}, label=lambda name: "--" + name)
Traceback (most recent call last):
tconv.errors.TConvError: --dilation: 1208925819614629174706176 is too large: at most 1,048,576 (the explainer draws at most 262,144 elements)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tconv.errors import TConvError

__all__ = [
    "MAX_ELEMENTS",
    "MAX_PRODUCTS",
    "MAX_FULL",
    "MAX_CHANNELS",
    "BOUNDS",
    "MAX_PHASES",
    "check_bounds",
    "strict_json",
]

MAX_ELEMENTS = 65536  # input or kernel: beyond this, explaining is not reading any more
MAX_PRODUCTS = 2**20  # input elements × kernel taps (× channels): the multiplications of one method
MAX_FULL = 2**18  # elements of the full output F (and of the output): what one drawn grid may hold
MAX_CHANNELS = 64  # a layer explained has at most this many input and output channels

#: The most polyphase phases (the product of the strides) an explanation draws.
MAX_PHASES = 4096

#: The smallest and largest value of each whole-number parameter, on every axis, and why the largest.
#: A value below the smallest but within the largest's magnitude is left to the explainer's own
#: message (``stride=0 must be positive``), as are the rules between parameters.
BOUNDS = {
    "stride": (1, MAX_PHASES, "the polyphase step draws one sub-kernel per phase, stride₁ × stride₂ phases"),
    "dilation": (1, 2**20, f"the explainer draws at most {MAX_FULL:,} elements"),
    "padding": (0, 2**20, f"the explainer draws at most {MAX_FULL:,} elements"),
    "output_padding": (0, 2**20, f"the explainer draws at most {MAX_FULL:,} elements"),
    "groups": (1, MAX_CHANNELS, f"the explainer takes at most {MAX_CHANNELS} channels"),
}


def _whole_numbers(value: Any) -> list[int]:
    """Every whole number of a per-axis value (``2``, ``(2, 1)``, ``((1, 0), (0, 1))``, an array).

    Anything else (``"same"``, a float, ``None``) gives none: its own rules are the explainer's.

    >>> _whole_numbers(((1, 0), (0, np.int64(3)))), _whole_numbers("same"), _whole_numbers(2.0)
    ([1, 0, 0, 3], [], [])
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return [v for part in value for v in _whole_numbers(part)]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [int(value)]
    return []


def check_bounds(arguments: Mapping[str, Any], label: Callable[[str], str] = str) -> None:
    """Refuse a whole number out of :data:`BOUNDS`, or more than :data:`MAX_PHASES` phases, naming the parameter.

    Parameters
    ----------
    arguments : Mapping[str, Any]
        ``stride``, ``padding``, ``output_padding``, ``dilation`` and ``groups`` (any may be missing), as
        :func:`tconv.explainer.compute.explain` takes them: a whole number, one per axis, or ``(begin,
        end)`` pairs; padding's words and non-integers are left to the explainer's own rules.
    label : Callable[[str], str]
        How the caller spells a parameter's name (``--stride`` on the command line); by default as is.

    Raises
    ------
    TConvError
        ``"<parameter>: <value> is too large: at most <bound> (<why>)"``, ``"… is out of range …"``, or
        ``"<stride>: … gives <n> polyphase phases: at most 4,096 …"``.

    >>> check_bounds({"stride": (64, 65), "dilation": 1, "padding": "same", "output_padding": 0, "groups": 1})
    Traceback (most recent call last):
    tconv.errors.TConvError: stride: (64, 65) gives 4,160 polyphase phases: at most 4,096 (stride₁ × stride₂ ≤ 4,096)
    """
    for name, (low, high, why) in BOUNDS.items():
        for v in _whole_numbers(arguments.get(name, low)):
            if v > high:
                raise TConvError(f"{label(name)}: {v} is too large: at most {high:,} ({why})")
            if v < -high:
                raise TConvError(f"{label(name)}: {v} is out of range: at least {low} and at most {high:,}")
    strides = _whole_numbers(arguments.get("stride", 1))
    phases = math.prod(strides) if min(strides, default=1) >= 1 else 0  # a stride below 1: the explainer's message
    if phases > MAX_PHASES:
        shown = tuple(strides) if len(strides) > 1 else strides[0]
        raise TConvError(
            f"{label('stride')}: {shown} gives {phases:,} polyphase phases: at most {MAX_PHASES:,} "
            f"(stride₁ × stride₂ ≤ {MAX_PHASES:,})"
        )


def strict_json(data: Any, output: np.ndarray | None = None, indent: int | None = None) -> str:
    """``data`` as standard JSON; a non-finite number (``inf``, ``nan``) is a :class:`TConvError` naming the cause.

    Parameters
    ----------
    data : Any
        JSON-ready values (:meth:`tconv.explainer.explanation.Explanation.to_dict`).
    output : numpy.ndarray, optional
        The explanation's output: the error says whether it overflowed, or only a step on the way.
    indent : int, optional
        As :func:`json.dumps`'s.

    Returns
    -------
    str
        The JSON text, which any standard parser reads.

    Raises
    ------
    TConvError
        ``"input, kernel: values too large for float64: … overflows to inf or nan, which JSON cannot carry …"``.

    >>> strict_json({"output": [1.0, 2.5]})
    '{"output": [1.0, 2.5]}'
    >>> strict_json({"output": [float("inf")]})
    Traceback (most recent call last):
    tconv.errors.TConvError: input, kernel: values too large for float64: a step of the explanation overflows to inf or nan, which JSON cannot carry (scale the input or the kernel down)
    """
    try:
        return json.dumps(data, allow_nan=False, indent=indent)
    except ValueError:
        where = "the output" if output is not None and not np.all(np.isfinite(output)) else "a step of the explanation"
        raise TConvError(
            f"input, kernel: values too large for float64: {where} overflows to inf or nan, which JSON cannot "
            "carry (scale the input or the kernel down)"
        ) from None
