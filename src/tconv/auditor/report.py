"""The audit as a report: a table, one row per up-sampling layer, then each layer's advice and the
command that shows it; as text (``str(audit)``, ``tconv audit``) and as HTML (a notebook)."""

from __future__ import annotations

import html

from tconv.auditor.records import Audit, Layer

__all__ = ["render_text", "render_html", "COLUMNS"]

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
