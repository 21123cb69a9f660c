"""The audit as typed records: one :class:`Layer` per up-sampler, :class:`Skipped` ones, the :class:`Audit`.

``Audit.to_dict()`` is the JSON of ``tconv audit --json``: ``{"model": ..., "layers": [...], ...}``,
each layer's fields named as in :class:`Layer` (a field that does not apply to a layer — a kernel
for a ``Resize`` — is left out). ``str(audit)`` is the report (:func:`render_text`): a table, one row per layer, then each layer's
advice and the command that shows it; in a notebook ``_repr_html_`` shows it (:func:`render_html`).
"""

from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass, field

__all__ = ["Layer", "Skipped", "Audit", "Shape", "FIELDS", "render_text", "render_html", "COLUMNS"]

#: The fields every transposed convolution's JSON object has, as ``tconv audit --json`` promises.
FIELDS = (
    "name",
    "op",
    "input_shape",
    "output_shape",
    "kernel",
    "stride",
    "dilation",
    "crop",
    "output_padding",
    "groups",
    "taps_per_phase",
    "uneven_overlap",
    "constant_response_imbalance",
    "ambiguous",
    "advice",
)

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
        """The layer's JSON object: lists for tuples, and no key for a field that does not apply (None) —
        except that a transposed convolution always has every field of :data:`FIELDS` (null: not measured)."""
        fixed = FIELDS if self.op.startswith("ConvTranspose") else ()
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None or f.name in fixed
        }


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
        return render_text(self)

    def _repr_html_(self) -> str:
        return render_html(self)


def _plain(value):
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value)
    return value


# ---- the report ---------------------------------------------------------------------------------

COLUMNS = ("#", "layer", "op", "kernel", "stride", "crop", "output", "taps/phase", "imbalance", "verdict")


def _x(values) -> str:
    return "-" if values is None else "x".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _row(n: int, layer: Layer) -> tuple[str, ...]:
    crop = "-" if layer.crop is None else ",".join(f"{b}:{e}" for b, e in layer.crop)
    taps = "-" if layer.taps_per_phase is None else " x ".join(",".join(map(str, a)) for a in layer.taps_per_phase)
    imbalance = "-" if layer.constant_response_imbalance is None else f"{layer.constant_response_imbalance:.3f}"
    stride = _x(layer.stride) if layer.stride is not None else _x(layer.scale)
    shape = "(" + ", ".join(str(d) for d in layer.output_shape) + ")"
    return (str(n), layer.name, layer.op, _x(layer.kernel), stride, crop, shape, taps, imbalance, layer.verdict)


def _headline(audit: Audit) -> str:
    where = (
        "ONNX" + (f", opset {audit.opset}" if audit.opset is not None else "") if audit.source == "onnx" else "torch"
    )
    count = len(audit.layers)
    return f"tconv audit: {audit.model} ({where}): {count} up-sampling layer{'s' if count != 1 else ''}"


def render_text(audit: Audit) -> str:
    """The report as plain text (what ``tconv audit`` prints)."""
    lines = [_headline(audit)]
    if audit.layers:
        rows = [COLUMNS, *(_row(n, layer) for n, layer in enumerate(audit.layers, 1))]
        widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
        for r in rows:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    for n, layer in enumerate(audit.layers, 1):
        where = f" (module {layer.module})" if layer.module and layer.module != layer.name else ""
        calls = f", called {layer.calls} times" if layer.calls > 1 else ""
        fed = f", fed by {layer.feeds_from}" if layer.feeds_from else ""
        lines.append(f"{n}. {layer.name}{where}{fed}{calls}: {layer.advice}")
        if layer.explain:
            lines.append(f"   see: {layer.explain}")
        if layer.serve_url:
            lines.append(f"        {layer.serve_url}")
        lines += [f"   ambiguous: {a}" for a in layer.ambiguous]
    lines += [f"skipped: {s.name} ({s.op}): {s.reason}" for s in audit.skipped]
    lines += [f"note: {note}" for note in audit.notes]
    measured = [la for la in audit.layers if la.constant_response_imbalance is not None]
    if measured:
        worst = max(measured, key=lambda la: la.constant_response_imbalance or 0.0)
        lines.append(
            f"largest constant-response imbalance: {worst.constant_response_imbalance:.3f} ({worst.name}); "
            "0 is flat, 1 a pure checkerboard"
        )
    return "\n".join(lines)


def render_html(audit: Audit) -> str:
    """The report as an HTML table (a notebook's ``_repr_html_``)."""
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in (*COLUMNS, "advice"))
    body = []
    for n, layer in enumerate(audit.layers, 1):
        cells = "".join(f"<td>{e(c)}</td>" for c in _row(n, layer))
        notes = [e(layer.advice)]
        if layer.explain:
            notes.append(f"<code>{e(layer.explain)}</code>")
        if layer.serve_url:
            notes.append(f'<a href="{e(layer.serve_url)}">tconv serve</a>')
        notes += [f"<b>ambiguous:</b> {e(a)}" for a in layer.ambiguous]
        body.append(f"<tr>{cells}<td>{'<br>'.join(notes)}</td></tr>")
    skipped = "".join(f"<li>{e(s.name)} ({e(s.op)}): {e(s.reason)}</li>" for s in audit.skipped)
    notes = "".join(f"<li>{e(note)}</li>" for note in audit.notes)
    return (
        f"<div class='tconv-audit'><p>{e(_headline(audit))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        + (f"<p>skipped:</p><ul>{skipped}</ul>" if skipped else "")
        + (f"<ul>{notes}</ul>" if notes else "")
        + "</div>"
    )
