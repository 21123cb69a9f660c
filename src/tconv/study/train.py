"""Training: Adam on the DDPM loss, the same batches in the same order for every up-sampler."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .diffusion import Schedule, ddpm_loss

__all__ = ["TrainResult", "train"]


@dataclass(frozen=True)
class TrainResult:
    """Mean loss of every epoch, and the seconds the training loop took (wall clock)."""

    epoch_losses: list[float]
    seconds: float


def _progress(total: int, label: str):
    """A tqdm bar on a terminal, nothing otherwise (or when tqdm is missing)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit="epoch", leave=False, disable=not sys.stderr.isatty())


def train(
    model: nn.Module,
    schedule: Schedule,
    images: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    label: str = "",
) -> TrainResult:
    """Train ``model`` to predict the noise on ``images`` ``(N, 1, H, W)``.

    Every random draw — the shuffling of each epoch, each batch's ``t`` and ``ε`` — comes from one
    ``torch.Generator`` seeded with ``seed``, so two models trained with the same ``seed`` see exactly
    the same batches, times and noise.
    """
    data = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    bar = _progress(epochs, label)
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator)
        total, count = 0.0, 0
        for first in range(0, len(data), batch_size):
            batch = data[order[first : first + batch_size]]
            loss = ddpm_loss(model, schedule, batch, generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, count = total + loss.item() * len(batch), count + len(batch)
        losses.append(total / count)
        if bar is not None:
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            bar.update()
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return TrainResult(epoch_losses=losses, seconds=seconds)
