"""``tconv.torch.init_phase_balanced_``: after it, a layer answers a constant input with a flat interior,
by the smallest change of its weights, keeping everything else of torch's initialisation."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import numpy as np  # noqa: E402
from torch import nn  # noqa: E402

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tconv.auditor.phases import constant_response, constant_response_imbalance  # noqa: E402
from tests.auditor.test_phases import LAYERS, _ids, _interior_period  # noqa: E402


def _layer(case, cls=None):
    c_in, c_out, kernel, stride, dilation, groups, padding = case
    cls = cls or getattr(nn, f"ConvTranspose{len(kernel)}d")
    torch.manual_seed(3)
    return cls(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups).double()


def _imbalance(layer) -> float:
    return constant_response_imbalance(layer.weight.detach().numpy(), layer.stride, layer.dilation, layer.groups)


@pytest.mark.parametrize("case", LAYERS, ids=_ids)
def test_a_balanced_layer_gives_a_flat_interior_on_ones(case):
    c_in, _, kernel, stride, dilation, _, padding = case
    layer = tt.init_phase_balanced_(_layer(case))
    assert _imbalance(layer) == pytest.approx(0.0, abs=1e-20)
    size = [-(-(d * (k - 1) + 1) // s) + 3 for k, s, d in zip(kernel, stride, dilation)]
    with torch.no_grad():
        y = (layer(torch.ones(1, c_in, *size, dtype=torch.float64)) - layer.bias.reshape(-1, *(1,) * len(kernel)))[0]
    period = _interior_period(y.numpy(), kernel, stride, dilation, padding)
    spread = period.reshape(period.shape[0], -1)
    np.testing.assert_allclose(spread, spread[:, :1].repeat(spread.shape[1], axis=1), atol=1e-12)


@pytest.mark.parametrize(
    "case", [c for c in LAYERS if all(0 not in a for a in tconv.auditor.taps_per_phase(c[2], c[3], c[4]))], ids=_ids
)
def test_the_change_is_the_smallest_that_balances(case):
    """Any other balanced weight — here: the same taps shifted to the plain mean of the phase sums,
    or to the balanced sums plus any constant — is further from the initial draw."""
    layer = _layer(case)
    before = layer.weight.detach().clone()
    tt.init_phase_balanced_(layer)
    ours = (layer.weight.detach() - before).norm()
    groups, per_in = layer.groups, before.shape[0] // layer.groups
    counts = tconv.auditor.phases.phase_counts(before.shape[2:], layer.stride, layer.dilation).reshape(-1)
    phase = torch.from_numpy(
        tconv.auditor.phases.phase_of_taps(before.shape[2:], layer.stride, layer.dilation).reshape(-1)
    )
    response = torch.from_numpy(
        constant_response(before.numpy(), layer.stride, layer.dilation, groups).reshape(before.shape[1] * groups, -1)
    )
    for target in (response.mean(dim=1), response.mean(dim=1) + 0.1, response.mean(dim=1) - 0.05):
        delta = (target[:, None] - response) / (torch.from_numpy(counts).double() * per_in)
        other = (
            delta[:, phase]
            .reshape(groups, 1, before.shape[1], *before.shape[2:])
            .expand(groups, per_in, *before.shape[1:])
        )
        assert ours <= other.norm() + 1e-12


def test_already_balanced_weights_are_left_alone():
    layer = nn.ConvTranspose1d(2, 2, 4, stride=2).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, 3.0, 3.0, 1.0]).expand(2, 2, 4))
    before = layer.weight.detach().clone()
    torch.testing.assert_close(tt.init_phase_balanced_(layer).weight, before)


def test_phases_without_taps_force_a_zero_response():
    layer = tt.init_phase_balanced_(nn.ConvTranspose1d(3, 2, 2, stride=2, dilation=2).double())
    response = constant_response(layer.weight.detach().numpy(), (2,), (2,))
    np.testing.assert_allclose(response, 0.0, atol=1e-15)


def test_tconv_layers_and_parametrized_weight_norm():
    layer = tt.ConvTranspose2d(4, 4, 3, stride=2, padding="same").double()
    assert _imbalance(tt.init_phase_balanced_(layer)) < 1e-20
    normed = nn.utils.parametrizations.weight_norm(nn.ConvTranspose1d(4, 2, 8, stride=4, padding=2).double())
    tt.init_phase_balanced_(normed)
    assert _imbalance(normed) < 1e-20
    assert set(dict(normed.named_parameters())) == {
        "bias",
        "parametrizations.weight.original0",
        "parametrizations.weight.original1",
    }


@pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")
@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.Conv2d(2, 2, 3), "must be a ConvTranspose1d, 2d or 3d; got Conv2d"),
        (lambda: nn.utils.weight_norm(nn.ConvTranspose1d(2, 2, 4, stride=2)), "old torch.nn.utils.weight_norm hook"),
    ],
    ids=["a convolution", "old weight_norm"],
)
def test_what_it_refuses(make, message):
    with pytest.raises(tconv.TConvTypeError, match=message):
        tt.init_phase_balanced_(make())


def test_the_study_offers_balanced_transposed_convolutions():
    from tconv.study.model import BALANCED, make_upsampler

    for name in BALANCED:
        up = make_upsampler(name, 8)
        assert _imbalance(up) < 1e-12
