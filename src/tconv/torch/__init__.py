"""tconv on PyTorch: differentiable functions, drop-in layers, a model swapper, up-sampling layers.

Importing ``tconv.torch`` imports torch (``import tconv`` does not; without torch it raises
``ModuleNotFoundError`` with the install hint, ``pip install 'tconv[torch]'``). The computation is the core's
own: its methods run on torch tensors through the array API, on any device, in float16, bfloat16,
float32 and float64, and the backward pass is the adjoint, differentiable to any order.

>>> import torch, tconv.torch
>>> layer = tconv.torch.ConvTranspose2d(8, 4, kernel_size=4, stride=2, padding=1)   # torch.nn's arguments
>>> layer(torch.randn(2, 8, 16, 16)).shape
torch.Size([2, 4, 32, 32])
>>> tconv.torch.conv_transpose(torch.ones(1, 1, 5, 5), torch.ones(1, 1, 3, 3), stride=2, padding="same").shape
torch.Size([1, 1, 10, 10])

``swap_conv_transpose(model)`` makes every ``torch.nn.ConvTranspose{1,2,3}d`` of a model tconv's,
in place, keeping shared layers, hooks and parametrizations. The computations are registered
operators (``torch.ops.tconv.*``, :mod:`tconv.torch.ops`), so ``torch.compile(fullgraph=True)``,
``torch.func`` (``vmap``, ``grad``, ``jvp``), ``torch.jit.trace``, ``torch.export`` and ONNX export
(:func:`export_onnx`) take models with tconv's layers. ``tconv bench --torch-layer`` times the
layers against ``torch.nn``; ``docs/torch.md`` tells the whole story. ``audit(module, example_input)``
lists a model's up-samplers and how strongly each paints a checkerboard, and
``init_phase_balanced_(layer)`` starts a transposed convolution without one (``docs/audit.md``).
"""

from tconv.errors import needs_torch

try:
    import torch  # noqa: F401
except ModuleNotFoundError as err:
    if err.name != "torch":  # torch is there but broken: its own error says more
        raise
    # The CLI's hint, in one line, instead of a bare "No module named 'torch'". Still a
    # ModuleNotFoundError naming torch, so `except ImportError` and pytest.importorskip still work.
    raise ModuleNotFoundError(needs_torch("tconv.torch"), name="torch") from None

from tconv.auditor.torch_model import audit  # noqa: E402
from tconv.torch.autograd import Conv, ConvTranspose, WeightCorrelation  # noqa: E402
from tconv.torch.balance import init_phase_balanced_  # noqa: E402
from tconv.torch.functional import CONV_METHODS, METHODS, MismatchError, conv, conv_transpose  # noqa: E402
from tconv.torch.modules import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, convert_  # noqa: E402
from tconv.torch.onnx_export import export_onnx, onnx_translations  # noqa: E402
from tconv.torch.swap import SwapReport, swap_conv_transpose  # noqa: E402
from tconv.torch.upsample import ResizeConv, SubPixelConv, icnr_, pixel_shuffle  # noqa: E402

__all__ = [
    "conv_transpose",
    "conv",
    "METHODS",
    "CONV_METHODS",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "swap_conv_transpose",
    "SwapReport",
    "convert_",
    "ResizeConv",
    "SubPixelConv",
    "pixel_shuffle",
    "icnr_",
    "ConvTranspose",
    "Conv",
    "WeightCorrelation",
    "MismatchError",
    "export_onnx",
    "onnx_translations",
    "audit",
    "init_phase_balanced_",
]
