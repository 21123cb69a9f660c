"""``tconv.torch.audit(module, example_input)``: the up-samplers of a torch module, learned by running it once.

Forward hooks on every up-sampling module record the shapes of its first call (and how often it was
called); the weights are read after the run, so parametrizations and the old ``weight_norm`` hook
have computed them. Listed, in the order they ran: every ``ConvTranspose{1,2,3}d`` (``torch.nn``'s
and tconv's), ``Upsample``, ``PixelShuffle`` (with the convolution whose output it rearranges), and
tconv's ``ResizeConv`` and ``SubPixelConv``. The module runs in eval mode under ``torch.no_grad()``
(batch-norm statistics are left alone) and is put back in the mode it was in.

:func:`upsampler_imbalance` gives one module's imbalance without running anything (the study uses it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from tconv.arguments import transpose_geometry
from tconv.auditor.layers import resize_layer, subpixel_layer, transposed_layer
from tconv.auditor.phases import constant_response_imbalance, subpixel_imbalance
from tconv.auditor.records import Audit, Layer, Skipped
from tconv.errors import TConvTypeError

__all__ = ["audit", "upsampler_imbalance"]


@dataclass
class _Seen:
    """What the hooks saw of one module."""

    name: str
    module: nn.Module
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    calls: int = 0
    feeds_from: str | None = None
    first: int = 0  # the order of its first call among the up-samplers


def _tconv_upsamplers():
    from tconv.torch.upsample import ResizeConv, SubPixelConv  # here: tconv.torch imports this module

    return ResizeConv, SubPixelConv


def _kind(module: nn.Module) -> str | None:
    resize_conv, sub_pixel = _tconv_upsamplers()
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return "transposed"
    if isinstance(module, resize_conv | nn.Upsample):
        return "resize"
    if isinstance(module, sub_pixel):
        return "subpixel"
    if isinstance(module, nn.PixelShuffle):
        return "shuffle"
    return None


def _weight(module: nn.Module) -> np.ndarray:
    return module.weight.detach().to("cpu", torch.float64).numpy()


def _transposed(seen: _Seen) -> Layer:
    m = seen.module
    weight = _weight(m)
    nd = weight.ndim - 2
    spatial_in, spatial_out = seen.input_shape[-nd:], seen.output_shape[-nd:]
    # The crop from the module's padding; output_padding (or forward's output_size) from the output seen.
    base = transpose_geometry(
        (1, weight.shape[0], *spatial_in), weight.shape, m.stride, m.padding, 0, m.groups, m.dilation
    )
    op = tuple(o - n for o, n in zip(spatial_out, base.large))
    g = transpose_geometry(
        (1, weight.shape[0], *spatial_in), weight.shape, m.stride, m.padding, op, m.groups, m.dilation
    )
    return transposed_layer(
        seen.name,
        type(m).__name__,
        seen.input_shape,
        seen.output_shape,
        weight,
        stride=g.stride,
        dilation=g.dilation,
        crop=tuple(zip(g.begin, g.end)),
        output_padding=op,
        groups=m.groups,
        module=seen.name,
        calls=seen.calls,
    )


def _layer(seen: _Seen, convs: dict[str, nn.Module]) -> Layer | Skipped:
    m, kind = seen.module, _kind(seen.module)
    op = type(m).__name__
    if kind == "transposed":
        return _transposed(seen)
    if kind == "resize":
        mode = str(getattr(m, "mode", "nearest"))
        kernel = tuple(m.conv.kernel_size) if hasattr(m, "conv") else None
        return resize_layer(
            seen.name,
            op,
            seen.input_shape,
            seen.output_shape,
            mode=mode,
            module=seen.name,
            kernel=kernel,
            calls=seen.calls,
        )
    if kind == "subpixel":
        scale = (m.scale_factor,) * m.dims
        return subpixel_layer(
            seen.name,
            op,
            seen.input_shape,
            seen.output_shape,
            _weight(m.conv),
            scale=scale,
            feeds_from=f"{seen.name}.conv",
            module=seen.name,
            calls=seen.calls,
        )
    nd = len(seen.output_shape) - 2
    conv = convs.get(seen.feeds_from or "")
    return subpixel_layer(
        seen.name,
        op,
        seen.input_shape,
        seen.output_shape,
        None if conv is None else _weight(conv),
        scale=(m.upscale_factor,) * nd,
        feeds_from=seen.feeds_from,
        module=seen.name,
        calls=seen.calls,
    )


def audit(module: nn.Module, example_input) -> Audit:
    """Audit the up-samplers of ``module`` by running it once on ``example_input``.

    Parameters
    ----------
    module : torch.nn.Module
        The model.
    example_input : torch.Tensor or tuple
        What ``module`` is called with: a tensor, or a tuple of positional arguments.

    Returns
    -------
    Audit
        One :class:`~tconv.auditor.records.Layer` per up-sampling module, in the order they first ran;
        ``name`` (and ``module``) is the module's path in ``named_modules()``.

    >>> import torch, tconv.torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1))
    >>> a = tconv.torch.audit(net, torch.zeros(1, 4, 5, 5))
    >>> layer = a.layers[0]
    >>> layer.name, layer.op, layer.output_shape, layer.crop, layer.taps_per_phase, layer.verdict
    ('0', 'ConvTranspose2d', (1, 2, 10, 10), ((1, 0), (1, 0)), ((2, 1), (2, 1)), 'checkerboard')
    """
    if not isinstance(module, nn.Module):
        raise TConvTypeError(f"module must be a torch.nn.Module; got {type(module).__name__}")
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    seen: dict[str, _Seen] = {}
    # id of a convolution's output → (the convolution's name, the tensor, kept so that its id is not reused)
    produced: dict[int, tuple[str, torch.Tensor]] = {}
    convs = {name: m for name, m in module.named_modules() if isinstance(m, nn.modules.conv._ConvNd)}
    handles: list = []

    def hook(name: str):
        def record(m, inputs, output):
            s = seen.setdefault(name, _Seen(name, m))
            if s.calls == 0:
                s.input_shape = tuple(inputs[0].shape) if inputs else ()
                s.output_shape = tuple(output.shape)
                s.feeds_from = produced.get(id(inputs[0]), (None, None))[0] if inputs else None
                s.first = len(seen)
            s.calls += 1

        return record

    def remember(name: str):
        def record(m, inputs, output):
            if isinstance(output, torch.Tensor):
                produced[id(output)] = (name, output)

        return record

    kinds = {name: _kind(m) for name, m in module.named_modules()}
    for name, m in module.named_modules():
        if kinds[name] is not None and not _inside(name, kinds):
            handles.append(m.register_forward_hook(hook(name)))
        if name in convs:
            handles.append(m.register_forward_hook(remember(name)))
    modes = {m: m.training for m in module.modules()}
    try:
        module.eval()
        with torch.no_grad():
            module(*args)
    finally:
        for h in handles:
            h.remove()
        for m, training in modes.items():
            m.training = training
    layers: list[Layer] = []
    skipped: list[Skipped] = []
    for s in sorted(seen.values(), key=lambda s: s.first):
        found = _layer(s, convs)
        (layers if isinstance(found, Layer) else skipped).append(found)
    never = [name for name, k in kinds.items() if k is not None and name not in seen and not _inside(name, kinds)]
    skipped += [
        Skipped(name, type(dict(module.named_modules())[name]).__name__, "not called by the example input")
        for name in never
    ]
    return Audit(model=type(module).__name__, source="torch", layers=tuple(layers), skipped=tuple(skipped))


def _inside(name: str, kinds: dict[str, str | None]) -> bool:
    """Whether ``name`` is inside a tconv ``ResizeConv`` / ``SubPixelConv`` (audited as one layer)."""
    parts = name.split(".")
    return any(kinds.get(".".join(parts[:n])) in ("resize", "subpixel") for n in range(1, len(parts)))


def upsampler_imbalance(module: nn.Module) -> float | None:
    """The constant-response imbalance of one up-sampling module, from its weights alone.

    A transposed convolution, a ``tconv.torch.SubPixelConv`` (its convolution's phases), a resize
    (``ResizeConv``, ``Upsample``: 0); None for any other module.

    >>> import torch, tconv.torch
    >>> upsampler_imbalance(tconv.torch.SubPixelConv(4, 4))       # ICNR: every phase alike
    0.0
    """
    kind = _kind(module)
    if kind == "transposed":
        return constant_response_imbalance(_weight(module), module.stride, module.dilation, module.groups)
    if kind == "subpixel":
        return subpixel_imbalance(_weight(module.conv), (module.scale_factor,) * module.dims)
    if kind == "resize":
        return 0.0
    return None
