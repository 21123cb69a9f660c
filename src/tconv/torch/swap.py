"""Run a real network on tconv: every ``torch.nn.ConvTranspose{1,2,3}d`` of a model becomes tconv's.

The swap changes each layer's class and nothing else (:func:`~tconv.torch.modules.convert_`), so
the model keeps what it was: a layer used in two places stays one layer with one set of parameters;
frozen parameters stay frozen; hooks of every kind, training mode, device and dtype stay; layers
wrapped by ``torch.nn.utils.weight_norm``/``spectral_norm`` or parametrized by
``torch.nn.utils.parametrizations`` keep normalising, with their ``state_dict`` keys unchanged; an
optimizer built before the swap still holds the parameters the model uses.

>>> import torch
>>> model = torch.nn.Sequential(torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1), torch.nn.ReLU())
>>> x = torch.randn(1, 3, 8, 8)
>>> before = model(x)
>>> model, report = swap_conv_transpose(model, report=True)
>>> print(report)
swapped 1 layer, left 0
  swapped  0  ConvTranspose2d
>>> torch.allclose(model(x), before, atol=1e-5)
True
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

from tconv.torch.modules import ConvTransposeNd, convert_, convertible

__all__ = ["swap_conv_transpose", "SwapReport", "SwapEntry"]

_TORCH_LAYERS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
# torch.nn's private base of the three, so that subclasses of it are reported too; the three public
# classes if a torch lacks it. The hook dictionaries below are nn.Module's private attributes, read
# (with an empty default) only to describe a layer in the report.
_BASE = getattr(nn.modules.conv, "_ConvTransposeNd", _TORCH_LAYERS)
_HOOKS = {
    "forward pre-hook": "_forward_pre_hooks",
    "forward hook": "_forward_hooks",
    "backward hook": "_backward_hooks",
    "backward pre-hook": "_backward_pre_hooks",
    "state_dict hook": "_state_dict_hooks",
    "load_state_dict pre-hook": "_load_state_dict_pre_hooks",
    "load_state_dict post-hook": "_load_state_dict_post_hooks",
}


@dataclass(frozen=True)
class SwapEntry:
    """One layer: every name it has in the model (more than one when shared), its class, and a note
    (what it carries when swapped; why not, when left)."""

    names: tuple[str, ...]
    kind: str
    note: str

    def line(self, verdict: str) -> str:
        where = ", ".join(n or "(the model itself)" for n in self.names)
        return f"  {verdict:<7}  {where}  {self.kind}" + (f": {self.note}" if self.note else "")


@dataclass(frozen=True)
class SwapReport:
    """What :func:`swap_conv_transpose` swapped and what it left, and why. ``print`` it."""

    swapped: tuple[SwapEntry, ...]
    left: tuple[SwapEntry, ...]

    def __str__(self) -> str:
        head = f"swapped {len(self.swapped)} layer{'s' * (len(self.swapped) != 1)}, left {len(self.left)}"
        return "\n".join([head, *(e.line("swapped") for e in self.swapped), *(e.line("left") for e in self.left)])


def _carried(layer) -> str:
    """What a swapped layer keeps that a fresh layer would not have: said in the report."""
    notes = []
    if parametrize.is_parametrized(layer):
        for name, plist in layer.parametrizations.items():
            notes.append(f"parametrized {name} ({', '.join(type(p).__name__ for p in plist)})")
    pre = list(getattr(layer, "_forward_pre_hooks", {}).values())
    notes += [f"{type(h).__name__} hook on {h.name}" for h in pre if isinstance(h, (WeightNorm, SpectralNorm))]
    others = {k: len(getattr(layer, a, {})) for k, a in _HOOKS.items()}
    others["forward pre-hook"] -= sum(isinstance(h, (WeightNorm, SpectralNorm)) for h in pre)
    notes += [f"{n} {k}{'s' * (n > 1)}" for k, n in others.items() if n]
    frozen = [n for n, p in layer.named_parameters() if not p.requires_grad]
    if frozen:
        notes.append(f"frozen {', '.join(frozen)}")
    return "; ".join(notes)


def _why_left(layer) -> str | None:
    """Why a transposed-convolution layer is not swapped (None: it is swapped)."""
    if isinstance(layer, ConvTransposeNd):
        return "already tconv's"
    if isinstance(layer, nn.modules.lazy.LazyModuleMixin) and layer.has_uninitialized_params():
        return "lazy layer not yet initialised: run one forward pass, then swap"
    if not convertible(layer):
        base = next(c.__name__ for c in type(layer).__mro__ if c in _TORCH_LAYERS or c is _BASE)
        return f"a subclass of torch.nn.{base}: its own forward may differ, so it keeps it"
    return None


def swap_conv_transpose(model: nn.Module, *, method="auto", report: bool = False):
    """Make every ``torch.nn.ConvTranspose{1,2,3}d`` of ``model`` tconv's, in place.

    Parameters
    ----------
    model
        Any module (or a single transposed-convolution layer).
    method
        The core's method for the swapped layers (``"auto"``, one of :data:`tconv.METHODS`, ``"native"``).
    report
        Also return a :class:`SwapReport`: each layer swapped (and what it carries: parametrizations,
        weight-norm hooks, other hooks, frozen parameters, every name of a shared layer) and each
        transposed-convolution layer left, with the reason.

    Returns
    -------
    nn.Module or (nn.Module, SwapReport)
        ``model`` itself (its layers changed class in place), and the report if asked for.
    """
    names: dict[int, list[str]] = {}
    layers: dict[int, nn.Module] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        if isinstance(module, (*_TORCH_LAYERS, _BASE)):
            names.setdefault(id(module), []).append(name)
            layers[id(module)] = module
    swapped, left = [], []
    for key, layer in layers.items():
        reason = _why_left(layer)
        if reason is None:
            kind = type(layer).__name__
            convert_(layer, method)  # once per layer object: a shared layer stays shared
            swapped.append(SwapEntry(tuple(names[key]), kind, _carried(layer)))
        else:
            left.append(SwapEntry(tuple(names[key]), type(layer).__name__, reason))
    return (model, SwapReport(tuple(swapped), tuple(left))) if report else model
