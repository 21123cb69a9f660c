"""The study's pictures (matplotlib, Agg backend, imported only here and only when ``--out`` is given).

* ``samples_<upsampler>.png`` — a grid of generated digits per up-sampler, ``samples_real.png`` the data;
* ``init_outputs.png`` — the untrained networks' outputs ``ε_θ(x_t, t)`` on the probe batch;
* ``spectra.png`` — mean log power spectra of the untrained outputs and of the samples, zero
  frequency in the centre, so the Nyquist lines are the top row and the left column;
* ``checkerboard.png`` — checkerboard energy per up-sampler, at initialisation and after training;
* ``loss.png`` — training loss per epoch.
"""

from __future__ import annotations

import pathlib

import numpy as np

from .experiment import StudyReport, UpsamplerRun

__all__ = ["image_grid", "mean_log_power", "write_figures"]


def image_grid(images: np.ndarray, columns: int = 8, pad: int = 1) -> np.ndarray:
    """Tile ``(N, 1, H, W)`` images (at most ``columns²``) into one 2-D array, separated by ``pad`` pixels of NaN."""
    x = np.asarray(images, dtype=np.float64)[: columns * columns, 0]
    n, h, w = x.shape
    rows = -(-n // columns)
    grid = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad), np.nan)
    for i, img in enumerate(x):
        r, c = divmod(i, columns)
        grid[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return grid


def mean_log_power(images: np.ndarray) -> np.ndarray:
    """``log10`` of the mean of ``|DFT(x − mean x)|²`` over the batch, zero frequency shifted to the centre.

    The zero frequency itself (0 once the mean is removed) is NaN, drawn blank.
    """
    x = np.asarray(images, dtype=np.float64)
    x = x - x.mean(axis=(-2, -1), keepdims=True)
    power = (np.abs(np.fft.fft2(x)) ** 2).reshape(-1, *x.shape[-2:]).mean(axis=0)
    power[0, 0] = np.nan
    return np.log10(np.fft.fftshift(power) + 1e-12)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_grid(plt, path: pathlib.Path, images: np.ndarray, title: str, vlim: float = 1.0) -> None:
    fig, ax = plt.subplots(figsize=(3.2, 3.4), dpi=80)
    cmap = plt.get_cmap("gray").with_extremes(bad="#4060a0")  # the NaN gaps between images
    ax.imshow(image_grid(images), cmap=cmap, vmin=-vlim, vmax=vlim, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_figures(
    out: pathlib.Path, report: StudyReport, runs: list[UpsamplerRun], real: np.ndarray
) -> list[pathlib.Path]:
    """Write every picture into ``out`` (created if needed); returns their paths."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        path = out / f"samples_{run.result.upsampler}.png"
        _save_grid(
            plt, path, run.samples, f"{run.result.upsampler}\ncheckerboard {run.result.checkerboard_trained:.3f}"
        )
        written.append(path)
    path = out / "samples_real.png"
    _save_grid(plt, path, real, f"real digits (16×16)\ncheckerboard {report.reference.checkerboard_real:.3f}")
    written.append(path)

    # The untrained outputs: four images each, on a per-network colour scale.
    fig, axes = plt.subplots(1, len(runs), figsize=(2.4 * len(runs), 2.8), dpi=80, squeeze=False)
    for ax, run in zip(axes[0], runs):
        x = run.init_output[:16:4]  # four probe images, from small t to large t
        lim = float(np.abs(x).max()) or 1.0
        ax.imshow(image_grid(x, columns=2), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(f"{run.result.upsampler}\nenergy {run.result.checkerboard_init:.3f}", fontsize=9)
        ax.axis("off")
    fig.suptitle("untrained network's output $\\hat\\epsilon(x_t, t)$", fontsize=10)
    fig.tight_layout()
    written.append(out / "init_outputs.png")
    fig.savefig(written[-1])
    plt.close(fig)

    # Mean log power spectra, one colour scale per row: the untrained outputs ε̂ (top), the samples
    # after training (bottom), with the real digits in the bottom-left corner.
    rows = [
        [(None, None)]
        + [(f"{r.result.upsampler}\nuntrained $\\hat\\epsilon$", mean_log_power(r.init_output)) for r in runs],
        [("real digits", mean_log_power(real))]
        + [(f"{r.result.upsampler}\nsamples", mean_log_power(r.samples)) for r in runs],
    ]
    fig, axes = plt.subplots(
        2, len(runs) + 1, figsize=(2.0 * (len(runs) + 1), 5.0), dpi=80, squeeze=False, layout="constrained"
    )
    for row_axes, row in zip(axes, rows):
        spectra = [s for _, s in row if s is not None]
        lo, hi = min(float(np.nanmin(s)) for s in spectra), max(float(np.nanmax(s)) for s in spectra)
        for ax, (name, spectrum) in zip(row_axes, row):
            ax.set_xticks([])
            ax.set_yticks([])
            if spectrum is None:
                ax.axis("off")
                continue
            ax.imshow(spectrum, cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
            ax.set_title(name, fontsize=8)
    fig.suptitle("mean log₁₀ power spectra (centre: zero frequency; top row and left column: Nyquist)", fontsize=9)
    written.append(out / "spectra.png")
    fig.savefig(written[-1])
    plt.close(fig)

    # Checkerboard energy, before and after training.
    names = [r.upsampler for r in report.results]
    pos = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=80)
    for offset, values, label in [
        (-0.2, [r.checkerboard_init for r in report.results], "untrained $\\hat\\epsilon$"),
        (0.2, [r.checkerboard_trained for r in report.results], "trained: samples"),
    ]:
        ax.bar_label(ax.bar(pos + offset, values, 0.4, label=label), fmt="%.3f", fontsize=7)
    ax.axhline(report.reference.checkerboard_white_noise, color="gray", ls="--", lw=1, label="white noise")
    ax.axhline(report.reference.checkerboard_real, color="black", ls=":", lw=1, label="real digits")
    ax.set_xticks(pos, names, fontsize=9)
    ax.set_ylabel("checkerboard energy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    written.append(out / "checkerboard.png")
    fig.savefig(written[-1])
    plt.close(fig)

    # Loss curves.
    fig, ax = plt.subplots(figsize=(5.0, 3.2), dpi=80)
    for run in runs:
        ax.plot(np.arange(1, len(run.epoch_losses) + 1), run.epoch_losses, label=run.result.upsampler)
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel(r"DDPM loss, mean $\|\epsilon - \hat\epsilon\|^2$")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    written.append(out / "loss.png")
    fig.savefig(written[-1])
    plt.close(fig)
    return written
