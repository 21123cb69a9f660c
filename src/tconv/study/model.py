"""A small DDPM U-Net (Ho et al. 2020) whose two up-sampling layers are interchangeable.

::

    x (1×16×16) ─ conv ─ Res ────────────────────────────────── cat ─ Res ─ GN·SiLU·conv ─ ε̂
                          │ skip16                                 ↑
                          down ─ Res ─────────────────── cat ─ Res ─ up (8→16)
                                 │ skip8                   ↑
                                 down ─ Res ─ Res ─ up (4→8)

Every residual block adds the time embedding: ``t`` → sinusoids (Vaswani et al. 2017) → MLP.
Only the two ``up`` layers differ between the study's networks (see :func:`make_upsampler`); they
are built last, from their own seed, so every shared layer starts with the same weights.
Unlike DDPM, the last convolutions are *not* zero-initialised: an untrained network must show
what its up-samplers do to its output.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import TConvError
from ..torch import ConvTranspose2d, ResizeConv, SubPixelConv, init_phase_balanced_

__all__ = ["UPSAMPLERS", "BALANCED", "UNet", "build_unet", "make_upsampler", "timestep_embedding"]

#: The up-samplers compared, in the study's order.
UPSAMPLERS = ("transposed-k4s2", "transposed-k3s2", "resize-conv", "subpixel-icnr")
#: More, chosen with ``--upsamplers``: the transposed convolutions started phase-balanced (docs/audit.md).
BALANCED = ("transposed-k4s2-balanced", "transposed-k3s2-balanced")


def make_upsampler(name: str, channels: int) -> nn.Module:
    """A ×2 up-sampler with ``channels`` in and out, every one built from a ``tconv.torch`` layer.

    >>> [tuple(make_upsampler(n, 4)(torch.zeros(1, 4, 4, 4)).shape) for n in UPSAMPLERS + BALANCED]
    [(1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8)]
    """
    if name in BALANCED:  # torch's initialisation, moved to the nearest phase-balanced weights
        return init_phase_balanced_(make_upsampler(name.removesuffix("-balanced"), channels))
    if name == "transposed-k4s2":  # k divisible by s: even overlap (every output gets 2×2 taps)
        return ConvTranspose2d(channels, channels, kernel_size=4, stride=2, padding=1)
    if name == "transposed-k3s2":  # k = 3, s = 2: taps per output alternate 2, 1 along each axis
        return ConvTranspose2d(channels, channels, kernel_size=3, stride=2, padding=1, output_padding=1)
    if name == "resize-conv":  # nearest ×2, then 3×3 conv: Stable Diffusion's Upsample
        return ResizeConv(channels, channels, scale_factor=2, kernel_size=3)
    if name == "subpixel-icnr":  # 3×3 conv to 4·C channels, pixel shuffle; ICNR-initialised
        return SubPixelConv(channels, channels, scale_factor=2, kernel_size=3)
    raise TConvError(f"upsampler={name!r} is not one of {UPSAMPLERS + BALANCED}")


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoids ``[sin(t·ω_k), cos(t·ω_k)]`` with ``ω_k = 10000^(−k/(dim/2))``, ``k = 0 .. dim/2 − 1``.

    >>> timestep_embedding(torch.tensor([0, 5]), 8).shape
    torch.Size([2, 8])
    """
    half = dim // 2
    omega = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = t.float()[:, None] * omega[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResBlock(nn.Module):
    """``h = conv(SiLU(GN(x))) + W·emb``; ``out = conv(SiLU(GN(h))) + skip(x)`` (DDPM's block, no dropout)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x))) + self.emb(emb)[:, :, None, None]
        return self.conv2(self.act(self.norm2(h))) + self.skip(x)


class UNet(nn.Module):
    """Predicts the noise ``ε̂ = UNet(x_t, t)``; two levels of down/up-sampling (16 → 8 → 4 → 8 → 16).

    Parameters
    ----------
    upsampler : str
        One of :data:`UPSAMPLERS`, used for both up-sampling steps.
    channels : int
        Channels at 16×16; twice as many at 8×8 and 4×4.
    upsampler_seed : int or None
        If given, the up-samplers are initialised from ``torch.manual_seed(upsampler_seed)`` inside a
        forked RNG, leaving the global stream — and so every shared layer — untouched.
    """

    def __init__(self, upsampler: str, channels: int = 32, upsampler_seed: int | None = None):
        super().__init__()
        c, emb_dim = channels, 4 * channels
        self.channels = c
        self.time_mlp = nn.Sequential(nn.Linear(c, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(1, c, 3, padding=1)
        self.down16 = ResBlock(c, c, emb_dim)
        self.pool16 = nn.Conv2d(c, c, 3, stride=2, padding=1)  # DDPM's Downsample: a strided conv
        self.down8 = ResBlock(c, 2 * c, emb_dim)
        self.pool8 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.mid = nn.ModuleList([ResBlock(2 * c, 2 * c, emb_dim), ResBlock(2 * c, 2 * c, emb_dim)])
        self.up_block8 = ResBlock(4 * c, 2 * c, emb_dim)
        self.up_block16 = ResBlock(3 * c, c, emb_dim)
        self.norm_out, self.conv_out = nn.GroupNorm(8, c), nn.Conv2d(c, 1, 3, padding=1)
        self.upsampler = upsampler
        with torch.random.fork_rng(enabled=upsampler_seed is not None):
            if upsampler_seed is not None:
                torch.manual_seed(upsampler_seed)
            self.up4 = make_upsampler(upsampler, 2 * c)  # 4×4 → 8×8
            self.up8 = make_upsampler(upsampler, 2 * c)  # 8×8 → 16×16

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time_mlp(timestep_embedding(t, self.channels))
        skip16 = self.down16(self.conv_in(x), emb)
        skip8 = self.down8(self.pool16(skip16), emb)
        h = self.pool8(skip8)
        for block in self.mid:
            h = block(h, emb)
        h = self.up_block8(torch.cat([self.up4(h), skip8], dim=1), emb)
        h = self.up_block16(torch.cat([self.up8(h), skip16], dim=1), emb)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


def build_unet(upsampler: str, seed: int, channels: int = 32) -> UNet:
    """``UNet(upsampler)`` with shared layers from ``torch.manual_seed(seed)``, up-samplers from ``seed + 1``."""
    torch.manual_seed(seed)
    return UNet(upsampler, channels, upsampler_seed=seed + 1)
