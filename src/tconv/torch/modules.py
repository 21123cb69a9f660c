"""``ConvTranspose1d/2d/3d``: drop-in ``torch.nn`` layers computed by tconv.

They subclass ``torch.nn.ConvTranspose{1,2,3}d``, so constructor, defaults, parameter names, shapes,
initialisation and ``state_dict`` are PyTorch's own (a state dict loads either way, and
``isinstance(layer, torch.nn.ConvTranspose2d)`` holds); only ``forward`` differs: it runs
:func:`tconv.torch.conv_transpose`. Beyond ``torch.nn`` they take ``padding="same"`` (``o = i·s``,
at any stride), ``"valid"``, per-axis ``(begin, end)`` pairs, ``padding_mode`` ``"circular"``,
``"reflect"`` or ``"replicate"`` (the adjoint of ``torch.nn.Conv`` with that mode), and ``method=``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize

from tconv.arguments import base_geometry, padding_pairs
from tconv.errors import TConvError, TConvTypeError
from tconv.methods import check_method
from tconv.padding_modes import check_mode
from tconv.torch.functional import METHODS, conv_transpose

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "ConvTransposeNd", "convert_", "convertible"]


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

    #: Class default, so a torch.nn layer converted in place (:func:`convert_`) has one too.
    method = "auto"

    def forward(self, input: torch.Tensor, output_size=None) -> torch.Tensor:
        """``conv_transpose(input, weight, bias, ...)``; ``output_size`` replaces ``output_padding``,
        within torch.nn's range: each size from the smallest output up to ``stride − 1`` more."""
        output_padding = self.output_padding if output_size is None else self._output_padding_for(input, output_size)
        return conv_transpose(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
            padding_mode=self.padding_mode,
            method=self.method,
        )

    def _output_padding_for(self, input, output_size) -> tuple[int, ...]:
        """torch.nn's ``_output_padding``: ``output_size`` (spatial sizes, or the whole shape) as
        ``output_padding``, refused unless ``0 ≤ output_padding < stride`` on every axis, counted from
        the output at ``output_padding=0`` (:func:`~tconv.arguments.base_geometry`), which may be
        empty or negative: a size below 0 is then refused by :func:`conv_transpose`, as by torch.nn."""
        nd = len(self.kernel_size)
        size = tuple(int(n) for n in output_size)
        if len(size) == input.ndim:  # torch.nn also takes ([N,] C_out, *spatial) and reads the spatial part
            size = size[input.ndim - nd :]
        if len(size) != nd:
            raise TConvError(
                f"output_size={tuple(output_size)} must have {nd} or {input.ndim} elements (got {len(size)})"
            )
        smallest = base_geometry(input.shape, self.weight.shape, self.stride, self.padding, self.groups, self.dilation)
        if not all(0 <= o - n < s for o, n, s in zip(size, smallest.large, self.stride)):
            ranges = ", ".join(f"{n}..{n + s - 1}" for n, s in zip(smallest.large, self.stride))
            raise TConvError(
                f"output_size={size} is out of range: for an input of spatial size {tuple(input.shape[-nd:])} "
                f"torch.nn's ConvTranspose{nd}d accepts {ranges} on each axis (output_padding < stride={self.stride})"
            )
        return tuple(o - n for o, n in zip(size, smallest.large))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, method={self.method!r}"

    @classmethod
    def from_torch(cls, layer: nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d, method="auto"):
        """A tconv copy of ``layer``: a deep copy (weights, device, dtype, training mode, hooks,
        parametrizations and weight-norm hooks all carried), converted by :func:`convert_`."""
        if _TCONV.get(_plain_class(layer)) is not cls:
            raise TConvTypeError(
                f"{cls.__name__}.from_torch takes a torch.nn.{cls.__name__[:-2]}{cls.__name__[-2:]}; got {type(layer).__name__}"
            )
        return convert_(copy.deepcopy(layer), method)


def _plain_class(layer) -> type:
    """``layer``'s torch.nn class, seen through the class ``torch.nn.utils.parametrize`` makes for it."""
    cls = type(layer)
    if parametrize.is_parametrized(layer) and cls.__name__ == f"Parametrized{cls.__bases__[0].__name__}":
        return cls.__bases__[0]
    return cls


def convertible(layer) -> bool:
    """Whether :func:`convert_` takes ``layer``: a ``torch.nn.ConvTranspose{1,2,3}d`` itself (possibly
    parametrized), not a subclass (whose ``forward`` may differ), not already tconv's."""
    return _plain_class(layer) in _TCONV


def convert_(layer, method="auto"):
    """Make ``layer`` — a ``torch.nn.ConvTranspose{1,2,3}d`` — tconv's layer, in place, and return it.

    Only its class changes: the object, its parameters (tied, frozen or not), buffers, hooks of every
    kind, training mode, device and dtype stay as they are, and so do ``torch.nn.utils.weight_norm``
    and ``spectral_norm`` (their forward pre-hooks still compute ``weight``). A layer parametrized by
    ``torch.nn.utils.parametrize`` (``parametrizations.weight_norm``, ``spectral_norm``) gets a new
    parametrized class over tconv's, holding the same parametrized properties.
    """
    check_method(method, METHODS, ("auto", "native"))
    plain = _plain_class(layer)
    if plain not in _TCONV:
        raise TConvTypeError(f"convert_ takes a torch.nn.ConvTranspose1d/2d/3d; got {type(layer).__name__}")
    target = _TCONV[plain]
    if type(layer) is not plain:  # parametrized: the same class body (its properties) over tconv's class
        body = {k: v for k, v in vars(type(layer)).items() if k not in ("__dict__", "__weakref__")}
        target = type(type(layer).__name__, (target,), body)
    layer.__class__ = target
    layer.method = method
    return layer


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


_TCONV: dict[type, type] = {
    nn.ConvTranspose1d: ConvTranspose1d,
    nn.ConvTranspose2d: ConvTranspose2d,
    nn.ConvTranspose3d: ConvTranspose3d,
}
