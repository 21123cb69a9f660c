"""One :class:`~tconv.auditor.records.Layer` from what a model says about it: the measurements, a
verdict, advice that fits the case, and the ``tconv explain`` command (and ``tconv serve`` URL) that
shows the layer's geometry with its own channel-summed kernel on an input of ones.

Shared by the ONNX reader and the torch hooks, so both give the same numbers for the same layer.

>>> import numpy as np
>>> layer = transposed_layer("up", "ConvTranspose1d", (1, 1, 4), (1, 1, 8), np.array([[[1.0, 2.0, 1.0, 0.0]]]),
...                          stride=(2,), dilation=(1,), crop=((1, 1),), output_padding=(0,), groups=1)
>>> layer.taps_per_phase, layer.uneven_overlap, round(layer.constant_response_imbalance, 3), layer.verdict
(((2, 2),), False, 0.0, 'flat')
>>> layer.explain
'tconv explain --input "1 1 1 1" --kernel "1 2 1 0" --stride 2 --padding 1:1 --no-torch'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from urllib.parse import urlencode

import numpy as np

from tconv.auditor.phases import (
    constant_response,
    constant_response_imbalance,
    subpixel_imbalance,
    subpixel_response,
    taps_per_phase,
)
from tconv.auditor.records import Layer, Shape

__all__ = ["transposed_layer", "subpixel_layer", "resize_layer", "verdict", "FLAT", "STRONG", "SERVE"]

#: Imbalances below FLAT read as flat; at STRONG and above as a checkerboard (between: faint).
FLAT, STRONG = 0.01, 0.1
#: Where ``tconv serve`` listens by default.
SERVE = "http://127.0.0.1:8765/"

_INIT = "tconv.torch.init_phase_balanced_(layer)"


def verdict(imbalance: float | None, holes: bool = False) -> str:
    """``"flat"``, ``"faint checkerboard"``, ``"checkerboard"``, ``"holes"`` or ``"not measured"``.

    >>> verdict(0.0), verdict(0.05), verdict(0.4), verdict(0.4, holes=True)
    ('flat', 'faint checkerboard', 'checkerboard', 'holes')
    """
    if holes:
        return "holes"
    if imbalance is None:
        return "not measured"
    return "flat" if imbalance < FLAT else "faint checkerboard" if imbalance < STRONG else "checkerboard"


def _advice(kernel, stride, dilation, taps, imbalance: float) -> str:
    if all(s == 1 for s in stride):
        return "stride 1: a single phase, nothing to balance"
    if any(0 in axis for axis in taps):
        return (
            f"some phases get no tap (kernel {_x(kernel)}, stride {_x(stride)}, dilation {_x(dilation)}): they stay "
            "at the bias whatever the weights; use a kernel of at least the stride, with dilation 1"
        )
    uneven = any(len(set(axis)) > 1 for axis in taps)
    fix_kernel = tuple(s * max(1, math.ceil(k / s)) for k, s in zip(kernel, stride))
    geometry = (
        f"kernel {_x(kernel)} is not divisible by stride {_x(stride)} (taps per phase "
        f"{' x '.join(','.join(map(str, a)) for a in taps)}): use kernel {_x(fix_kernel)}, or resize-conv "
        f"(nearest x{stride[0] if len(set(stride)) == 1 else _x(stride)}, then a convolution)"
    )
    if imbalance < FLAT:
        if uneven:
            return f"balanced weights: flat on a constant input despite the uneven overlap; but {geometry}, so that training cannot unbalance it"
        return "balanced: a constant input gives a flat output"
    weights = (
        f"the phases' weights sum differently: start from a phase-balanced initialisation ({_INIT}), "
        "or use a sub-pixel convolution with ICNR (tconv.torch.SubPixelConv)"
    )
    return f"{geometry}; and {weights}" if uneven else f"even overlap, but {weights}"


def _x(values) -> str:
    return "x".join(str(v) for v in values)


def _numbers(a: np.ndarray) -> str:
    """A 1-D or 2-D array as ``tconv explain`` reads a matrix: ``"1 2; 3 4"``, 3 significant digits."""
    rows = a.reshape(1, -1) if a.ndim == 1 else a
    return "; ".join(" ".join(f"{v + 0.0:.3g}" for v in row) for row in rows)


def _explain(kernel_sum: np.ndarray, stride, dilation, crop, output_padding) -> tuple[str | None, str | None]:
    """The ``tconv explain`` command and ``tconv serve`` URL for a 1-D or 2-D layer, or an artifacts command."""
    n = len(stride)
    if n > 2:
        cmd = f"tconv artifacts --kernel {_csv(kernel_sum.shape)} --stride {_csv(stride)} --dilation {_csv(dilation)}"
        return cmd, None
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_sum.shape, dilation)]
    size = [min(6, max(3, -(-ke // s) + 2)) for ke, s in zip(k_eff, stride)]
    options = {"input": _numbers(np.ones(size)), "kernel": _numbers(kernel_sum), "stride": _csv(stride)}
    if any(d != 1 for d in dilation):
        options["dilation"] = _csv(dilation)
    ends = [e for _, e in crop]
    if all(b >= 0 for b, _ in crop) and any(b or e for b, e in crop):
        zeros = [max(-e, 0) for e in ends]
        if all(z < max(s, d) for z, s, d in zip(zeros, stride, dilation)):
            options["padding"] = ",".join(f"{b}:{max(e, 0)}" for b, e in crop)
            if any(zeros):
                options["output_padding"] = _csv(zeros)
    words = {"output_padding": "--output-padding"}
    cmd = "tconv explain " + " ".join(f"{words.get(k, '--' + k)} {_quote(v)}" for k, v in options.items())
    return cmd + " --no-torch", SERVE + "?" + urlencode(options)


def _csv(values) -> str:
    return ",".join(str(v) for v in values)


def _quote(value: str) -> str:
    return f'"{value}"' if " " in value else value


def transposed_layer(
    name: str,
    op: str,
    input_shape: Shape,
    output_shape: Shape,
    weight: np.ndarray | None,
    *,
    stride: Sequence[int],
    dilation: Sequence[int],
    crop: Sequence[tuple[int, int]],
    output_padding: Sequence[int],
    groups: int,
    ambiguous: Sequence[str] = (),
    module: str | None = None,
    calls: int = 1,
    kernel: Sequence[int] | None = None,
) -> Layer:
    """A transposed convolution's :class:`Layer`; ``weight`` is ``(C_in, C_out/groups, *k)``.

    ``weight=None`` (computed at run time from the graph's inputs) gives the geometry alone: pass
    ``kernel``; the imbalance is then not measured.
    """
    stride, dilation = tuple(int(s) for s in stride), tuple(int(d) for d in dilation)
    kernel = tuple(int(k) for k in (np.shape(weight)[2:] if weight is not None else kernel or ()))
    taps = taps_per_phase(kernel, stride, dilation)
    holes = any(0 in axis for axis in taps)
    imbalance = worst = explain = url = None
    advice = "its weight is computed from the graph's inputs: not measured (audit the module with tconv.torch.audit)"
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64)
        response = constant_response(w, stride, dilation, groups)
        imbalance = constant_response_imbalance(w, stride, dilation, groups)
        flat = response.reshape(response.shape[0], -1)
        worst = int(((flat - flat.mean(axis=1, keepdims=True)) ** 2).sum(axis=1).argmax())
        per_group_out, per_group_in = w.shape[1], w.shape[0] // groups
        first = (worst // per_group_out) * per_group_in
        kernel_sum = w[first : first + per_group_in, worst % per_group_out].sum(axis=0)
        explain, url = _explain(kernel_sum, stride, dilation, tuple(crop), output_padding)
        advice = _advice(kernel, stride, dilation, taps, imbalance)
    return Layer(
        name=name,
        op=op,
        input_shape=tuple(input_shape),
        output_shape=tuple(output_shape),
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        crop=tuple((int(b), int(e)) for b, e in crop),
        output_padding=tuple(int(p) for p in output_padding),
        groups=int(groups),
        taps_per_phase=taps,
        uneven_overlap=any(len(set(axis)) > 1 for axis in taps),
        constant_response_imbalance=imbalance,
        ambiguous=tuple(ambiguous),
        advice=advice,
        verdict=verdict(imbalance, holes),
        module=module,
        worst_channel=worst,
        explain=explain,
        serve_url=url,
        calls=calls,
    )


def subpixel_layer(
    name: str,
    op: str,
    input_shape: Shape,
    output_shape: Shape,
    conv_weight: np.ndarray | None,
    *,
    scale: Sequence[int],
    mode: str = "CRD",
    feeds_from: str | None = None,
    module: str | None = None,
    calls: int = 1,
) -> Layer:
    """A pixel shuffle (``DepthToSpace``) after a convolution: the sub-pixel convolution's :class:`Layer`.

    ``conv_weight`` is the feeding convolution's ``(C·Π scale, C_in/groups, *k)``, or None when no
    convolution feeds the shuffle directly (then nothing is measured).
    """
    stride = tuple(int(s) for s in scale)
    imbalance = worst = None
    kernel = None
    if conv_weight is not None:
        response = subpixel_response(conv_weight, stride, mode)
        imbalance = subpixel_imbalance(conv_weight, stride, mode)
        flat = response.reshape(response.shape[0], -1)
        worst = int(((flat - flat.mean(axis=1, keepdims=True)) ** 2).sum(axis=1).argmax())
        kernel = tuple(int(k) for k in np.shape(conv_weight)[2:])
    if imbalance is None:
        advice = "the shuffle's input does not come straight from a convolution: its phases were not measured"
    elif imbalance < FLAT:
        advice = (
            "balanced: every phase of a channel sums alike (as ICNR starts), so a constant input gives a flat output"
        )
    else:
        advice = (
            "the sub-pixel phases' weights sum differently: initialise the convolution with ICNR "
            "(tconv.torch.icnr_, as tconv.torch.SubPixelConv does)"
        )
    return Layer(
        name=name,
        op=op,
        input_shape=tuple(input_shape),
        output_shape=tuple(output_shape),
        kernel=kernel,
        stride=stride,
        uneven_overlap=False if imbalance is not None else None,
        constant_response_imbalance=imbalance,
        advice=advice,
        verdict=verdict(imbalance),
        module=module,
        feeds_from=feeds_from,
        mode=mode,
        worst_channel=worst,
        calls=calls,
    )


def resize_layer(
    name: str,
    op: str,
    input_shape: Shape,
    output_shape: Shape,
    *,
    mode: str,
    module: str | None = None,
    kernel: Sequence[int] | None = None,
    calls: int = 1,
) -> Layer:
    """A resize (nearest, linear, cubic): a constant stays constant, so its imbalance is 0.

    ``kernel`` is the convolution that follows inside a resize-conv module (``tconv.torch.ResizeConv``).
    """
    spatial_in, spatial_out = input_shape[2:], output_shape[2:]
    scale = tuple(
        o / i if isinstance(o, int) and isinstance(i, int) and i else float("nan")
        for i, o in zip(spatial_in, spatial_out)
    )
    whole = all(s == int(s) for s in scale if s == s)
    return Layer(
        name=name,
        op=op,
        input_shape=tuple(input_shape),
        output_shape=tuple(output_shape),
        kernel=None if kernel is None else tuple(kernel),
        stride=tuple(int(s) for s in scale) if whole and all(s == s for s in scale) else None,
        uneven_overlap=False,
        constant_response_imbalance=0.0,
        advice="resize: a constant input stays constant, so this layer paints no checkerboard",
        verdict="flat",
        module=module,
        mode=mode,
        scale=scale,
        calls=calls,
    )
