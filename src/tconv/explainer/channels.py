"""Channels: how input channels sum into each output channel, and how ``groups`` splits them.

A layer with ``C_in`` input and ``C_out`` output channels in ``G`` groups has PyTorch's weight layout
``(C_in, C_out/G, *k)``. Output channel ``c`` belongs to group ``g = c // (C_out/G)``, which reads only
the input channels ``g·C_in/G … (g+1)·C_in/G − 1``; each of them goes through its own kernel
``w[ci, c mod C_out/G]`` (one single-channel transposed convolution, the steps the explainer shows)
and the results are added:

    y[c] = Σ_{ci in group g} conv_transpose(x[ci], w[ci, c mod C_out/G])

>>> import numpy as np
>>> x = np.array([[1, 2], [3, 4]])                 # 2 input channels, 1-D, 2 elements each
>>> w = np.array([[[1, 1]], [[10, 0]]])            # (C_in=2, C_out/G=1, k=2): one output channel
>>> s = channels_step(x, w, groups=1, stride=1, padding=0, output_padding=0, dilation=1)
>>> [c.partial.tolist() for c in s.outputs[0].contributions], s.outputs[0].output.tolist()
([[1, 3, 2], [30, 40, 0]], [31, 43, 2])
"""

from __future__ import annotations

from tconv.api import conv_transpose
from tconv.explainer.records import ChannelsStep, Contribution, OutputChannel

__all__ = ["channels_step", "SHOW_OUTPUTS", "SHOW_INPUTS"]

SHOW_OUTPUTS = 4  # output channels drawn; the rest are counted
SHOW_INPUTS = 4  # contributions drawn per output channel


def channels_step(x, w, *, groups: int, stride, padding, output_padding, dilation) -> ChannelsStep:
    """Every drawn output channel as the sum of its group's input channels' partial outputs.

    ``x`` is ``(C_in, *spatial)`` and ``w`` is ``(C_in, C_out/G, *k)``; each partial output is the
    core's single-channel ``conv_transpose``, and each drawn output channel is the core's layer output.
    """
    c_in, per_group_out = x.shape[0], w.shape[1]
    c_out = per_group_out * groups
    per_group_in = c_in // groups
    args = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
    layer = conv_transpose(x[None], w, groups=groups, **args)[0]  # (C_out, *o): the sums, by the core
    outputs = []
    for c in range(min(c_out, SHOW_OUTPUTS)):
        group, j = divmod(c, per_group_out)
        reads = list(range(group * per_group_in, (group + 1) * per_group_in))
        contributions = [
            Contribution(ci, [ci, j], w[ci, j], conv_transpose(x[ci][None, None], w[ci, j][None, None], **args)[0, 0])
            for ci in reads[:SHOW_INPUTS]
        ]
        outputs.append(OutputChannel(c, group, reads, contributions, layer[c]))
    return ChannelsStep(c_in, c_out, groups, list(w.shape), outputs, max(c_out - SHOW_OUTPUTS, 0))
