"""``init_phase_balanced_``: the nearest phase-balanced weights for a transposed convolution, in place.

A transposed convolution's response to a constant input repeats with period ``s``: phase ``φ`` of
output channel ``c`` gets ``R[c, φ]``, the sum of the taps that land on it
(:func:`tconv.auditor.phases.constant_response`). With torch's default initialisation those sums
differ, so the untrained layer paints a checkerboard on flat regions — even when the kernel size is
divisible by the stride. This moves every tap of phase ``φ`` (all input channels of the group) by one
amount ``δ[c, φ]`` so that all phases sum to one value ``m_c``: the smallest change of the weights,
in the sum of squares, that balances the layer (``m_c`` from :func:`~tconv.auditor.phases.balanced_target`).
The random draw is otherwise kept. Where a phase gets no tap at all (``k·d`` too short for the
stride, or ``gcd(s, d) > 1``), only ``m_c = 0`` is balanced: the layer then answers a constant with 0.

>>> import torch, tconv.torch
>>> from tconv.auditor.phases import constant_response_imbalance
>>> torch.manual_seed(0) and None
>>> layer = torch.nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
>>> w = layer.weight.detach().double().numpy()
>>> round(constant_response_imbalance(w, (2, 2)), 2)
0.7
>>> tconv.torch.init_phase_balanced_(layer) is layer
True
>>> round(constant_response_imbalance(layer.weight.detach().double().numpy(), (2, 2)), 12)
0.0
>>> y = layer(torch.ones(1, 8, 6, 6))[0, :, 2:8, 2:8] - layer.bias[:, None, None]   # the interior, run
>>> bool((y - y.mean(dim=(1, 2), keepdim=True)).abs().max() < 1e-5)                # is flat
True
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from tconv.auditor.phases import balanced_target, constant_response, phase_counts, phase_of_taps
from tconv.errors import TConvTypeError

__all__ = ["init_phase_balanced_", "phase_balanced"]


def phase_balanced(weight: torch.Tensor, stride, dilation, groups: int = 1) -> torch.Tensor:
    """The balanced copy of ``weight`` (``(C_in, C_out/groups, *k)``); see the module docstring."""
    w = weight.detach().to("cpu", torch.float64)
    stride, dilation = tuple(stride), tuple(dilation)
    kernel = tuple(w.shape[2:])
    response = constant_response(w.numpy(), stride, dilation, groups)  # (C_out, *stride)
    counts = phase_counts(kernel, stride, dilation)
    target = balanced_target(response, counts)
    per_in, per_out = w.shape[0] // groups, w.shape[1]
    flat_r = torch.from_numpy(response.reshape(response.shape[0], -1))
    n = torch.from_numpy(counts.reshape(-1).astype("float64")) * per_in
    delta = torch.where(n > 0, (torch.from_numpy(target)[:, None] - flat_r) / n.clamp(min=1), torch.zeros(()))
    phase = torch.from_numpy(phase_of_taps(kernel, stride, dilation).reshape(-1))
    per_tap = delta[:, phase].reshape(groups, 1, per_out, *kernel)  # (g, 1, C_out/g, *k): every input channel
    balanced = w.reshape(groups, per_in, per_out, *kernel) + per_tap
    return balanced.reshape(w.shape).to(weight.dtype)


@torch.no_grad()
def init_phase_balanced_(layer: nn.Module) -> nn.Module:
    """Balance ``layer``'s phases in place (see the module docstring); returns ``layer``.

    Parameters
    ----------
    layer : torch.nn.ConvTranspose1d, 2d or 3d (or tconv's)
        Plain, or with its weight under a parametrization that can be assigned (``parametrizations.weight_norm``).

    Raises
    ------
    TConvTypeError
        Not a transposed convolution, or a weight under the old ``torch.nn.utils.weight_norm`` hook
        (remove it, or use ``torch.nn.utils.parametrizations.weight_norm``).
    """
    if not isinstance(layer, nn.modules.conv._ConvTransposeNd):
        raise TConvTypeError(f"layer must be a ConvTranspose1d, 2d or 3d; got {type(layer).__name__}")
    if hasattr(layer, "weight_g") or hasattr(layer, "weight_v"):
        raise TConvTypeError(
            "layer's weight is computed by the old torch.nn.utils.weight_norm hook: remove it, or use "
            "torch.nn.utils.parametrizations.weight_norm, whose weight can be assigned"
        )
    new = phase_balanced(layer.weight, layer.stride, layer.dilation, layer.groups).to(layer.weight.device)
    if parametrize.is_parametrized(layer, "weight"):
        layer.weight = new
    else:
        layer.weight.copy_(new)
    return layer
