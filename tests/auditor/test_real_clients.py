"""Real clients, audited twice: from the module (forward hooks) and from its ``torch.onnx.export`` file.

MONAI's BasicUNet (``upsample="deconv"``) and UNet, diffusers' ``Upsample2D(use_conv_transpose=True)``
and AutoencoderOobleck decoder (``ConvTranspose1d`` under the old weight norm), a DCGAN generator
and HiFi-GAN's up-sampling path (weight norm): built from their classes with torch's initialisation
after one seed (nothing downloaded), in eval mode. Both audits must list the same transposed
convolutions with the same geometry and the same imbalance. Run as a script to print the figures
of docs/audit.md: ``.venv/bin/python -m tests.auditor.test_real_clients``.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript")

import tconv  # noqa: E402
import tconv.torch as tt  # noqa: E402
from tconv.auditor.examples import export_quietly  # noqa: E402
from tests.torch import nets  # noqa: E402
from tests.torch.test_models import diffusers_models, monai_models  # noqa: E402

NAMES = {
    "monai BasicUNet 2-D (deconv)": "monai",
    "monai BasicUNet 3-D (deconv)": "monai",
    "monai UNet 2-D": "monai",
    "diffusers Upsample2D (use_conv_transpose)": "diffusers",
    "diffusers AutoencoderOobleck decoder (old weight_norm)": "diffusers",
    "DCGAN generator": None,
    "HiFi-GAN up path, weight_norm (old API)": None,
}


def clients(library: str | None) -> dict:
    if library == "monai":
        return monai_models()
    if library == "diffusers":
        return diffusers_models()
    return {
        "DCGAN generator": (nets.dcgan_generator, (2, 8, 1, 1)),
        "HiFi-GAN up path, weight_norm (old API)": (lambda: nets.HiFiGANUp(norm="old"), (1, 4, 10)),
    }


def audit_both(name: str, folder):
    """``(audit of the module, audit of its exported file)``, the model built after ``torch.manual_seed(0)``."""
    library = NAMES[name]
    if library is not None:
        pytest.importorskip(library)
    make, shape = clients(library)[name]
    torch.manual_seed(0)
    model = make().eval()
    x = torch.randn(shape)
    from_module = tt.audit(model, x)
    path = folder / "model.onnx"
    export_quietly(model, (x,), path)
    return from_module, tconv.audit(path)


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("name", list(NAMES))
def test_the_file_and_the_module_give_the_same_numbers(name, tmp_path):
    from_module, from_file = audit_both(name, tmp_path)
    ours = [la for la in from_module.layers if la.op.startswith("ConvTranspose")]
    theirs = [la for la in from_file.layers if la.op == "ConvTranspose"]
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert (a.input_shape, a.output_shape) == (b.input_shape, b.output_shape), a.name
        assert (a.kernel, a.stride, a.dilation, a.crop, a.groups) == (b.kernel, b.stride, b.dilation, b.crop, b.groups)
        assert a.output_padding == b.output_padding and a.taps_per_phase == b.taps_per_phase
        assert a.constant_response_imbalance == pytest.approx(b.constant_response_imbalance, rel=1e-5, abs=1e-9)
        assert a.verdict == b.verdict and b.ambiguous == ()
        if b.module in {la.name for la in ours}:  # the exporter's scope names the module (not a folded batch norm)
            assert b.module == a.name
    assert from_file.skipped == from_module.skipped == ()


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_a_randomly_initialised_client_paints_a_checkerboard(tmp_path):
    from_module, _ = audit_both("HiFi-GAN up path, weight_norm (old API)", tmp_path)
    assert [la.verdict for la in from_module.layers] == ["checkerboard", "checkerboard"]
    assert all(not la.uneven_overlap for la in from_module.layers)  # k = 2u, s = u: even overlap all the same


def test_the_examples_of_the_docs(tmp_path, capsys):
    from tconv.cli.main import main

    assert main(["audit", "--write-examples", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"tconv: wrote {tmp_path / n}" for n in ("ambiguous.onnx", "dcgan.onnx")
    ]
    a = tconv.audit(tmp_path / "dcgan.onnx")
    assert [(la.stride, la.verdict) for la in a.layers] == [((1, 1), "flat")] + [((2, 2), "checkerboard")] * 3
    torch.manual_seed(0)  # the file is the generator as torch.nn initialises it after this seed
    from tconv.auditor.examples import dcgan_generator

    module = tt.audit(dcgan_generator().eval(), torch.zeros(1, 8, 1, 1))
    assert [round(la.constant_response_imbalance, 6) for la in a.layers] == [
        round(la.constant_response_imbalance, 6) for la in module.layers
    ]


if __name__ == "__main__":
    import pathlib
    import tempfile
    import warnings

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        for name in NAMES:
            module, file = audit_both(name, pathlib.Path(folder))
            rows = [
                f"{la.name} {'x'.join(map(str, la.kernel or ()))}/{'x'.join(map(str, la.stride or ()))}: "
                f"{la.constant_response_imbalance:.3f} ({lb.constant_response_imbalance:.3f} from the file)"
                for la, lb in zip(module.layers, file.layers)
            ]
            print(f"{name}:\n  " + "\n  ".join(rows), flush=True)
