"""``swap_conv_transpose`` keeps the model it swaps: one layer stays one layer, and everything a
layer carries — parameters (tied, frozen), hooks of every kind, training mode, device, dtype,
parametrizations, the old weight-norm and spectral-norm hooks — stays with it. It reports what it
swapped and what it left, and why. (Numbers against torch.nn, model by model: ``test_models.py``.)"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils import parametrizations, parametrize, spectral_norm, weight_norm  # noqa: E402

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tests.torch import nets  # noqa: E402


def test_swap_replaces_every_conv_transpose_and_nothing_else():
    torch.manual_seed(0)
    model = nets.TinyUNet()
    params = list(model.parameters())
    swapped = tt.swap_conv_transpose(model, method="polyphase")
    assert swapped is model and list(model.parameters()) == params  # the same tensors: optimizers keep working
    assert type(model.up2) is tt.ConvTranspose2d and type(model.up1) is tt.ConvTranspose2d
    assert type(model.down1) is nn.Conv2d
    assert model.up1.method == "polyphase" and model.up1.output_padding == (1, 1)
    single = nn.ConvTranspose1d(2, 3, 4)
    assert tt.swap_conv_transpose(single) is single and type(single) is tt.ConvTranspose1d


def test_a_shared_layer_stays_one_layer_with_one_set_of_parameters():
    torch.manual_seed(0)
    model = nets.Tied()
    _, report = tt.swap_conv_transpose(model, report=True)
    assert model.up is model._modules["up"] and len(list(model.parameters())) == 4
    (entry,) = report.swapped
    assert entry.names == ("up",)
    shared = nn.ConvTranspose2d(2, 2, 3)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    _, report = tt.swap_conv_transpose(seq, report=True)
    assert seq[0] is seq[2] and type(seq[0]) is tt.ConvTranspose2d
    assert [e.names for e in report.swapped] == [("0", "2")]


def test_requires_grad_training_mode_device_and_dtype_are_kept():
    layer = nn.ConvTranspose2d(2, 3, 3, dtype=torch.float64).requires_grad_(False).eval()
    layer.bias.requires_grad_(True)
    tt.swap_conv_transpose(layer)
    assert not layer.weight.requires_grad and layer.bias.requires_grad
    assert not layer.training and layer.weight.dtype == torch.float64
    layer(torch.randn(1, 2, 4, 4, dtype=torch.float64)).sum().backward()
    assert layer.weight.grad is None and layer.bias.grad is not None


def test_hooks_of_every_kind_still_run():
    calls = []
    layer = nn.ConvTranspose2d(2, 2, 3)
    layer.register_forward_pre_hook(lambda m, i: calls.append("pre"))
    layer.register_forward_hook(lambda m, i, o: o * 2)
    layer.register_full_backward_pre_hook(lambda m, go: calls.append("backward pre"))
    layer.register_full_backward_hook(lambda m, gi, go: calls.append("backward"))
    layer.register_state_dict_post_hook(lambda m, sd, prefix, local: calls.append("state_dict"))
    layer.register_load_state_dict_post_hook(lambda m, keys: calls.append("load"))
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4, requires_grad=True)
    before = layer(x).detach()
    calls.clear()
    _, report = tt.swap_conv_transpose(layer, report=True)
    y = layer(x)
    assert torch.allclose(y, before, atol=1e-6)  # the doubling forward hook ran
    y.sum().backward()
    layer.load_state_dict(layer.state_dict())
    assert calls == ["pre", "backward pre", "backward", "state_dict", "load"]
    assert "1 forward hook" in str(report) and "1 backward hook" in str(report)


@pytest.mark.parametrize("api", ["old", "parametrizations"])
def test_weight_norm_keeps_normalising_with_its_state_dict_keys(api):
    torch.manual_seed(0)
    wrap = weight_norm if api == "old" else parametrizations.weight_norm
    layer = wrap(nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1))
    keys = list(layer.state_dict())
    _, report = tt.swap_conv_transpose(layer, report=True)
    assert isinstance(layer, tt.ConvTranspose1d) and list(layer.state_dict()) == keys
    assert ("WeightNorm hook" if api == "old" else "parametrized weight (_WeightNorm)") in str(report)
    # Still normalising: scaling the direction v leaves the output unchanged, scaling g scales it.
    x = torch.randn(2, 3, 5)
    g, v = (
        (layer.weight_g, layer.weight_v)
        if api == "old"
        else (layer.parametrizations.weight.original0, layer.parametrizations.weight.original1)
    )
    y = layer(x) - layer.bias.reshape(-1, 1)
    with torch.no_grad():
        v.mul_(3.0)
    assert torch.allclose(layer(x) - layer.bias.reshape(-1, 1), y, atol=1e-5)
    with torch.no_grad():
        g.mul_(2.0)
    assert torch.allclose(layer(x) - layer.bias.reshape(-1, 1), 2 * y, atol=1e-5)
    if api == "parametrizations":  # removing the parametrization leaves tconv's plain layer
        parametrize.remove_parametrizations(layer, "weight")
        assert type(layer) is tt.ConvTranspose1d


@pytest.mark.parametrize("api", ["old", "parametrizations"])
def test_spectral_norm_keeps_its_power_iteration(api):
    torch.manual_seed(0)
    wrap = spectral_norm if api == "old" else parametrizations.spectral_norm
    layers = []
    for _ in range(2):
        torch.manual_seed(0)
        layers.append(wrap(nn.ConvTranspose2d(3, 2, 3, stride=2)).train())
    theirs, ours = layers
    tt.swap_conv_transpose(ours)
    x = torch.randn(1, 3, 4, 4)
    for _ in range(3):  # training mode: each call runs one power iteration and updates u
        assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, value in theirs.state_dict().items():
        assert torch.allclose(ours.state_dict()[key], value, atol=1e-6), key


def test_from_torch_copies_and_converts():
    theirs = parametrizations.weight_norm(nn.ConvTranspose2d(2, 3, 3))
    ours = tt.ConvTranspose2d.from_torch(theirs, method="scatter")
    assert ours is not theirs and type(theirs).__bases__[0] is nn.ConvTranspose2d
    assert isinstance(ours, tt.ConvTranspose2d) and ours.method == "scatter"
    x = torch.randn(1, 2, 4, 4)
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    with pytest.raises(tconv.TConvTypeError, match="ConvTranspose3d"):
        tt.ConvTranspose3d.from_torch(nn.ConvTranspose2d(2, 3, 3))


def test_the_report_says_what_was_left_and_why():
    class Custom(nn.ConvTranspose2d):
        def forward(self, x, output_size=None):
            return super().forward(x) * 0

    model = nn.Sequential(
        nn.ConvTranspose2d(2, 2, 3).requires_grad_(False),
        Custom(2, 2, 3),
        nn.LazyConvTranspose2d(2, 3),
        tt.ConvTranspose2d(2, 2, 3),
    )
    _, report = tt.swap_conv_transpose(model, report=True)
    text = str(report)
    assert text.splitlines()[0] == "swapped 1 layer, left 3"
    assert "swapped  0  ConvTranspose2d: frozen weight, bias" in text
    assert "left     1  Custom: a subclass of torch.nn.ConvTranspose2d" in text
    assert "left     2  LazyConvTranspose2d: lazy layer not yet initialised" in text
    assert "left     3  ConvTranspose2d: already tconv's" in text
    assert type(model[1]) is Custom
    model[2](torch.randn(1, 2, 4, 4))  # initialised: now a plain ConvTranspose2d, swapped next time
    _, report = tt.swap_conv_transpose(model, report=True)
    assert [e.names for e in report.swapped] == [("2",)]
