"""Audit a model's up-samplers: which will paint a checkerboard, from their own weights.

``tconv.audit(path_or_onnx_model)`` reads an ONNX file (:mod:`.onnx_model`); ``tconv.torch.audit(module,
example_input)`` runs a torch module once with forward hooks (:mod:`.torch_model`). Both return an
:class:`Audit` (:mod:`.records`): it prints as the report, ``to_dict()`` is the JSON of
``tconv audit --json``, and a notebook shows it as a table. The measure is the *constant-response
imbalance* (:mod:`.phases`, NumPy only): how much of a layer's response to a constant input differs
from phase to phase. :mod:`.readings` says how onnxruntime and ``onnx.reference`` read a node's
attributes, and :mod:`.rewrite` writes a copy of an ONNX model with every ``ConvTranspose`` spelled
with explicit ``pads``. ``docs/audit.md`` tells the whole story.

Importing this package loads NumPy only; onnx and torch are imported by the modules that need them.
"""

from tconv.auditor.phases import constant_response, constant_response_imbalance, taps_per_phase
from tconv.auditor.records import Audit, Layer, Skipped

__all__ = [
    "audit",
    "Audit",
    "Layer",
    "Skipped",
    "constant_response",
    "constant_response_imbalance",
    "taps_per_phase",
]


def audit(model, *, input_shapes=None) -> Audit:
    """Audit an ONNX model's up-samplers: :func:`tconv.auditor.onnx_model.audit` (imports onnx).

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
    input_shapes : mapping of str (or None, the first input) to a shape, optional
        For graph inputs with symbolic sizes.

    Returns
    -------
    Audit
    """
    from tconv.auditor.onnx_model import audit as audit_onnx

    return audit_onnx(model, input_shapes=input_shapes)
