"""Hand-written networks with transposed convolutions, and the comparison every model test makes.

:func:`compare` builds a model twice from one seed (not by ``deepcopy``: PyTorch cannot deepcopy a
layer wrapped by the old ``torch.nn.utils.weight_norm``), swaps tconv into one, runs a forward and a
backward pass through both in float64, and returns the model's largest difference over the output,
the input's gradient and every parameter's gradient (:func:`difference`: relative to one scale for
the whole model) — after checking that both models have the same parameters and that each
``state_dict`` loads into the other.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")  # this helper is collected for doctests: skip it without torch
from torch import nn  # noqa: E402
from torch.nn.utils import parametrizations, spectral_norm, weight_norm  # noqa: E402

import tconv.torch as tt  # noqa: E402

# Radford et al.'s DCGAN generator, narrowed (1×1 noise → 32×32 image): the one `tconv audit` exports.
from tconv.auditor.examples import dcgan_generator  # noqa: E402, F401


class TinyUNet(nn.Module):
    """Two down-sampling steps (stride-2 convolutions), two up-sampling steps (transposed
    convolutions, one k4 s2 p1 and one k3 s2 p1 op1), each followed by concatenation with the skip."""

    def __init__(self, channels=3, width=4):
        super().__init__()
        w = width
        self.inp = nn.Conv2d(channels, w, 3, padding=1)
        self.down1 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=2, padding=1)
        self.mix2 = nn.Conv2d(4 * w, 2 * w, 3, padding=1)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 3, stride=2, padding=1, output_padding=1)
        self.mix1 = nn.Conv2d(2 * w, w, 3, padding=1)
        self.out = nn.Conv2d(w, channels, 1)

    def forward(self, x):
        s0 = torch.relu(self.inp(x))
        s1 = torch.relu(self.down1(s0))
        h = torch.relu(self.down2(s1))
        h = torch.relu(self.mix2(torch.cat([self.up2(h), s1], dim=1)))
        h = torch.relu(self.mix1(torch.cat([self.up1(h), s0], dim=1)))
        return self.out(h)


class HiFiGANUp(nn.Module):
    """HiFi-GAN's generator up-sampling path (V1 rates 8, 8, 2, 2 shortened to 8, 2): each step a
    weight-normalised ``ConvTranspose1d(k = 2·u, stride u, padding (k − u)/2)`` after a leaky ReLU,
    then a residual dilated block. ``norm``: ``"old"`` (``torch.nn.utils.weight_norm``, as in the
    official code), ``"parametrizations"`` (the new API), or None."""

    def __init__(self, channels=8, rates=(8, 2), norm="old"):
        super().__init__()
        wrap = {"old": weight_norm, "parametrizations": parametrizations.weight_norm, None: lambda m: m}[norm]
        self.pre = wrap(nn.Conv1d(4, channels, 7, padding=3))
        self.ups = nn.ModuleList()
        self.res = nn.ModuleList()
        for i, u in enumerate(rates):
            c = channels // 2**i
            self.ups.append(wrap(nn.ConvTranspose1d(c, c // 2, 2 * u, u, padding=u // 2)))
            self.res.append(wrap(nn.Conv1d(c // 2, c // 2, 3, dilation=3, padding=3)))
        self.post = wrap(nn.Conv1d(channels // 2 ** len(rates), 1, 7, padding=3))

    def forward(self, x):
        x = self.pre(x)
        for up, res in zip(self.ups, self.res):
            x = up(nn.functional.leaky_relu(x, 0.1))
            x = x + res(nn.functional.leaky_relu(x, 0.1))
        return torch.tanh(self.post(nn.functional.leaky_relu(x)))


def spectral_generator(api="old"):
    """A GAN generator with spectrally normalised transposed convolutions (SN-GAN, BigGAN)."""
    wrap = spectral_norm if api == "old" else parametrizations.spectral_norm
    return nn.Sequential(
        wrap(nn.ConvTranspose2d(8, 8, 4, 1, 0)),
        nn.ReLU(),
        wrap(nn.ConvTranspose2d(8, 4, 4, 2, 1)),
        nn.ReLU(),
        wrap(nn.ConvTranspose2d(4, 3, 3, 1, 1)),
    )


class Tied(nn.Module):
    """One up-sampling layer applied twice (weight sharing through module reuse)."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1)
        self.mid = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.up(torch.tanh(self.mid(self.up(x))))


def frozen_decoder():
    """A pretrained (frozen) up-sampler feeding a trainable head."""
    up = nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1).requires_grad_(False)
    return nn.Sequential(up, nn.ReLU(), nn.Conv2d(4, 3, 1))


def hooked():
    """An up-sampling layer with a forward hook that doubles its output, a pre-hook and a backward hook."""
    up = nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1)
    up.register_forward_hook(lambda m, i, o: o * 2)
    up.register_forward_pre_hook(lambda m, i: (i[0] + 1,))
    up.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    return nn.Sequential(nn.Conv2d(3, 3, 1), up)


class NormedUp(nn.Module):
    """An up-sampling step as MONAI's BasicUNet has it: a convolution with a bias right before an
    instance norm, which subtracts every channel's mean — so that bias's gradient is analytically
    zero, and computed as rounding noise (~1e-16) that differs between any two summation orders."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.norm = nn.InstanceNorm2d(4, affine=True)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.out(nn.functional.leaky_relu(self.norm(self.conv(self.up(x))), 0.1))


def outputs_and_gradients(model, x):
    """Output, input gradient and parameter gradients of one pass, with an uneven output gradient."""
    x = x.clone().requires_grad_()
    model.zero_grad()
    y = model(x)
    (y * torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
    return y.detach(), x.grad, {n: p.grad for n, p in model.named_parameters()}


def relative(a, b) -> float:
    """max |a − b| / max |b| for one tensor (0 for two empty or two absent tensors)."""
    if a is None or b is None:
        assert a is None and b is None
        return 0.0
    scale = b.abs().max().item() if b.numel() else 0.0
    worst = (a - b).abs().max().item() if b.numel() else 0.0
    return worst / scale if scale else worst


def difference(ours, theirs) -> float:
    """A model's largest difference: max |a − b| over every pair of tensors, divided by one scale,
    the largest |b| over all of them (``theirs`` is the reference; absent tensors pair with absent).

    One scale for the model, not one per tensor: a gradient that is analytically zero (:class:`NormedUp`)
    is rounding noise in both models, and noise divided by noise is of order 1 however right both
    are. Against the model's scale an error stays visible unless it is smaller than ``tolerance ·
    scale``; a tensor can only hide one if all its values are that small (indistinguishable from 0).

    >>> theirs = [torch.tensor([1.0, -2.0]), torch.tensor([-1e-16])]  # an output, a gradient that is 0
    >>> ours = [torch.tensor([1.0, -2.0]), torch.tensor([3e-16])]
    >>> f"{relative(ours[1], theirs[1]):.0f} per tensor, {difference(ours, theirs):.0e} for the model"
    '4 per tensor, 2e-16 for the model'
    """
    pairs = list(zip(ours, theirs, strict=True))
    for a, b in pairs:
        assert (a is None) == (b is None) and (a is None or a.shape == b.shape)
    pairs = [(a, b) for a, b in pairs if a is not None and a.numel()]
    scale = max((b.abs().max().item() for _, b in pairs), default=0.0)
    worst = max(((a - b).abs().max().item() for a, b in pairs), default=0.0)
    return worst / scale if scale else worst


def compare(make, x, *, train=False, tamper=None, **swap):
    """The model's largest difference (:func:`difference`), unswapped vs swapped, over output and
    every gradient (float64). ``make()`` builds the model; it is called twice after the same seed.
    ``tamper(model)``, if given, alters the swapped model before the pass (the tests of the test)."""
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        models.append(make().to(torch.float64).train(train))
    theirs, ours = models
    ours, report = tt.swap_conv_transpose(ours, report=True, **swap)
    assert report.swapped, "nothing was swapped"
    assert all(isinstance(m, tt.ConvTranspose1d | tt.ConvTranspose2d | tt.ConvTranspose3d) for m in _conv_t(ours))
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    if tamper is not None:
        tamper(ours)
    (y0, g0, p0), (y1, g1, p1) = outputs_and_gradients(theirs, x), outputs_and_gradients(ours, x)
    assert p0.keys() == p1.keys()
    worst = difference([y1, g1, *(p1[n] for n in p0)], [y0, g0, *p0.values()])
    ours.load_state_dict(theirs.state_dict())  # both ways
    theirs.load_state_dict(ours.state_dict())
    return worst


def _conv_t(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvTransposeNd)]
