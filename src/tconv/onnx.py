"""``tconv.onnx``: ONNX ``ConvTranspose`` semantics — the public path of :mod:`tconv.interop.onnx`.

>>> import tconv.onnx
>>> tconv.onnx.conv_transpose([[[1.0, 2.0]]], [[[1.0, 1.0, 1.0]]], strides=[2]).tolist()
[[[1.0, 1.0, 3.0, 2.0, 2.0]]]
"""

from tconv.interop.onnx import *  # noqa: F403
from tconv.interop.onnx import __all__  # noqa: F401
