"""The web API: ``GET /api/explain`` answers exactly what ``tconv explain --json`` prints.

Query names are the CLI's long options with ``_`` for ``-`` (``input``, ``kernel``, ``stride``,
``padding``, ``output_padding``, ``dilation``, ``groups``, ``method``, ``example``, ``no_torch``);
matrices are written as on the command line (rows split by ``;``, channels by ``|``). A mistake is
a :class:`tconv.TConvError` naming the parameter, which the server answers with HTTP 400.

The whole numbers are bounded before anything is computed (:data:`BOUNDS`, and at most
:data:`MAX_PHASES` polyphase phases), and the answer is standard JSON: a result too large for
float64 (``inf`` or ``nan``, which JSON cannot carry) is refused, naming ``input, kernel``.

>>> import json
>>> d = json.loads(explain_json("input=1+2&kernel=1+10+100&stride=2&no_torch=1"))
>>> d["output"]
[1, 10, 102, 20, 200]
>>> explain_json("input=1+2&kernel=1&stride=two")
Traceback (most recent call last):
tconv.errors.TConvError: stride: 'two' must be a whole number or one per axis, like 2 or 2,1
>>> explain_json("input=1+2&kernel=1&dilation=99999999999")
Traceback (most recent call last):
tconv.errors.TConvError: dilation: 99999999999 is too large: at most 1,048,576 (the explainer draws at most 262,144 elements)
"""

from __future__ import annotations

import json
import math
from urllib.parse import parse_qs

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.compute import MAX_CHANNELS, MAX_FULL, explain
from tconv.explainer.parse import OPTIONS, explain_arguments

__all__ = ["explain_json", "query_arguments", "check_bounds", "strict_json", "QUERY_NAMES", "BOUNDS", "MAX_PHASES"]

#: Every query parameter the API reads.
QUERY_NAMES = (*OPTIONS, "no_torch")

#: The smallest and largest value of each whole-number parameter, on every axis, and why the largest.
#: A value below the smallest but within the largest's magnitude is left to the explainer's own
#: message (``stride=0 must be positive``), as are the rules between parameters.
BOUNDS = {
    "stride": (1, 4096, "the polyphase step draws one sub-kernel per phase, stride₁ × stride₂ phases"),
    "dilation": (1, 2**20, f"the explainer draws at most {MAX_FULL:,} elements"),
    "padding": (0, 2**20, f"the explainer draws at most {MAX_FULL:,} elements"),
    "output_padding": (0, 2**20, f"the explainer draws at most {MAX_FULL:,} elements"),
    "groups": (1, MAX_CHANNELS, f"the explainer takes at most {MAX_CHANNELS} channels"),
}

#: The most polyphase phases (the product of the strides) an explanation draws.
MAX_PHASES = 4096


def query_arguments(query: str) -> tuple[dict[str, str], bool]:
    """The query's parameters as text (each given once, every name known) and whether ``no_torch`` is set.

    >>> query_arguments("input=1+2&kernel=1&no_torch=1")
    ({'input': '1 2', 'kernel': '1'}, True)
    """
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=len(QUERY_NAMES) * 2)
    except ValueError as exc:
        raise TConvError(f"query: {exc}") from None
    unknown = sorted(set(values) - set(QUERY_NAMES))
    if unknown:
        raise TConvError(f"{unknown[0]}: unknown parameter (known: {', '.join(QUERY_NAMES)})")
    for name, v in values.items():
        if len(v) > 1:
            raise TConvError(f"{name}: given {len(v)} times; give it once")
    one = {name: v[0] for name, v in values.items()}
    no_torch = one.pop("no_torch", "0").strip().lower() not in ("", "0", "false", "no")
    return one, no_torch


def _values(value) -> list[int]:
    """Every whole number of a parsed per-axis value (``2``, ``(2, 1)``, ``((1, 0), (0, 1))``); none for ``same``."""
    if isinstance(value, str):
        return []
    if isinstance(value, (tuple, list)):
        return [v for part in value for v in _values(part)]
    return [int(value)]


def check_bounds(arguments: dict) -> None:
    """Refuse a whole number out of :data:`BOUNDS`, or more than :data:`MAX_PHASES` phases, naming the parameter.

    Parameters
    ----------
    arguments : dict
        :func:`tconv.explainer.parse.explain_arguments`'s answer (before anything is computed).

    Raises
    ------
    TConvError
        ``"<parameter>: <value> is too large: at most <bound> (<why>)"``, or ``"… is out of range …"``.

    >>> check_bounds({"stride": (64, 65), "dilation": 1, "padding": "same", "output_padding": 0, "groups": 1})
    Traceback (most recent call last):
    tconv.errors.TConvError: stride: (64, 65) gives 4,160 polyphase phases: at most 4,096 (stride₁ × stride₂ ≤ 4,096)
    """
    for name, (low, high, why) in BOUNDS.items():
        for v in _values(arguments.get(name, low)):
            if v > high:
                raise TConvError(f"{name}: {v} is too large: at most {high:,} ({why})")
            if v < -high:
                raise TConvError(f"{name}: {v} is out of range: at least {low} and at most {high:,}")
    strides = _values(arguments.get("stride", 1))
    phases = math.prod(strides) if min(strides, default=1) >= 1 else 0  # a stride below 1: the explainer's message
    if phases > MAX_PHASES:
        raise TConvError(
            f"stride: {arguments['stride']} gives {phases:,} polyphase phases: at most {MAX_PHASES:,} "
            f"(stride₁ × stride₂ ≤ {MAX_PHASES:,})"
        )


def strict_json(data: dict, output=None) -> str:
    """``data`` as standard JSON; a non-finite number (``inf``, ``nan``) is a :class:`TConvError` naming the cause.

    >>> strict_json({"output": [1.0, 2.5]})
    '{"output": [1.0, 2.5]}'
    >>> strict_json({"output": [float("inf")]})
    Traceback (most recent call last):
    tconv.errors.TConvError: input, kernel: values too large for float64: a step of the explanation overflows to inf or nan, which JSON cannot carry (scale the input or the kernel down)
    """
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError:
        where = "the output" if output is not None and not np.all(np.isfinite(output)) else "a step of the explanation"
        raise TConvError(
            f"input, kernel: values too large for float64: {where} overflows to inf or nan, which JSON cannot "
            "carry (scale the input or the kernel down)"
        ) from None


def explain_json(query: str) -> str:
    """The JSON for a URL's query string (``TConvError`` naming the parameter on bad input).

    Parameters
    ----------
    query : str
        The URL's query, like ``input=1+2&kernel=1+1&stride=2``.

    Returns
    -------
    str
        Standard JSON (no ``NaN`` or ``Infinity``): what ``tconv explain --json`` prints.

    Raises
    ------
    TConvError
        A bad, unknown or out-of-range parameter, or a result JSON cannot carry, before any large allocation.
    """
    one, no_torch = query_arguments(query)
    a = explain_arguments(one, cli=False)
    check_bounds(a)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, not warned about on stderr
        e = explain(**a, torch_check=not no_torch)
    return strict_json(e.to_dict(), e.output)
