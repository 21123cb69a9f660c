"""The two up-sampling layers real U-Nets use instead of a transposed convolution.

* :class:`ResizeConv` — resize ×s (nearest or (bi/tri)linear), then a ``k×k`` convolution with
  "same" padding: Stable Diffusion's ``Upsample`` (nearest ×2, then a 3×3 convolution). Every output
  pixel sees the same number of taps, so there is no checkerboard from uneven overlap.
* :class:`SubPixelConv` — a convolution to ``C·s^d`` channels at the low resolution, then a pixel
  shuffle (Shi et al. 2016): ``y[c, h·s + r] = z[c·s^d + r, h]``. This is the polyphase view of a
  transposed convolution, learned directly. Initialised with ICNR (Aitken et al. 2017), all ``s^d``
  phases of a channel start with one shared sub-kernel ``W0``, so the layer starts as
  *convolution, then nearest-neighbour resize* — ``nearest_s(conv(x, W0))`` — free of checkerboard.

Neither is a transposed convolution, so both use PyTorch's own ``conv{d}d`` and ``interpolate``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tconv.errors import TConvError

__all__ = ["ResizeConv", "SubPixelConv", "pixel_shuffle", "icnr_"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _check(dims, kernel_size, scale_factor):
    if dims not in _CONV:
        raise TConvError(f"dims={dims!r} must be 1, 2 or 3 (spatial axes)")
    if kernel_size % 2 == 0:
        raise TConvError(f"kernel_size={kernel_size} must be odd, so that padding k//2 keeps the size")
    if not (isinstance(scale_factor, int) and scale_factor >= 1):
        raise TConvError(f"scale_factor={scale_factor!r} must be a positive int")


class ResizeConv(nn.Module):
    """Resize by ``scale_factor`` (``mode`` "nearest" or "linear"), then convolve (``k`` odd, size kept).

    >>> import torch
    >>> up = ResizeConv(4, 2, scale_factor=2)       # Stable Diffusion's Upsample with C_out = 2
    >>> up(torch.randn(1, 4, 5, 6)).shape
    torch.Size([1, 2, 10, 12])
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        scale_factor=2,
        kernel_size=3,
        mode="nearest",
        dims=2,
        bias=True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        _check(dims, kernel_size, scale_factor)
        if mode not in ("nearest", "linear"):
            raise TConvError(f'mode={mode!r} must be "nearest" or "linear" (bilinear in 2-D, trilinear in 3-D)')
        self.scale_factor, self.mode, self.dims = scale_factor, mode, dims
        self.conv = _CONV[dims](
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias, device=device, dtype=dtype
        )

    def forward(self, x):
        mode = "nearest" if self.mode == "nearest" else _LINEAR[self.dims]
        kwargs = {} if mode == "nearest" else {"align_corners": False}
        return self.conv(F.interpolate(x, scale_factor=self.scale_factor, mode=mode, **kwargs))

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}, dims={self.dims}"


def pixel_shuffle(z, scale_factor: int, dims: int):
    """``y[n, c, h·s + r, ...] = z[n, c·s^d + r, h, ...]`` in ``d`` dimensions (``r`` = phase, row-major).

    >>> import torch
    >>> pixel_shuffle(torch.arange(4.0).reshape(1, 4, 1), 2, dims=1)   # 2 channels × 2 phases → 1-D
    tensor([[[0., 1.],
             [2., 3.]]])
    """
    s, n, *spatial = scale_factor, z.shape[0], *z.shape[2:]
    c = z.shape[1] // s**dims
    z = z.reshape(n, c, *(s,) * dims, *spatial)  # (n, c, r_1..r_d, h_1..h_d)
    # interleave: (n, c, h_1, r_1, ..., h_d, r_d)
    order = [0, 1] + [a for k in range(dims) for a in (2 + dims + k, 2 + k)]
    return z.permute(order).reshape(n, c, *(h * s for h in spatial))


@torch.no_grad()
def icnr_(weight, scale_factor: int, dims: int, init=nn.init.kaiming_uniform_, **init_kwargs):
    """ICNR in place: draw ``W0`` (``C_out, C_in, *k``) with ``init``, and give every phase a copy.

    ``weight`` is ``(C_out·s^d, C_in, *k)``; output channel ``c·s^d + r`` gets ``W0[c]``, so after
    :func:`pixel_shuffle` all ``s^d`` phases of a pixel are equal: conv, then nearest resize.
    """
    phases = scale_factor**dims
    sub = torch.empty((weight.shape[0] // phases, *weight.shape[1:]), dtype=weight.dtype, device=weight.device)
    init(sub, **init_kwargs)
    weight.copy_(sub.repeat_interleave(phases, dim=0))
    return weight


class SubPixelConv(nn.Module):
    """Convolve to ``C_out·s^d`` channels (``k`` odd, size kept), then pixel-shuffle ×s; ICNR-initialised.

    >>> import torch
    >>> up = SubPixelConv(4, 2, scale_factor=2)
    >>> up.conv.weight.shape, up(torch.randn(1, 4, 5, 6)).shape
    (torch.Size([8, 4, 3, 3]), torch.Size([1, 2, 10, 12]))
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        scale_factor=2,
        kernel_size=3,
        dims=2,
        bias=True,
        icnr=True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        _check(dims, kernel_size, scale_factor)
        self.scale_factor, self.dims = scale_factor, dims
        phases = scale_factor**dims
        self.conv = _CONV[dims](
            in_channels,
            out_channels * phases,
            kernel_size,
            padding=kernel_size // 2,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        if icnr:
            # kaiming_uniform_(a=√5), torch.nn's own default, drawn for the C_out-channel sub-kernel.
            icnr_(self.conv.weight, scale_factor, dims, a=math.sqrt(5))
            if bias:
                with torch.no_grad():
                    self.conv.bias.copy_(self.conv.bias[::phases].repeat_interleave(phases))

    def forward(self, x):
        return pixel_shuffle(self.conv(x), self.scale_factor, self.dims)

    def extra_repr(self):
        return f"scale_factor={self.scale_factor}, dims={self.dims}"
