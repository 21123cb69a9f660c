"""What a call will do, before it does it: :func:`plan` returns a printable :class:`Plan`.

Like opt_einsum's ``PathInfo``, the plan is the seam between checking and computing: the
geometry, the method ``auto`` picks and why, the NumPy fast path's arrangement and why (its rule,
or with ``measure=True`` the arrangements' measured times), the work in multiply-adds, the memory
the call needs and the memory guard's verdict. :func:`tconv.conv_transpose` makes one for every
call and refuses, before allocating, a call whose plan does not fit.

>>> p = plan((8, 16, 32, 32), (16, 8, 4, 4), stride=2, padding=1)
>>> p.method, p.output_shape, p.fits
('gemm', (8, 8, 64, 64), True)
>>> print(p)                                                      # doctest: +ELLIPSIS
conv_transpose: (8, 16, 32, 32) -> (8, 8, 64, 64), weight (16, 8, 4, 4), groups 1
  axis 0: i=32 k=4 s=2 d=1 k_eff=4 F=(i-1)*s+k_eff=66 crop b=1 e=1 -> o=64
  axis 1: i=32 k=4 s=2 d=1 k_eff=4 F=(i-1)*s+k_eff=66 crop b=1 e=1 -> o=64
method:        gemm (auto: gemm: the one method with a fast path)
arrangement:   ... (NumPy fast path, rule: ...)
multiply-adds: 16,777,216 (16.8 M)
output:        1,048,576 bytes (float32)
workspace:     ... bytes at most
memory guard:  fits (limit ... bytes, ...)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tconv import methods, padding_modes
from tconv.arguments import transpose_geometry
from tconv.arrays import check_memory
from tconv.geometry import Geometry
from tconv.methods import choice, gemm_numpy
from tconv.resources import MemoryLimit, memory_limit

__all__ = ["Plan", "plan", "plan_geometry"]


@dataclass(frozen=True)
class Plan:
    """A checked call and how it will be computed (immutable; ``str(plan)`` is a report).

    Attributes
    ----------
    geometry
        The checked :class:`~tconv.geometry.Geometry` of the call.
    computed
        The geometry the method computes: ``geometry`` itself, or with a padding mode other than
        ``"zeros"`` its uncropped output, which :func:`tconv.padding_modes.fold` then folds back.
    padding_mode
        ``"zeros"``, ``"circular"``, ``"reflect"`` or ``"replicate"``.
    method
        The method that will run (``auto`` resolved).
    reason
        Why: ``"given"``, or the rule ``auto`` applied.
    choice
        Why that arrangement (:class:`tconv.methods.choice.Choice`): the rule that applied, or with
        ``measure=True`` the measured seconds of every arrangement that applies, fastest first;
        ``None`` where there is no arrangement.
    dtype
        The compute dtype's name.
    itemsize
        Bytes per element of the compute dtype.
    output_bytes, workspace_bytes
        The output's size, and an upper bound of what the method allocates besides it.
    """

    geometry: Geometry
    computed: Geometry
    padding_mode: str
    method: str
    reason: str
    choice: choice.Choice | None
    dtype: str
    itemsize: int
    output_bytes: int
    workspace_bytes: int

    @property
    def arrangement(self) -> str | None:
        """For ``gemm`` on NumPy arrays, the fast path's layout (one of
        :data:`tconv.methods.choice.ARRANGEMENTS`), as :attr:`choice` says; ``None`` otherwise."""
        return None if self.choice is None else self.choice.arrangement

    @property
    def limit(self) -> MemoryLimit:
        """The memory guard's limit and its source (:func:`tconv.resources.memory_limit`), read when
        asked: a plan is cached per geometry, and the memory available changes between calls."""
        return memory_limit()

    @property
    def limit_bytes(self) -> int:
        """:attr:`limit` in bytes."""
        return self.limit.bytes

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The shape of the result."""
        return self.geometry.output_shape

    @property
    def macs(self) -> int:
        """Useful multiply-adds (:attr:`Geometry.macs`)."""
        return self.geometry.macs

    @property
    def fits(self) -> bool:
        """The memory guard's verdict: output and workspace fit under the limit."""
        return self.output_bytes + self.workspace_bytes <= self.limit.bytes

    def check(self) -> None:
        """Raise :class:`~tconv.errors.TConvError` if the call would not fit in memory.

        Raises
        ------
        TConvError
            Output and workspace need more bytes than :attr:`limit_bytes`.
        """
        check_memory(
            lambda: f"conv_transpose to shape {self.output_shape} with method={self.method!r}",
            (self.output_bytes + self.workspace_bytes) // self.itemsize,
            self.itemsize,
        )

    def __str__(self) -> str:
        why = "given" if self.reason == "given" else f"auto: {self.reason}"
        lines = [
            str(self.geometry),
            f"method:        {self.method} ({why})",
        ]
        if self.choice is not None:
            if self.choice.measured:
                times = " < ".join(f"{a} {_ms(t)}" for a, t in self.choice.times)
                lines.append(f"arrangement:   {self.arrangement} (NumPy fast path, measured: {times})")
            else:
                lines.append(f"arrangement:   {self.arrangement} (NumPy fast path, rule: {self.choice.reason})")
        limit = self.limit
        verdict = "fits" if self.output_bytes + self.workspace_bytes <= limit.bytes else "REFUSED"
        if self.padding_mode != "zeros":
            lines.append(
                f"padding mode:  {self.padding_mode} (computes the uncropped {self.computed.large}, then folds)"
            )
        lines += [
            f"multiply-adds: {self.macs:,} ({_si(self.macs)})",
            f"output:        {self.output_bytes:,} bytes ({self.dtype})",
            f"workspace:     {self.workspace_bytes:,} bytes at most",
            f"memory guard:  {verdict} (limit {limit.bytes:,} bytes, {limit.source})",
        ]
        return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{1e3 * seconds:.3g} ms" if seconds >= 1e-3 else f"{1e6 * seconds:.3g} µs"


def _si(n: int) -> str:
    for scale, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return str(n)


def plan_geometry(
    g: Geometry,
    method: str = "auto",
    dtype: Any = "float32",
    *,
    numpy: bool = True,
    padding_mode: str = "zeros",
    measure: bool = False,
) -> Plan:
    """The :class:`Plan` of an already checked geometry (what :func:`tconv.conv_transpose` calls).

    Parameters
    ----------
    g
        A transposed geometry.
    method
        One of :data:`tconv.METHODS` or ``"auto"``.
    dtype
        The compute dtype (a NumPy dtype or its name; other libraries' dtypes by ``itemsize``).
    numpy
        Whether the arrays are NumPy arrays (the ``gemm`` fast path then has an arrangement).
    padding_mode
        As in :func:`tconv.conv_transpose` (checked against the geometry here).
    measure
        Time the fast path's arrangements (:func:`tconv.methods.choice.measure`) rather than take the
        rule's; ``method="measure"`` is ``method="auto"`` with ``measure=True``.
    """
    dtype_name, itemsize = _dtype_info(dtype)
    if method == "measure":
        method, measure = "auto", True
    if measure:  # not in the plan cache: the measured choice depends on the threads, and has its own cache
        measured = _plan(g, method, dtype_name, itemsize, numpy, padding_mode)
        if measured.arrangement is None:
            return measured
        measured.check()  # before the trial calls allocate
        timed = choice.measure(measured.computed, dtype_name, gemm_numpy.conv_transpose)
        return replace(measured, choice=timed)
    try:  # cached: a layer calls with the same geometry again and again, and a plan is immutable
        return _cached_plan(g, method, dtype_name, itemsize, numpy, padding_mode)
    except TypeError:  # an unhashable padding_mode: _plan refuses it
        return _plan(g, method, dtype_name, itemsize, numpy, padding_mode)


def _dtype_info(dtype: Any) -> tuple[str, int]:
    """``(name, itemsize)`` of a NumPy dtype or its name, or of another library's dtype (the plan's
    cache is keyed on these, not on dtype objects, which compare across libraries only with warnings)."""
    if isinstance(dtype, np.dtype):
        return _numpy_dtype_info(dtype)
    try:
        np_dtype = np.dtype(dtype)
        return np_dtype.name, np_dtype.itemsize
    except TypeError:  # a torch dtype, say
        return str(dtype), int(getattr(dtype, "itemsize", 4))


def _is_numpy_dtype(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


@functools.lru_cache(maxsize=64)
def _numpy_dtype_info(dtype: np.dtype) -> tuple[str, int]:
    return dtype.name, dtype.itemsize


def _plan(g: Geometry, method: str, dtype_name: str, itemsize: int, numpy: bool, padding_mode: str) -> Plan:
    methods.check_method(method, extra=("auto", "measure"))
    computed = g if padding_mode == "zeros" else padding_modes.uncropped(g, padding_mode)
    g_call, g = g, computed
    name, reason = methods.choose(g) if method == "auto" else (method, "given")
    rule = choice.rule(g, dtype_name if _is_numpy_dtype(dtype_name) else None) if name == "gemm" and numpy else None
    return Plan(
        geometry=g_call,
        computed=g,
        padding_mode=padding_mode,
        method=name,
        reason=reason,
        choice=rule,
        dtype=dtype_name,
        itemsize=itemsize,
        output_bytes=math.prod(g.output_shape) * itemsize,  # the computed output, which holds the call's
        workspace_bytes=methods.workspace(name, g) * itemsize,
    )


_cached_plan = functools.lru_cache(maxsize=1024)(_plan)


def plan(
    x_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    *,
    output_size: Any = None,
    padding_mode: str = "zeros",
    method: str = "auto",
    dtype: Any = "float32",
    bias_shape: tuple[int, ...] | None = None,
    measure: bool = False,
) -> Plan:
    """Plan ``conv_transpose`` for these shapes and arguments, computing nothing.

    Takes :func:`tconv.conv_transpose`'s arguments, with shapes in place of arrays, and the compute
    ``dtype``. ``print`` the result for a report.

    Parameters
    ----------
    x_shape, weight_shape
        ``(N, C_in, *i)`` or ``(C_in, *i)``, and ``(C_in, C_out/groups, *k)``.
    stride, padding, output_padding, groups, dilation, output_size, padding_mode
        As in :func:`tconv.conv_transpose`.
    method
        One of :data:`tconv.METHODS`, ``"auto"`` or ``"measure"`` (``"auto"`` with ``measure=True``).
    dtype
        The compute dtype, e.g. ``"float32"``.
    bias_shape
        The bias's shape, ``(C_out,)``, if the call has one (it is checked like the call checks it).
    measure
        For ``gemm`` on NumPy arrays: time every arrangement of the fast path on arrays of these
        shapes and take the fastest, rather than the rule's (:mod:`tconv.methods.choice`). Timed once
        per geometry, dtype and thread setting, then remembered for the process; the plan prints the
        times. Refused, like the call, if it would not fit in memory.

    Returns
    -------
    Plan
        The checked geometry, the method and why, the arrangement, the work and the memory.

    Raises
    ------
    TConvError
        The arguments break a rule (the message names it). A plan that does not fit in memory is
        returned, not raised: see :attr:`Plan.fits` and :meth:`Plan.check`.
    """
    g = transpose_geometry(
        x_shape,
        weight_shape,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size=output_size,
        bias_shape=bias_shape,
    )
    return plan_geometry(g, method, dtype, padding_mode=padding_mode, measure=measure)
