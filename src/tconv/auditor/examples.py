"""The example models of ``docs/audit.md``, written by ``tconv audit --write-examples DIR``.

* ``dcgan.onnx`` — Radford et al.'s DCGAN generator (narrowed: 8 noise channels → 3×32×32), as
  ``torch.nn`` initialises it after ``torch.manual_seed(0)``, exported by ``torch.onnx.export``
  (which folds each batch norm into the transposed convolution before it). Needs torch and onnxscript.
* ``ambiguous.onnx`` — three ``ConvTranspose`` nodes built with ``onnx.helper``, each spelled in a way
  runtimes have read differently: ``auto_pad="SAME_UPPER"`` with an odd total crop, ``output_shape``
  together with ``pads``, and ``SAME_LOWER`` with a kernel shorter than the stride (the output the
  spec asks for is larger than the full output). Weights drawn from NumPy's generator, seed 0.
"""

from __future__ import annotations

import logging
import pathlib
import warnings

import numpy as np

from tconv.errors import TConvError

__all__ = ["write_examples", "ambiguous_model", "dcgan_generator"]


def ambiguous_model():
    """The ``ambiguous.onnx`` model (opset 18): ``X (1, 2, 4, 4)`` → three ``ConvTranspose`` → ``Y``."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    w2 = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    w3 = rng.standard_normal((2, 1, 1, 1)).astype(np.float32)
    nodes = [
        # k = 3, s = 2, o = i·s: T = F − o = 1 is odd — which end loses the extra cell?
        helper.make_node("ConvTranspose", ["X", "W1"], ["A"], name="same_upper", strides=[2, 2], auto_pad="SAME_UPPER"),
        # output_shape with pads: the spec and onnxruntime ignore the pads; onnx.reference crops b = 0, not 1
        helper.make_node(
            "ConvTranspose",
            ["A", "W2"],
            ["B"],
            name="output_shape_and_pads",
            strides=[2, 2],
            output_shape=[16, 16],
            pads=[0, 0, 1, 1],
        ),
        # k = 1 < s = 2 with SAME_LOWER: o = i·s is one more than the full output F
        helper.make_node(
            "ConvTranspose", ["B", "W3"], ["Y"], name="same_lower_k1", strides=[2, 2], auto_pad="SAME_LOWER"
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "ambiguous",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", "C", "H", "W"])],  # readers differ on H, W
        [numpy_helper.from_array(w, n) for w, n in ((w1, "W1"), (w2, "W2"), (w3, "W3"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="tconv")
    model.ir_version = 8
    return model


def dcgan_generator(z: int = 8, width: int = 4, channels: int = 3):
    """Radford et al.'s DCGAN generator, narrowed: ``(N, z, 1, 1)`` noise → ``(N, channels, 32, 32)``."""
    from torch import nn

    w = width
    return nn.Sequential(
        nn.ConvTranspose2d(z, 8 * w, 4, 1, 0, bias=False),
        nn.BatchNorm2d(8 * w),
        nn.ReLU(True),
        nn.ConvTranspose2d(8 * w, 4 * w, 4, 2, 1, bias=False),
        nn.BatchNorm2d(4 * w),
        nn.ReLU(True),
        nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
        nn.BatchNorm2d(2 * w),
        nn.ReLU(True),
        nn.ConvTranspose2d(2 * w, channels, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def export_quietly(model, example, path) -> None:
    """``torch.onnx.export`` (its default exporter), without its progress lines and warnings."""
    import contextlib
    import io

    import torch

    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model, example, str(path), dynamo=True, verbose=False)
    finally:
        quiet.setLevel(level)


def write_examples(folder) -> list[pathlib.Path]:
    """Write ``ambiguous.onnx`` and ``dcgan.onnx`` into ``folder`` (made if missing); returns their paths."""
    import onnx

    out = pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "ambiguous.onnx"]
    onnx.save(ambiguous_model(), str(written[0]))
    try:
        import torch
    except ImportError:
        raise TConvError("--write-examples: dcgan.onnx needs torch (pip install 'tconv[torch,onnx]')") from None
    torch.manual_seed(0)
    generator = dcgan_generator().eval()
    export_quietly(generator, (torch.zeros(1, 8, 1, 1),), out / "dcgan.onnx")
    written.append(out / "dcgan.onnx")
    return written
