"""tconv: N-dimensional transposed convolution in NumPy, computed five ways, equal to PyTorch.

>>> import tconv
>>> tconv.conv_transpose([[[2, 2], [0, 2]]], [[[[1, 0], [0, 1]]]], method="scatter")
array([[[2, 2, 0],
        [0, 4, 2],
        [0, 0, 2]]])

``tconv.explain(x, w, stride=2)`` shows one transposed convolution step by step (an
:class:`Explanation`: text, JSON, and the interactive page in Jupyter). ``tconv.audit(path)`` finds
the up-samplers of an ONNX model and measures which will paint a checkerboard (an :class:`Audit`).

Only NumPy (and the small ``array-api-compat`` bridge) is imported here; ``tconv.torch`` imports
torch, the explainer's renderers import matplotlib and Pillow, each only when used.
"""

from tconv.api import CONV_METHODS, METHODS, choose_method, conv, conv_transpose
from tconv.arguments import conv_geometry, output_shape, transpose_geometry
from tconv.errors import TConvError, TConvTypeError
from tconv.geometry import Geometry
from tconv.methods.matrix import conv_matrix
from tconv.plan import Plan, plan
from tconv.resources import get_num_threads, set_num_threads

__version__ = "0.1.0"


def __getattr__(name: str):
    """``tconv.explain``, ``tconv.Explanation``, ``tconv.audit`` and ``tconv.Audit``, imported on first use (PEP 562): the explainer's
    modules are not needed to convolve, so ``import tconv`` does not load them."""
    if name in ("explain", "Explanation"):
        from tconv import explainer

        return getattr(explainer, name)
    if name in ("audit", "Audit"):
        import importlib  # by name: the auditor is an outer room, not part of the typed core

        return getattr(importlib.import_module("tconv.auditor"), name)
    raise AttributeError(f"module 'tconv' has no attribute {name!r}")


__all__ = [
    "conv_transpose",
    "conv",
    "METHODS",
    "CONV_METHODS",
    "choose_method",
    "output_shape",
    "transpose_geometry",
    "conv_geometry",
    "Geometry",
    "conv_matrix",
    "plan",
    "Plan",
    "set_num_threads",
    "get_num_threads",
    "explain",
    "Explanation",
    "audit",
    "Audit",
    "TConvError",
    "TConvTypeError",
    "__version__",
]
