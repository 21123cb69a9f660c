"""One named table of example geometries, shared by the docs, tests, explainer and benchmark.

``LEARNER`` is the example from the notes tconv began with; ``LAYERS`` are transposed convolutions
from real models (Stable Diffusion's VAE, U-Nets, DCGAN, HiFi-GAN, WaveGAN), the benchmark's table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Example", "Layer", "LEARNER", "EXAMPLES", "LAYERS"]


@dataclass(frozen=True)
class Example:
    """A small worked example: integer input and kernel (2-D lists, or 1-D), and the arguments."""

    name: str
    input: list
    kernel: list
    stride: int | tuple = 1
    padding: object = 0
    output_padding: int | tuple = 0
    dilation: int | tuple = 1
    note: str = ""


@dataclass(frozen=True)
class Layer:
    """A benchmark layer: input shape ``(N, C_in, *spatial)``, ``C_out``, kernel, stride, padding."""

    name: str
    input_shape: tuple
    out_channels: int
    kernel: int
    stride: int
    padding: object = 0
    output_padding: int = 0
    note: str = ""
    kwargs: dict = field(default_factory=dict)

    @property
    def weight_shape(self) -> tuple:
        ndim = len(self.input_shape) - 2
        return (self.input_shape[1], self.out_channels, *(self.kernel,) * ndim)


LEARNER = Example(
    "learner",
    input=[[2, 2], [0, 2]],
    kernel=[[1, 0], [0, 1]],
    note="the notes' example: torch.nn.ConvTranspose2d(1, 1, kernel_size=2, bias=False) gives [[2,2,0],[0,4,2],[0,0,2]]",
)

EXAMPLES = {
    e.name: e
    for e in [
        LEARNER,
        Example(
            "stride2", [[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]], stride=2, note="k=3, s=2: uneven overlap"
        ),
        Example(
            "padding",
            [[1, 2], [3, 4]],
            [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            stride=2,
            padding=1,
            note="padding crops the output",
        ),
        Example(
            "output_padding",
            [[1, 2], [3, 4]],
            [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            stride=2,
            padding=1,
            output_padding=1,
            note="output_padding gives back one row and column at the end",
        ),
        Example("dilation", [[1, 2], [3, 4]], [[1, 2], [3, 4]], dilation=2, note="kernel taps spaced by 2"),
        Example("1d", [1, 2, 3], [1, 10, 100], stride=2, note="one spatial axis"),
        Example(
            "same",
            [[1, 2], [3, 4]],
            [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            stride=2,
            padding="same",
            note="TensorFlow's same: o = i*s",
        ),
    ]
}

LAYERS = [
    Layer("sd-vae-decoder", (1, 512, 64, 64), 512, 4, 2, 1, note="Stable Diffusion VAE decoder, as ConvTranspose"),
    Layer("diffusion-unet", (2, 640, 32, 32), 640, 4, 2, 1, note="diffusion U-Net decoder"),
    Layer("unet-upconv", (1, 1024, 28, 28), 512, 2, 2, 0, note="original U-Net up-convolution, k = s"),
    Layer("unet-highres", (1, 128, 196, 196), 64, 2, 2, 0, note="original U-Net, high resolution, memory-bound"),
    Layer("dcgan", (64, 512, 4, 4), 256, 4, 2, 1, note="DCGAN generator"),
    Layer("dcgan-last", (64, 64, 32, 32), 3, 4, 2, 1, note="DCGAN generator, last layer: few output channels"),
    Layer("unet3d", (2, 64, 32, 32, 32), 32, 2, 2, 0, note="3-D U-Net (nnU-Net)"),
    Layer("hifigan", (1, 512, 200), 256, 16, 8, 4, note="HiFi-GAN vocoder, 1-D"),
    Layer("wavegan", (64, 1024, 16), 512, 25, 4, "same", note="WaveGAN, k not divisible by s"),
    Layer("k3s2-op1", (16, 32, 64, 64), 32, 3, 2, 1, 1, note="k3 s2 with output_padding"),
]
