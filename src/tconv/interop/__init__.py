"""Interop: the same transposed convolution in other frameworks' conventions.

* :mod:`tconv.interop.frameworks` — a :class:`~tconv.geometry.Geometry` as each framework's arguments
  (PyTorch's ``padding``/``output_padding`` and the crop left over), used by the torch layer, the
  benchmark and the explainer;
* :mod:`tconv.interop.convert` — exact conversion between PyTorch, ONNX, TensorFlow/Keras, JAX, MLX;
* :mod:`tconv.interop.layouts` — moving kernels and activations between layouts;
* :mod:`tconv.interop.onnx` — ONNX ``ConvTranspose`` semantics, and running ONNX nodes and models.
"""
