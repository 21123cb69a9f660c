"""The audit as typed records: one :class:`Layer` per up-sampler, :class:`Skipped` ones, the :class:`Audit`.

``Audit.to_dict()`` is the JSON of ``tconv audit --json``: ``{"model": ..., "layers": [...], ...}``,
each layer's fields named as in :class:`Layer` (a field that does not apply to a layer — a kernel
for a ``Resize`` — is left out). ``str(audit)`` is the report; in a notebook ``_repr_html_`` shows it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

__all__ = ["Layer", "Skipped", "Audit", "Shape"]

#: A tensor shape; a dimension the graph leaves symbolic (a dynamic batch) is its name.
Shape = tuple[int | str, ...]


@dataclass(frozen=True)
class Layer:
    """One up-sampling layer, in graph (or call) order.

    Per spatial axis: ``kernel``, ``stride``, ``dilation``, ``output_padding``, and ``crop`` ``(b, e)``,
    the canonical crop of the full output ``F = (i−1)·s + d·(k−1) + 1`` (negative: zeros added);
    ``taps_per_phase[a][φ]`` counts the taps ``t`` with ``(t·d) mod s = φ``. ``constant_response_imbalance``
    is :func:`tconv.auditor.phases.constant_response_imbalance` of the layer's weights.
    """

    name: str
    op: str
    input_shape: Shape
    output_shape: Shape
    kernel: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    dilation: tuple[int, ...] | None = None
    crop: tuple[tuple[int, int], ...] | None = None
    output_padding: tuple[int, ...] | None = None
    groups: int | None = None
    taps_per_phase: tuple[tuple[int, ...], ...] | None = None
    uneven_overlap: bool | None = None
    constant_response_imbalance: float | None = None
    ambiguous: tuple[str, ...] = ()
    advice: str = ""
    verdict: str = ""
    module: str | None = None  # the torch module path (for ONNX: from the exporter's name scopes)
    feeds_from: str | None = None  # the convolution whose output a DepthToSpace / PixelShuffle rearranges
    mode: str | None = None  # Resize / Upsample mode, DepthToSpace mode
    scale: tuple[float, ...] | None = None  # Resize / Upsample: output size over input size, per axis
    worst_channel: int | None = None  # the output channel furthest from phase balance
    explain: str | None = None  # the tconv command that shows the layer's geometry (and its constant response)
    serve_url: str | None = None  # the same in tconv serve's page
    calls: int = 1  # torch: how many times the module ran in the example forward pass

    def to_dict(self) -> dict:
        """The layer's JSON object: lists for tuples, and no key for a field that does not apply (None)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = _plain(value)
        return out


@dataclass(frozen=True)
class Skipped:
    """An up-sampling node or module the audit found and could not measure, with the reason."""

    name: str
    op: str
    reason: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Audit:
    """The audit of one model: ``model`` (a path or a class name), where it came from, its layers."""

    model: str
    source: str  # "onnx" or "torch"
    layers: tuple[Layer, ...]
    skipped: tuple[Skipped, ...] = ()
    opset: int | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """``{"model", "source", "opset", "layers", "skipped", "notes"}`` (``opset`` only for ONNX)."""
        out: dict = {"model": self.model, "source": self.source}
        if self.opset is not None:
            out["opset"] = self.opset
        out["layers"] = [layer.to_dict() for layer in self.layers]
        out["skipped"] = [s.to_dict() for s in self.skipped]
        out["notes"] = list(self.notes)
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (its node name, or its torch module path)."""
        for layer in self.layers:
            if name in (layer.name, layer.module):
                return layer
        raise KeyError(name)

    def __str__(self) -> str:
        from tconv.auditor.report import render_text

        return render_text(self)

    def _repr_html_(self) -> str:
        from tconv.auditor.report import render_html

        return render_html(self)


def _plain(value):
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value)
    return value
