"""The study: one DDPM per up-sampler, everything else identical, and what to measure on each.

Per up-sampler, with the same seed everywhere:

1. build the U-Net (shared layers identical, see :func:`tconv.study.model.build_unet`);
2. ``checkerboard_init``: the checkerboard energy of the *untrained* network's output ``ε_θ(x_t, t)``
   on a fixed probe batch — real digits noised to ``x_t`` at steps ``t`` spread evenly over
   ``0 .. T−1``, with fixed noise. This is the network's own output, the thing the up-samplers
   shape. A *sample* from an untrained network would say little: the sampler divides by ``√α_t`` at
   every step, amplifying the starting noise and the early ``ε̂`` until > 99.5 % of the pixels clip
   to ±1 — energy 0.115 to 0.135 for all four networks, white noise's 0.12 (measured, seed 0);
3. train on the same batches in the same order (:func:`tconv.study.train.train`);
4. ``checkerboard_trained`` and ``quality``: on samples drawn from the same starting noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..auditor.torch_model import upsampler_imbalance
from .data import load_digits16
from .diffusion import linear_schedule, q_sample, sample
from .energy import checkerboard_energy, white_noise_checkerboard_energy
from .model import UPSAMPLERS, build_unet
from .quality import fit_scorer
from .train import train

__all__ = ["FULL", "QUICK", "Reference", "StudyConfig", "StudyReport", "UpsamplerResult", "UpsamplerRun", "run_study"]


@dataclass(frozen=True)
class StudyConfig:
    """Everything that defines a run (it goes into the JSON as ``config``)."""

    epochs: int
    seed: int = 0
    image_size: int = 16  # the digits, resized 8 → 16 (recorded, not a knob)
    steps: int = 250  # T, diffusion steps for training and for sampling
    channels: int = 32  # U-Net width at 16×16
    batch_size: int = 128
    lr: float = 2e-3
    train_images: int | None = None  # the first N of a fixed shuffle of the 1797 digits; None: all
    samples: int = 256  # generated per up-sampler, for checkerboard_trained and quality
    probe_images: int = 64  # the fixed noisy batch behind checkerboard_init
    upsamplers: tuple[str, ...] = UPSAMPLERS


#: ``--quick``: a narrow network, a subset, few steps — seconds per up-sampler, for CI and a first look.
QUICK = StudyConfig(epochs=3, steps=50, channels=16, batch_size=64, train_images=512, samples=64)
#: The full run behind docs/study.md.
FULL = StudyConfig(epochs=40)


@dataclass(frozen=True)
class UpsamplerResult:
    """One row of the results table."""

    upsampler: str
    checkerboard_init: float
    checkerboard_trained: float
    quality: float
    train_seconds: float
    final_loss: float
    # the constant-response imbalance of the two up-samplers (4→8, 8→16), untrained and trained (docs/audit.md)
    phase_imbalance_init: list[float] = field(default_factory=list)
    phase_imbalance_trained: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Reference:
    """What the real data and white noise score, to read the table against."""

    checkerboard_real: float  # the training images' checkerboard energy
    quality_real: float  # the held-out real digits' quality
    checkerboard_white_noise: float  # (H + W − 1)/(H·W − 1)


@dataclass(frozen=True)
class StudyReport:
    """The JSON document: ``dataclasses.asdict(report)``."""

    results: list[UpsamplerResult]
    config: StudyConfig
    reference: Reference


@dataclass(frozen=True)
class UpsamplerRun:
    """The arrays behind one row, for the figures (not in the JSON)."""

    result: UpsamplerResult
    init_output: np.ndarray  # ε_θ(x_t, t) of the untrained network on the probe batch
    samples: np.ndarray  # (samples, 1, H, W) in [-1, 1]
    epoch_losses: list[float] = field(default_factory=list)


def _probe(images: np.ndarray, config: StudyConfig, schedule) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed noisy batch: ``x_t`` for the first ``probe_images`` images, ``t`` evenly spread."""
    generator = torch.Generator().manual_seed(config.seed + 2)
    x0 = torch.from_numpy(images[: config.probe_images])
    t = torch.linspace(0, schedule.steps - 1, len(x0)).round().long()
    return q_sample(schedule, x0, t, torch.randn(x0.shape, generator=generator)), t


def _imbalances(model) -> list[float]:
    """The constant-response imbalance of the network's two up-samplers (0 for resize-conv)."""
    return [round(float(upsampler_imbalance(up) or 0.0), 6) for up in (model.up4, model.up8)]


def run_study(config: StudyConfig, label_width: int = 16) -> tuple[StudyReport, list[UpsamplerRun], np.ndarray]:
    """Run ``config``; returns the report, the per-up-sampler arrays, and the real training images."""
    digits = load_digits16()
    order = np.random.default_rng(config.seed).permutation(len(digits.images))
    images = digits.images[order[: config.train_images]]
    scorer = fit_scorer(digits, seed=config.seed)
    schedule = linear_schedule(config.steps)
    probe_x, probe_t = _probe(images, config, schedule)
    runs = []
    for name in config.upsamplers:
        model = build_unet(name, config.seed, config.channels)
        imbalance_init = _imbalances(model)
        model.eval()
        with torch.no_grad():
            init_output = model(probe_x, probe_t).numpy()
        fit = train(
            model,
            schedule,
            images,
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=config.lr,
            seed=config.seed,
            label=name.ljust(label_width),
        )
        generated = sample(
            model, schedule, config.samples, config.image_size, torch.Generator().manual_seed(config.seed + 3)
        ).numpy()
        result = UpsamplerResult(
            upsampler=name,
            checkerboard_init=checkerboard_energy(init_output),
            checkerboard_trained=checkerboard_energy(generated),
            quality=scorer.score(generated),
            train_seconds=round(fit.seconds, 2),
            final_loss=fit.epoch_losses[-1],
            phase_imbalance_init=imbalance_init,
            phase_imbalance_trained=_imbalances(model),
        )
        runs.append(UpsamplerRun(result, init_output, generated, fit.epoch_losses))
    reference = Reference(
        checkerboard_real=checkerboard_energy(images),
        quality_real=scorer.reference(),
        checkerboard_white_noise=white_noise_checkerboard_energy(config.image_size, config.image_size),
    )
    report = StudyReport(results=[r.result for r in runs], config=config, reference=reference)
    return report, runs, images
