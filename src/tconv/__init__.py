"""tconv: N-dimensional transposed convolution in NumPy, computed five ways, equal to PyTorch.

>>> import tconv
>>> tconv.conv_transpose([[[2, 2], [0, 2]]], [[[[1, 0], [0, 1]]]], method="scatter")
array([[[2, 2, 0],
        [0, 4, 2],
        [0, 0, 2]]])

Only NumPy (and the small ``array-api-compat`` bridge) is imported here; ``tconv.torch`` imports
torch, the explainer's renderers import matplotlib and Pillow, each only when used.
"""

from .api import CONV_METHODS, METHODS, choose_method, conv, conv_transpose
from .errors import TConvError, TConvTypeError
from .geometry import Geometry, conv_geometry, output_shape, transpose_geometry
from .matrix import conv_matrix

__version__ = "0.1.0"

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
    "TConvError",
    "TConvTypeError",
    "__version__",
]
