"""``tconv.torch.audit(module, example_input)``: the up-samplers a forward pass runs through, in order,
with the shapes of their first call, and nothing about the module changed."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import tconv.torch as tt  # noqa: E402
from tconv.auditor import records  # noqa: E402
from tconv.auditor.phases import constant_response_imbalance  # noqa: E402
from tests.torch import nets  # noqa: E402

#: The fields every ConvTranspose layer has in the JSON, named as the issue fixes them.
FIELDS = {
    "name",
    "op",
    "input_shape",
    "output_shape",
    "kernel",
    "stride",
    "dilation",
    "crop",
    "output_padding",
    "groups",
    "taps_per_phase",
    "uneven_overlap",
    "constant_response_imbalance",
    "ambiguous",
    "advice",
}


class SuperResolution(nn.Module):
    """Every kind of up-sampler once: a sub-pixel convolution by hand, nn.Upsample, tconv's two layers."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear")
        self.resize = tt.ResizeConv(3, 3)
        self.subpixel = tt.SubPixelConv(3, 3)
        self.lonely = nn.PixelShuffle(2)  # fed by a concatenation, not a convolution
        self.unused = nn.ConvTranspose2d(3, 3, 4, stride=2)

    def forward(self, x):
        y = self.up(self.shuffle(self.conv(x))) + self.subpixel(self.resize(x))
        lonely = self.lonely(torch.cat([x, x, x, x], dim=1))  # 4 → 8, then a functional resize (not a module)
        return y + nn.functional.interpolate(lonely, scale_factor=2)


def test_every_kind_of_upsampler_in_call_order():
    torch.manual_seed(0)
    a = tt.audit(SuperResolution(), torch.randn(1, 3, 4, 4))
    assert [(la.name, la.op) for la in a.layers] == [
        ("shuffle", "PixelShuffle"),
        ("up", "Upsample"),
        ("resize", "ResizeConv"),
        ("subpixel", "SubPixelConv"),
        ("lonely", "PixelShuffle"),
    ]
    shuffle, up, resize, subpixel, lonely = a.layers
    assert shuffle.feeds_from == "conv" and shuffle.constant_response_imbalance > 0.01
    assert (up.scale, up.stride, up.constant_response_imbalance, up.mode) == ((2.0, 2.0), (2, 2), 0.0, "bilinear")
    assert resize.output_shape == (1, 3, 8, 8) and resize.kernel == (3, 3)
    assert subpixel.constant_response_imbalance == 0.0 and subpixel.verdict == "flat"  # ICNR
    assert lonely.feeds_from is None and lonely.constant_response_imbalance is None
    assert lonely.verdict == "not measured"
    assert [(s.name, s.reason) for s in a.skipped] == [("unused", "not called by the example input")]


def test_a_transposed_convolution_as_the_issue_describes_it():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 1), nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    )
    layer = tt.audit(net, torch.zeros(2, 2, 5, 7)).layer("1")
    assert layer.to_dict().keys() >= FIELDS and set(records.FIELDS) == FIELDS
    assert (layer.op, layer.input_shape, layer.output_shape) == ("ConvTranspose2d", (2, 4, 5, 7), (2, 6, 10, 14))
    assert (layer.kernel, layer.stride, layer.dilation, layer.groups) == ((3, 3), (2, 2), (1, 1), 2)
    assert layer.crop == ((1, 0), (1, 0)) and layer.output_padding == (1, 1)
    assert layer.taps_per_phase == ((2, 1), (2, 1)) and layer.uneven_overlap
    w = net[1].weight.detach().double().numpy()
    assert layer.constant_response_imbalance == constant_response_imbalance(w, (2, 2), (1, 1), 2)
    assert layer.ambiguous == () and "not divisible by stride" in layer.advice
    assert layer.explain.startswith('tconv explain --input "1 1 1 1; ') and "--padding 1:0,1:0" in layer.explain
    assert layer.serve_url.startswith("http://127.0.0.1:8765/?input=")
    document = json.loads(tt.audit(net, torch.zeros(2, 2, 5, 7)).to_json())
    assert set(document) == {"model", "source", "layers", "skipped", "notes"} and document["model"] == "Sequential"
    assert document["layers"][0]["crop"] == [[1, 0], [1, 0]]


@pytest.mark.parametrize(
    "make, size, crop, output_padding",
    [
        (lambda: nn.ConvTranspose1d(2, 2, 3, stride=2, padding=1), 5, ((1, 1),), (0,)),
        (lambda: tt.ConvTranspose1d(2, 2, 3, stride=2, padding="same"), 5, ((0, 1),), (0,)),
        (lambda: tt.ConvTranspose1d(2, 2, 3, stride=2, padding=((2, 0),)), 5, ((2, 0),), (0,)),
        (lambda: nn.ConvTranspose1d(2, 2, 3, stride=3, padding=1, output_padding=2), 5, ((1, -1),), (2,)),
    ],
    ids=["torch padding", "tconv same", "tconv pairs", "output_padding"],
)
def test_the_crop_in_every_padding_spelling(make, size, crop, output_padding):
    layer = tt.audit(nn.Sequential(make()), torch.zeros(1, 2, size)).layers[0]
    assert (layer.crop, layer.output_padding) == (crop, output_padding)


def test_output_size_given_at_call_time_is_read_from_the_output():
    class Sized(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)

        def forward(self, x):
            return self.up(x, output_size=(10, 9))

    layer = tt.audit(Sized(), torch.zeros(1, 2, 5, 5)).layers[0]
    assert layer.output_padding == (1, 0) and layer.crop == ((1, 0), (1, 1))


def test_a_layer_used_twice_is_listed_once_with_its_calls():
    a = tt.audit(nets.Tied(), torch.zeros(1, 3, 5, 5))
    assert [(la.name, la.calls, la.input_shape) for la in a.layers] == [("up", 2, (1, 3, 5, 5))]
    assert "called 2 times" in str(a)


def test_the_module_is_left_as_it_was():
    torch.manual_seed(0)
    net = nets.dcgan_generator().train()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    tt.audit(net, torch.randn(4, 8, 1, 1))
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())  # batch-norm statistics too
    assert not any(m._forward_hooks for m in net.modules())


@pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")
@pytest.mark.parametrize("norm", ["old", "parametrizations"])
def test_weights_under_weight_norm_are_the_computed_ones(norm):
    torch.manual_seed(0)
    net = nets.HiFiGANUp(norm=norm)
    a = tt.audit(net, torch.randn(1, 4, 10))
    up = net.ups[0]
    w = up.weight.detach().double().numpy()
    assert a.layers[0].constant_response_imbalance == pytest.approx(constant_response_imbalance(w, (8,)), rel=1e-12)
    assert [la.stride for la in a.layers] == [(8,), (2,)]


def test_the_report_in_text_and_html():
    torch.manual_seed(0)
    a = tt.audit(nets.dcgan_generator(), torch.randn(2, 8, 1, 1))
    text = str(a)
    assert text.splitlines()[0] == "tconv audit: Sequential (torch): 4 up-sampling layers"
    assert "stride 1: a single phase" in text and "largest constant-response imbalance" in text
    html = a._repr_html_()
    assert html.count("<tr>") == 5 and "tconv serve" in html


def test_not_a_module():
    import tconv

    with pytest.raises(tconv.TConvTypeError, match="module must be a torch.nn.Module; got function"):
        tt.audit(lambda x: x, torch.zeros(1))
