"""The explainer's step records: one dataclass per kind of step, holding NumPy arrays and numbers.

Every renderer — the terminal text, the pictures, the JSON (``tconv explain --json`` and the web API
of ``tconv serve``) — reads these typed fields; nothing is looked up by string key. The JSON is made
from them by :func:`plain`: each record's fields, in order, become one object; arrays become nested
lists. (:meth:`~tconv.explainer.explanation.Explanation.to_dict` puts each step's ``title`` first, in
the explanation's language.)

>>> s = GemmStep(columns=None, shape=[9, 4], taps=[[0]])
>>> s.kind, plain(s)["shape"]
('gemm', [9, 4])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "ShapeAxis",
    "ShapeStep",
    "Stamp",
    "ScatterStep",
    "Window",
    "ZeroInsertStep",
    "MatrixStep",
    "GemmStep",
    "Phase",
    "PolyphaseStep",
    "TorchCheck",
    "ResultStep",
    "OrthonormalDemo",
    "AdjointStep",
    "Contribution",
    "OutputChannel",
    "ChannelsStep",
    "Step",
    "plain",
]


def plain(v: Any) -> Any:
    """``v`` as JSON-ready Python values: records become dicts, arrays nested lists.

    >>> plain({"a": np.arange(3), "b": (np.int64(2), 1.5)})
    {'a': [0, 1, 2], 'b': [2, 1.5]}
    """
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        out = {}
        for f in dataclasses.fields(v):
            value = getattr(v, f.name)
            if value is _OMIT:  # fields that the JSON leaves out when they do not apply
                continue
            out[f.name] = plain(value)
        return out
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


class _Omitted:
    """Marks a field that is absent from the JSON (e.g. PyTorch's numbers when PyTorch is missing)."""

    def __repr__(self) -> str:
        return "OMIT"


_OMIT: Any = _Omitted()


# ---- 1. the output size ------------------------------------------------------------------------


@dataclass
class ShapeAxis:
    """One axis of ``o = (i−1)·s + d·(k−1) + 1 − b − e + op``: the numbers and the formula written out.

    ``begin`` and ``end`` are the crops ``b`` and ``e`` of the full output ``F``; ``output_padding``
    (``op``) is appended after the crop. ``e < 0`` means zeros appended (``same`` with ``k_eff < s``).
    """

    i: int
    k: int
    s: int
    d: int
    k_eff: int
    full: int
    begin: int
    end: int
    output_padding: int
    o: int
    formula: str
    numbers: str


@dataclass
class ShapeStep:
    axes: list[ShapeAxis]
    notes: list[str]
    kind: ClassVar[str] = "shape"


# ---- 2-6. the five methods ---------------------------------------------------------------------


@dataclass
class Stamp:
    """``value·w`` added at ``at = index·s``; ``sum`` is the running sum after it."""

    index: list[int]
    value: Any
    at: list[int]
    stamp: np.ndarray
    sum: np.ndarray


@dataclass
class ScatterStep:
    """``full[i·s + t·d] += x[i]·w[t]`` for the first stamps (``more`` not kept), then the crop.

    The output is ``full[b : F − e]``, then ``output_padding`` zeros appended: ``begin`` is ``b``,
    ``end`` is ``e`` (the end crop, as in the shape step and ``tconv convert``).
    """

    stamps: list[Stamp]
    more: int
    full: np.ndarray
    begin: list[int]
    end: list[int]
    output_padding: list[int]
    output: np.ndarray
    kind: ClassVar[str] = "scatter"


@dataclass
class Window:
    """``y[out] = Σ patch · flip(w)``: one output position of zero insertion."""

    out: list[int]
    patch: np.ndarray
    sum: Any


@dataclass
class ZeroInsertStep:
    """Zeros inserted (``stretched``), padded (``padded``; ``origin``: 2 input, 1 inserted zero, 0 padding),
    and a stride-1 correlation with ``flipped``; ``unflipped_output`` is the trap of forgetting the flip."""

    stretched: np.ndarray
    pad_before: list[int]
    pad_after: list[int]
    padded: np.ndarray
    origin: np.ndarray
    flipped: np.ndarray
    symmetric: bool
    windows: list[Window]
    more: int
    output: np.ndarray
    unflipped_output: np.ndarray
    multiplications: int
    zero_multiplications: int
    kind: ClassVar[str] = "zero_insert"


@dataclass
class MatrixStep:
    """``C`` (a row per input position, a column per output position) and ``Cᵀx``; ``None`` when too big."""

    rows: int
    columns: int
    C: np.ndarray | None = None
    x: np.ndarray | None = _OMIT
    Ct_x: np.ndarray | None = _OMIT
    kind: ClassVar[str] = "matrix"


@dataclass
class GemmStep:
    """``cols[t, i] = w[t]·x[i]`` (``None`` when too big to write out); ``taps`` names the rows."""

    columns: np.ndarray | None
    shape: list[int]
    taps: list[list[int]]
    kind: ClassVar[str] = "gemm"


@dataclass
class Phase:
    """Outputs ``y[first::s]`` use only ``taps`` (``count`` of them): the ``sub_kernel``."""

    phase: list[int]
    taps: list[list[int]]
    count: int
    sub_kernel: np.ndarray
    first: list[int]
    values: np.ndarray


@dataclass
class PolyphaseStep:
    phases: list[Phase]
    counts: list[int]
    even: bool
    kind: ClassVar[str] = "polyphase"


# ---- 7. the result, 8. the adjoint ---------------------------------------------------------------


@dataclass
class TorchCheck:
    """PyTorch on the same numbers, or why it was not run (then only ``available`` and ``reason``)."""

    available: bool
    reason: str = _OMIT
    version: str = _OMIT
    call: str = _OMIT
    output: np.ndarray = _OMIT
    equal: bool = _OMIT
    max_abs_diff: float = _OMIT


@dataclass
class ResultStep:
    """The output, each method's agreement, the steps' own sums' agreement, PyTorch, and the overlap map.

    ``overlap[o]`` counts the taps landing on output ``o`` (``conv_transpose`` of ones with ones):
    uneven counts are the checkerboard pattern.
    """

    output: np.ndarray
    methods: dict[str, bool]
    steps_agree: dict[str, bool]
    torch: TorchCheck
    agree: bool
    overlap: np.ndarray
    kind: ClassVar[str] = "result"


@dataclass
class OrthonormalDemo:
    """A kernel ``w'`` whose ``C`` has orthonormal rows, with the user's stride and dilation.

    ``k' = s / gcd(s, d)`` taps of value ``1/√Πk'``: stamps of neighbouring inputs never meet, each row
    of ``C`` has unit norm. The user's padding is kept unless it crops a stamp (``kept_padding``, ``why``).
    """

    kernel: np.ndarray
    stride: list[int]
    dilation: list[int]
    padding: Any
    output_padding: Any
    kept_padding: bool
    why: str
    conv_transpose: np.ndarray
    conv_back: np.ndarray
    equal: bool


@dataclass
class AdjointStep:
    """``conv(y) = C Cᵀ x`` next to ``x``, and what ``C Cᵀ`` is.

    ``diagonal``: ``C Cᵀ`` is diagonal (no two stamps meet where both have weight); ``scale``: the
    ``c`` in ``C Cᵀ = c·I`` when it is a multiple of the identity, else ``None``; ``identity``: ``c = 1``.
    The three are ``None`` when ``C`` is too big to write out.
    """

    conv_of_output: np.ndarray
    input: np.ndarray
    equal: bool
    CCt: np.ndarray | None
    identity: bool | None
    diagonal: bool | None
    scale: float | None
    overlap: bool
    kernel_norm2: Any
    orthonormal_example: OrthonormalDemo
    kind: ClassVar[str] = "adjoint"


# ---- channels -----------------------------------------------------------------------------------


@dataclass
class Contribution:
    """Input channel ``in_channel`` through kernel ``weight[in_channel, j]``: ``partial`` adds into one output."""

    in_channel: int
    kernel_index: list[int]
    kernel: np.ndarray
    partial: np.ndarray


@dataclass
class OutputChannel:
    """``y[c] = Σ`` of its group's input channels' partial outputs (the first few kept in ``contributions``)."""

    channel: int
    group: int
    in_channels: list[int]
    contributions: list[Contribution]
    output: np.ndarray


@dataclass
class ChannelsStep:
    """How input channels sum into output channels, and how ``groups`` splits them.

    Output channel ``c`` is in group ``g = c // (C_out/G)`` and reads the input channels
    ``[g·C_in/G, (g+1)·C_in/G)``: ``y[c] = Σ_ci conv_transpose(x[ci], w[ci, c mod C_out/G])``.
    """

    in_channels: int
    out_channels: int
    groups: int
    weight_shape: list[int]
    outputs: list[OutputChannel]
    more_outputs: int
    kind: ClassVar[str] = "channels"


#: Any one step.
Step = (
    ShapeStep
    | ChannelsStep
    | ScatterStep
    | ZeroInsertStep
    | MatrixStep
    | GemmStep
    | PolyphaseStep
    | ResultStep
    | AdjointStep
)
