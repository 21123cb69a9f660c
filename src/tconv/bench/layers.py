"""The benchmark's layer tables: the smoke run's tiny shapes, and the grid of layers from real decoders.

:data:`GRID` is the table ``tconv bench --grid`` times (issue #11): it is meant to be hard to
cherry-pick — U-Net decoder levels (channels 32–1280, sizes 8–128, batch 1–16), GAN generators,
vocoders (long 1-D signals), 3-D U-Nets, with the kernels decoders use (k2 s2, k3 s2 op1, k4 s2 p1,
k16 s8), and small layers where the cost of a call, not its arithmetic, dominates. Each layer's
``note`` is its class, which the report summarises separately. Sizes are kept to about 4 GFLOP or
less so that the whole grid runs in minutes on two cores.
"""

from __future__ import annotations

import numpy as np

from tconv.errors import TConvError
from tconv.examples import Layer

__all__ = ["QUICK_LAYERS", "GRID", "CLASSES", "parse_layer", "random_layers", "MAX_RANDOM_FLOP"]

#: Tiny shapes for ``--quick`` (CI): every arrangement of the fast path, well under a second.
QUICK_LAYERS = [
    Layer("quick-k4s2", (2, 16, 8, 8), 16, 4, 2, 1, note="overlapping taps, crop"),
    Layer("quick-k2s2", (1, 16, 8, 8), 8, 2, 2, 0, note="k = s"),
    Layer("quick-dcgan", (8, 32, 4, 4), 64, 4, 2, 1, note="small image, many channels"),
    Layer("quick-1d", (1, 16, 20), 8, 16, 8, 4, note="1-D"),
    Layer("quick-same", (4, 16, 8), 16, 5, 2, "same", note="'same'"),
    Layer("quick-3d", (1, 8, 4, 4, 4), 4, 2, 2, 0, note="3-D"),
    Layer("quick-op", (2, 8, 8, 8), 8, 3, 2, 1, 1, note="output_padding"),
]

#: The layer classes of :data:`GRID`, in report order.
CLASSES = ("unet-k4s2", "unet-k3s2", "unet-k2s2", "gan", "vocoder", "unet3d", "small")


def _g(cls: str, name: str, shape, c_out: int, k: int, s: int, p=0, op: int = 0) -> Layer:
    return Layer(name, tuple(shape), c_out, k, s, p, op, note=cls)


#: At least 40 layers from real decoders; ``note`` is the class (one of :data:`CLASSES`).
GRID = [
    # U-Net / VAE decoder levels, k4 s2 p1 (pix2pix, VAE decoders written with ConvTranspose)
    _g("unet-k4s2", "u4-512x16", (1, 512, 16, 16), 256, 4, 2, 1),
    _g("unet-k4s2", "u4-256x32b2", (2, 256, 32, 32), 128, 4, 2, 1),
    _g("unet-k4s2", "u4-256x32", (1, 256, 32, 32), 128, 4, 2, 1),
    _g("unet-k4s2", "u4-64x32b8", (8, 64, 32, 32), 64, 4, 2, 1),
    _g("unet-k4s2", "u4-64x64b4", (4, 64, 64, 64), 32, 4, 2, 1),
    _g("unet-k4s2", "u4-256x8b16", (16, 256, 8, 8), 128, 4, 2, 1),
    _g("unet-k4s2", "u4-128x64b2", (2, 128, 64, 64), 64, 4, 2, 1),
    _g("unet-k4s2", "u4-32x128", (1, 32, 128, 128), 32, 4, 2, 1),
    # k3 s2 p1 op1 (diffusion U-Nets' and ResNet decoders' up-sampling)
    _g("unet-k3s2", "u3-1280x8", (1, 1280, 8, 8), 1280, 3, 2, 1, 1),
    _g("unet-k3s2", "u3-640x16", (1, 640, 16, 16), 640, 3, 2, 1, 1),
    _g("unet-k3s2", "u3-320x16b2", (2, 320, 16, 16), 320, 3, 2, 1, 1),
    _g("unet-k3s2", "u3-64x64b4", (4, 64, 64, 64), 64, 3, 2, 1, 1),
    _g("unet-k3s2", "u3-32x32b16", (16, 32, 32, 32), 32, 3, 2, 1, 1),
    _g("unet-k3s2", "u3-128x128", (1, 128, 128, 128), 64, 3, 2, 1, 1),
    # k2 s2 (the original U-Net's up-convolution)
    _g("unet-k2s2", "u2-1024x28", (1, 1024, 28, 28), 512, 2, 2),
    _g("unet-k2s2", "u2-128x128", (1, 128, 128, 128), 64, 2, 2),
    _g("unet-k2s2", "u2-256x32b4", (4, 256, 32, 32), 128, 2, 2),
    _g("unet-k2s2", "u2-512x8b16", (16, 512, 8, 8), 256, 2, 2),
    _g("unet-k2s2", "u2-32x64b8", (8, 32, 64, 64), 32, 2, 2),
    # GAN generators (DCGAN and kin)
    _g("gan", "dcgan-1x1", (64, 100, 1, 1), 512, 4, 1),
    _g("gan", "dcgan-512x4", (16, 512, 4, 4), 256, 4, 2, 1),
    _g("gan", "dcgan-256x8", (32, 256, 8, 8), 128, 4, 2, 1),
    _g("gan", "dcgan-128x16", (16, 128, 16, 16), 64, 4, 2, 1),
    _g("gan", "dcgan-last", (16, 64, 32, 32), 3, 4, 2, 1),
    _g("gan", "gan-512x4b8", (8, 512, 4, 4), 512, 4, 2, 1),
    # vocoders: long 1-D signals (HiFi-GAN, MelGAN, WaveGAN)
    _g("vocoder", "hifigan-1", (1, 512, 200), 256, 16, 8, 4),
    _g("vocoder", "hifigan-2", (1, 256, 1600), 128, 16, 8, 4),
    _g("vocoder", "hifigan-3", (1, 128, 12800), 64, 4, 2, 1),
    _g("vocoder", "hifigan-4", (1, 64, 25600), 32, 4, 2, 1),
    _g("vocoder", "melgan-1", (1, 512, 256), 256, 16, 8, 4),
    _g("vocoder", "k16s8-2048", (1, 256, 2048), 128, 16, 8, 4),
    _g("vocoder", "wavegan", (4, 1024, 16), 512, 25, 4, "same"),
    # 3-D U-Nets (nnU-Net, V-Net)
    _g("unet3d", "d2-64x32", (1, 64, 32, 32, 32), 32, 2, 2),
    _g("unet3d", "d2-128x16b2", (2, 128, 16, 16, 16), 64, 2, 2),
    _g("unet3d", "d2-256x8", (1, 256, 8, 8, 8), 128, 2, 2),
    _g("unet3d", "d3-64x16", (1, 64, 16, 16, 16), 32, 3, 2, 1, 1),
    _g("unet3d", "d4-32x16", (1, 32, 16, 16, 16), 16, 4, 2, 1),
    # small layers: the cost of a call dominates
    _g("small", "s-1d-128x16b32", (32, 128, 16), 64, 4, 2, 1),
    _g("small", "s-16x8", (1, 16, 8, 8), 16, 4, 2, 1),
    _g("small", "s-32x8b4", (4, 32, 8, 8), 32, 3, 2, 1, 1),
    _g("small", "s-64x4", (1, 64, 4, 4), 64, 4, 2, 1),
    _g("small", "s-1d-64x32", (1, 64, 32), 32, 16, 8, 4),
    _g("small", "s-3d-16x4", (1, 16, 4, 4, 4), 8, 2, 2),
    _g("small", "s-8x16b2", (2, 8, 16, 16), 8, 2, 2),
]


def parse_layer(text: str) -> Layer:
    """``"N,C,H,W:Cout:k:s:p[:op]"`` (any number of spatial sizes; ``p`` may be ``same``) → Layer.

    >>> parse_layer("8,64,32,32:32:4:2:1")
    Layer(name='8x64x32x32-32-k4s2p1', input_shape=(8, 64, 32, 32), out_channels=32, kernel=4, stride=2, padding=1, output_padding=0, note='', kwargs={})

    Raises
    ------
    TConvError
        The text does not follow the format (the message shows it).
    """
    parts = text.split(":")
    try:
        if len(parts) not in (5, 6):
            raise ValueError("expected 5 or 6 fields separated by ':'")
        shape = tuple(int(v) for v in parts[0].split(","))
        if len(shape) < 3:
            raise ValueError("the input shape needs N, C and at least one spatial size")
        cout, k, s = int(parts[1]), int(parts[2]), int(parts[3])
        p = parts[4] if parts[4] in ("same", "valid") else int(parts[4])
        op = int(parts[5]) if len(parts) == 6 else 0
    except ValueError as exc:
        raise TConvError(
            f'--layer {text!r}: {exc} (format "N,C,H,W:Cout:k:s:p[:op]", e.g. "8,64,32,32:32:4:2:1")'
        ) from None
    name = f"{'x'.join(map(str, shape))}-{cout}-k{k}s{s}p{p}" + (f"op{op}" if op else "")
    return Layer(name, shape, cout, k, s, p, op)


#: The kernels decoders use, ``(k, s, p, op)``, by number of spatial axes (as in :data:`GRID`).
_KERNELS = {
    1: ((4, 2, 1, 0), (16, 8, 4, 0), (3, 2, 1, 1), (2, 2, 0, 0), (25, 4, "same", 0)),
    2: ((4, 2, 1, 0), (3, 2, 1, 1), (2, 2, 0, 0), (4, 1, 0, 0), (5, 2, "same", 0)),
    3: ((2, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0)),
}
#: Spatial sizes per axis, by number of spatial axes.
_SIZES = {1: (16, 32, 64, 200, 256, 1024, 2048, 4096), 2: (1, 4, 8, 16, 32, 64, 128), 3: (4, 8, 16, 32)}
#: Random layers are redrawn above this many flops (2 per multiply-add), as the grid's layers are kept.
MAX_RANDOM_FLOP = 4e9


def random_layers(count: int, seed: int) -> list[Layer]:
    """``count`` layers drawn from realistic ranges (class ``random``), reproducible from ``seed``.

    Spatial axes 2 (60 %), 1 or 3 (20 % each); a decoder's kernel for that many axes; input channels
    8–1024 in powers of two; output channels half, equal, a quarter or 3 (an RGB head: a thin
    product); batch 1–16 in powers of two; sizes from :data:`_SIZES`. A draw over
    :data:`MAX_RANDOM_FLOP` is drawn again.

    >>> [l.name for l in random_layers(2, seed=0)] == [l.name for l in random_layers(2, seed=0)]
    True
    """
    rng = np.random.default_rng(seed)
    out: list[Layer] = []
    while len(out) < count:
        nd = int(rng.choice([1, 2, 3], p=[0.2, 0.6, 0.2]))
        k, s, p, op = _KERNELS[nd][rng.integers(len(_KERNELS[nd]))]
        c_in = int(2 ** rng.integers(3, 11))
        c_out = max(1, int(rng.choice([c_in // 2, c_in, c_in // 4, 3])))
        n = int(2 ** rng.integers(0, 5))
        size = int(rng.choice(_SIZES[nd]))
        shape = (n, c_in, *(size,) * nd)
        if 2 * n * c_in * c_out * size**nd * k**nd > MAX_RANDOM_FLOP:
            continue
        name = f"r{len(out)}-{'x'.join(map(str, shape))}-{c_out}-k{k}s{s}p{p}" + (f"op{op}" if op else "")
        out.append(Layer(name, shape, c_out, k, s, p, op, note="random"))
    return out
