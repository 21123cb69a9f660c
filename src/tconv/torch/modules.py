"""``ConvTranspose1d/2d/3d``: drop-in ``torch.nn`` layers computed by tconv.

They subclass ``torch.nn.ConvTranspose{1,2,3}d``, so constructor, defaults, parameter names, shapes,
initialisation and ``state_dict`` are PyTorch's own (a state dict loads either way, and
``isinstance(layer, torch.nn.ConvTranspose2d)`` holds); only ``forward`` differs: it runs
:func:`tconv.torch.conv_transpose`. Beyond ``torch.nn`` they take ``padding="same"`` (``o = i·s``,
at any stride), ``"valid"``, per-axis ``(begin, end)`` pairs, ``padding_mode`` ``"circular"``,
``"reflect"`` or ``"replicate"`` (the adjoint of ``torch.nn.Conv`` with that mode), and ``method=``.
"""

from __future__ import annotations

import torch
from tconv.arguments import padding_pairs
from tconv.methods import check_method
from tconv.padding_modes import check_mode
from tconv.torch.functional import METHODS, conv_transpose
from torch import nn

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "ConvTransposeNd"]


class ConvTransposeNd:
    """What the three layers add to ``torch.nn.ConvTranspose{n}d``: padding words and pairs, padding
    modes, ``method``; and a ``forward`` that runs tconv."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
        *,
        method="auto",
    ):
        # torch.nn refuses "same" at stride > 1 and has no (begin, end) pairs, so it is built with
        # padding 0 and the padding is set afterwards; torch.nn uses it only in forward and repr.
        words_or_pairs = isinstance(padding, str) or _has_pairs(padding)
        # torch.nn also refuses every padding_mode but "zeros"; tconv has the other three.
        check_mode(padding_mode, (), ())
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            0 if words_or_pairs else padding,
            output_padding,
            groups,
            bias,
            dilation,
            "zeros",
            device,
            dtype,
        )
        self.padding_mode = padding_mode
        if words_or_pairs:
            pairs = padding_pairs(padding, len(self.kernel_size))  # checked now, not at the first call
            self.padding = padding.lower() if isinstance(padding, str) else pairs
        check_method(method, METHODS, ("auto", "native"))
        self.method = method

    def forward(self, input: torch.Tensor, output_size=None) -> torch.Tensor:
        """``conv_transpose(input, weight, bias, ...)``; ``output_size`` replaces ``output_padding``."""
        return conv_transpose(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding if output_size is None else 0,
            self.groups,
            self.dilation,
            output_size=output_size,
            padding_mode=self.padding_mode,
            method=self.method,
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, method={self.method!r}"

    @classmethod
    def from_torch(cls, layer: nn.modules.conv._ConvTransposeNd, method="auto"):
        """A tconv layer with ``layer``'s arguments, device, dtype and (copied) weights."""
        new = cls(
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.output_padding,
            layer.groups,
            layer.bias is not None,
            layer.dilation,
            layer.padding_mode,
            device=layer.weight.device,
            dtype=layer.weight.dtype,
            method=method,
        )
        new.load_state_dict(layer.state_dict())
        new.train(layer.training)
        return new


def _has_pairs(padding) -> bool:
    return isinstance(padding, (tuple, list)) and any(isinstance(p, (tuple, list)) for p in padding)


class ConvTranspose1d(ConvTransposeNd, nn.ConvTranspose1d):
    """``torch.nn.ConvTranspose1d`` computed by tconv; also ``padding="same"/"valid"``/pairs and ``method``.

    >>> import torch
    >>> layer = ConvTranspose1d(1, 1, kernel_size=3, stride=2, padding="same", bias=False)
    >>> layer
    ConvTranspose1d(1, 1, kernel_size=(3,), stride=(2,), padding=same, bias=False, method='auto')
    >>> layer(torch.ones(1, 1, 4)).shape                     # "same": o = i·s
    torch.Size([1, 1, 8])
    """


class ConvTranspose2d(ConvTransposeNd, nn.ConvTranspose2d):
    """``torch.nn.ConvTranspose2d`` computed by tconv; also ``padding="same"/"valid"``/pairs and ``method``.

    >>> import torch
    >>> _ = torch.manual_seed(0); ours = ConvTranspose2d(4, 2, 4, stride=2, padding=1)
    >>> _ = torch.manual_seed(0); theirs = torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
    >>> x = torch.randn(1, 4, 5, 5)
    >>> torch.allclose(ours(x), theirs(x), atol=1e-6), ours(x, output_size=(11, 11)).shape
    (True, torch.Size([1, 2, 11, 11]))
    """


class ConvTranspose3d(ConvTransposeNd, nn.ConvTranspose3d):
    """``torch.nn.ConvTranspose3d`` computed by tconv; also ``padding="same"/"valid"``/pairs and ``method``.

    >>> import torch
    >>> ConvTranspose3d(2, 3, kernel_size=2, stride=2)(torch.ones(1, 2, 2, 3, 4)).shape
    torch.Size([1, 3, 4, 6, 8])
    """
