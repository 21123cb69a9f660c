"""ONNX export of models with tconv's layers: each tconv operator becomes a standard ONNX node.

``torch.onnx.export`` (its default, ``torch.export``-based exporter) sees ``tconv::conv_transpose``
as one node of the exported program and needs to be told what it is in ONNX: a ``ConvTranspose``.
PyTorch offers no global registry for the exporter, only its ``custom_translation_table``
argument, so :func:`export_onnx` passes :func:`onnx_translations` for you (or pass that table
yourself). The translation needs ``onnxscript``, which the exporter needs anyway.

The geometry maps one to one: the operator's crops ``b`` (``begin``) and ``e`` (``end``) of the full
output ``F = (i−1)·s + k_eff`` are ONNX's ``pads`` — begin values, then end values — where
``e ≥ 0``; a negative ``e`` (zeros appended: ``output_padding``, or TensorFlow's "same" with
``k_eff < s``) is ONNX's ``output_padding = −e``. ``tconv::conv`` becomes ``Conv`` with the same pads
(a negative ``e`` there: the input's last ``−e`` positions are never read, so they are sliced off).
``tconv::weight_correlation`` and ``tconv::columns`` occur only in backward graphs, which ONNX
export does not produce.
"""

from __future__ import annotations

__all__ = ["onnx_translations", "export_onnx"]


def onnx_translations() -> dict:
    """``{operator: translation}`` for ``torch.onnx.export(..., custom_translation_table=...)``."""
    import torch
    from onnxscript import opset18 as op

    from tconv.torch import ops  # noqa: F401  (registers the operators torch.ops.tconv.* on import)

    def conv_transpose(x, weight, bias, stride, dilation, begin, end, groups, method, conv_method):
        inputs = (x, weight) if bias is None else (x, weight, bias)
        return op.ConvTranspose(
            *inputs,
            strides=list(stride),
            dilations=list(dilation),
            pads=[*begin, *(max(e, 0) for e in end)],
            output_padding=[max(-e, 0) for e in end],
            group=groups,
        )

    def conv(y, weight, bias, cols, stride, dilation, begin, end, groups, method, conv_method):
        unread = [(2 + a, e) for a, e in enumerate(end) if e < 0]
        if unread:  # ends = e < 0 counts from the end: keep the first o + e positions
            axes, ends = [a for a, _ in unread], [e for _, e in unread]
            y = op.Slice(
                y, op.Constant(value_ints=[0] * len(axes)), op.Constant(value_ints=ends), op.Constant(value_ints=axes)
            )
        inputs = (y, weight) if bias is None else (y, weight, bias)
        return op.Conv(
            *inputs,
            strides=list(stride),
            dilations=list(dilation),
            pads=[*begin, *(max(e, 0) for e in end)],
            group=groups,
        )

    # The exporter's table is keyed by OpOverload: torch.ops.tconv.<name>.default is the public name of each.
    return {torch.ops.tconv.conv_transpose.default: conv_transpose, torch.ops.tconv.conv.default: conv}


def export_onnx(model, args, f=None, **kwargs):
    """``torch.onnx.export(model, args, f, **kwargs)`` with tconv's translations added to any given
    ``custom_translation_table``. Returns the ``ONNXProgram``.

    Raises
    ------
    TConvError
        ``dynamo=False`` (the TorchScript exporter, deprecated since PyTorch 2.9): it has no
        translation for tconv's operators.
    """
    import torch

    from tconv.errors import TConvError

    if kwargs.get("dynamo", True) is False:
        raise TConvError(
            "dynamo=False: the deprecated TorchScript-based exporter has no translation for tconv's operators; "
            "use the default exporter (dynamo=True)"
        )
    table = {**onnx_translations(), **(kwargs.pop("custom_translation_table", None) or {})}
    return torch.onnx.export(model, args, f, custom_translation_table=table, **kwargs)
