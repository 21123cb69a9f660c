"""DDPM (Ho, Jain & Abbeel 2020): the linear β schedule, the noise-prediction loss, the ancestral sampler.

Forward (noising) process, in closed form for any step ``t`` (``t = 0 .. T−1`` here, Ho et al.'s ``t − 1``):

    x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε,    ε ~ N(0, I),    α_t = 1 − β_t,    ᾱ_t = ∏_{s ≤ t} α_s

The network ``ε_θ(x_t, t)`` learns to predict ``ε`` (the "simple" loss, Ho et al. eq. 14):

    L = E_{x_0, t, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖²

and generates by walking back from ``x_T ~ N(0, I)`` (Ho et al. Algorithm 2, σ_t² = β_t):

    x_{t−1} = 1/√α_t · (x_t − β_t/√(1 − ᾱ_t) · ε_θ(x_t, t)) + σ_t · z,    z ~ N(0, I), z = 0 at the last step
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import TConvError

__all__ = ["Schedule", "ddpm_loss", "linear_schedule", "q_sample", "sample"]


@dataclass(frozen=True)
class Schedule:
    """``betas`` β_t, ``alphas`` α_t = 1 − β_t and ``alpha_bars`` ᾱ_t = ∏ α_s, for ``t = 0 .. T−1``."""

    betas: torch.Tensor
    alphas: torch.Tensor
    alpha_bars: torch.Tensor

    @property
    def steps(self) -> int:
        """``T``, the number of diffusion steps."""
        return len(self.betas)


def linear_schedule(steps: int) -> Schedule:
    """DDPM's linear schedule, β from 10⁻⁴ to 0.02 over 1000 steps, scaled by ``1000/T`` for ``T`` steps.

    The scaling (Nichol & Dhariwal 2021) keeps ``ᾱ_T ≈ 0`` — ``x_T`` pure noise — when ``T < 1000``;
    it needs ``β_T = 20/T < 1``, so ``T ≥ 21``.

    >>> s = linear_schedule(1000)
    >>> round(float(s.betas[0]), 6), round(float(s.betas[-1]), 6), float(s.alpha_bars[-1]) < 1e-4
    (0.0001, 0.02, True)
    """
    if steps < 21:
        raise TConvError(f"steps={steps} must be at least 21, so that the last β, 20/steps, is below 1")
    scale = 1000.0 / steps
    betas = torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64)
    alphas = 1.0 - betas
    return Schedule(betas.float(), alphas.float(), torch.cumprod(alphas, dim=0).float())


def q_sample(schedule: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """``x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε`` (one ``t`` per image)."""
    a_bar = schedule.alpha_bars[t][:, None, None, None]
    return a_bar.sqrt() * x0 + (1.0 - a_bar).sqrt() * noise


def ddpm_loss(model: nn.Module, schedule: Schedule, x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``‖ε − ε_θ(x_t, t)‖²`` averaged, with ``t`` uniform in ``0 .. T−1`` and ``ε ~ N(0, I)`` drawn from ``generator``."""
    t = torch.randint(0, schedule.steps, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    return F.mse_loss(model(q_sample(schedule, x0, t, noise), t), noise)


@torch.no_grad()
def sample(model: nn.Module, schedule: Schedule, n: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` images ``(n, 1, size, size)`` by Algorithm 2, from ``x_T`` and ``z`` drawn from ``generator``; clipped to [-1, 1]."""
    model.eval()
    x = torch.randn((n, 1, size, size), generator=generator)
    for t in reversed(range(schedule.steps)):
        beta, alpha, a_bar = schedule.betas[t], schedule.alphas[t], schedule.alpha_bars[t]
        eps = model(x, torch.full((n,), t, dtype=torch.long))
        mean = (x - beta / (1.0 - a_bar).sqrt() * eps) / alpha.sqrt()
        z = torch.randn(x.shape, generator=generator) if t > 0 else torch.zeros_like(x)
        x = mean + beta.sqrt() * z
    return x.clamp(-1.0, 1.0)
