"""The study end to end, on a tiny configuration (seconds), and its command line."""

import dataclasses
import json
import sys

import numpy as np
import pytest

#: A few seconds per run: 64 images, one epoch, 25 diffusion steps, a narrow U-Net.
TINY = {
    "epochs": 1,
    "steps": 25,
    "channels": 8,
    "batch_size": 32,
    "train_images": 64,
    "samples": 16,
    "probe_images": 16,
}
PNGS = ["checkerboard.png", "init_outputs.png", "loss.png", "samples_real.png", "spectra.png"]


@pytest.fixture
def one_thread():
    """torch on one thread: as fast for these tiny models, and no OpenMP spinning on a busy CI machine."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny(**changes):
    from tconv.study.experiment import StudyConfig

    return StudyConfig(**{**TINY, **changes})


def _without_seconds(document):
    return {**document, "results": [{k: v for k, v in r.items() if k != "train_seconds"} for r in document["results"]]}


def _check_png(path):
    from PIL import Image

    with Image.open(path) as image:
        image.verify()
        assert image.format == "PNG" and min(image.size) > 100


def test_cli_quick_json_and_pictures(tmp_path, monkeypatch, capsys, one_thread):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from tconv.study import __main__, experiment
    from tconv.study.model import UPSAMPLERS

    monkeypatch.setattr(experiment, "QUICK", _tiny())  # --quick, but smaller still
    assert __main__.main(["--quick", "--json", "--out", str(tmp_path), "--seed", "3"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"results", "config", "reference"}
    assert [r["upsampler"] for r in document["results"]] == list(UPSAMPLERS)
    for r in document["results"]:
        assert set(r) == {
            "upsampler",
            "checkerboard_init",
            "checkerboard_trained",
            "quality",
            "train_seconds",
            "final_loss",
            "phase_imbalance_init",
            "phase_imbalance_trained",
        }
        assert 0 <= r["checkerboard_init"] <= 1 and 0 <= r["checkerboard_trained"] <= 1
        assert 0.1 <= r["quality"] <= 1 and r["train_seconds"] >= 0 and r["final_loss"] > 0
        imbalances = r["phase_imbalance_init"] + r["phase_imbalance_trained"]
        assert len(imbalances) == 4 and all(0 <= v <= 1 for v in imbalances)
    by_name = {r["upsampler"]: r for r in document["results"]}
    assert by_name["resize-conv"]["phase_imbalance_trained"] == [0.0, 0.0]  # a resize stays flat
    assert by_name["subpixel-icnr"]["phase_imbalance_init"] == [0.0, 0.0]  # ICNR starts balanced
    assert min(by_name["transposed-k4s2"]["phase_imbalance_init"]) > 0.1  # torch's initialisation does not
    assert document["config"] == {**TINY, "seed": 3, "image_size": 16, "lr": 2e-3, "upsamplers": list(UPSAMPLERS)}
    reference = document["reference"]
    assert 0 <= reference["checkerboard_real"] < 0.01 and 0.5 < reference["quality_real"] <= 1
    assert reference["checkerboard_white_noise"] == pytest.approx(31 / 255)
    for name in PNGS + [f"samples_{u}.png" for u in UPSAMPLERS]:
        _check_png(tmp_path / name)


def test_same_seed_same_numbers(one_thread):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from tconv.study.experiment import run_study

    config = _tiny(upsamplers=("transposed-k3s2", "subpixel-icnr"))
    first, second = (dataclasses.asdict(run_study(config)[0]) for _ in range(2))
    assert _without_seconds(first) == _without_seconds(second)


def test_shared_layers_start_equal_and_icnr_starts_without_checkerboard():
    torch = pytest.importorskip("torch")
    from tconv.study import checkerboard_energy
    from tconv.study.model import UPSAMPLERS, build_unet, make_upsampler

    states = [build_unet(name, seed=0, channels=8).state_dict() for name in UPSAMPLERS]
    shared = [k for k in states[0] if not k.startswith(("up4.", "up8."))]
    for state in states[1:]:
        assert all(torch.equal(states[0][k], state[k]) for k in shared)
    x = torch.randn(4, 8, 6, 6)
    with torch.no_grad():
        # Before training, every phase of a sub-pixel (ICNR) or resize-conv output pixel is alike
        # in the interior; a transposed convolution's random phases are not.
        interior = {n: make_upsampler(n, 8)(x)[..., 2:-2, 2:-2] for n in UPSAMPLERS}
    assert checkerboard_energy(interior["subpixel-icnr"]) < 0.01
    assert checkerboard_energy(interior["transposed-k3s2"]) > 0.05


def test_without_torch_one_line_and_exit_2(monkeypatch, capsys):
    from tconv.study.__main__ import _Parser
    from tconv.study.cli import add_arguments, run

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    parser = _Parser(prog="tconv study")
    add_arguments(parser)
    assert run(parser.parse_args(["--quick"])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "torch" in err[0] and "pip install 'tconv[study]'" in err[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
        (["--epochs", "x"], "argument --epochs: must be a positive integer"),
        (["--seed", "-1"], "argument --seed: must be an integer in 0 .. 2**31 − 1"),
        (["--threads", "0"], "argument --threads: must be a positive integer, got 0"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_one_line_exit_2(argv, message, capsys):
    from tconv.study.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1
    assert err[0].startswith("tconv study: error: ") and message in err[0]


def test_bad_out_is_an_error(tmp_path, capsys):
    from tconv.study.__main__ import main

    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "file")])
    assert "is not a directory" in capsys.readouterr().err


def test_energy_of_real_digits_and_the_data_path():
    pytest.importorskip("sklearn")
    from tconv.study import checkerboard_energy
    from tconv.study.data import downsample2_mean, from_unit, load_digits16

    digits = load_digits16()
    assert digits.images.shape == (1797, 1, 16, 16) and digits.images.dtype == np.float32
    assert checkerboard_energy(digits.images) < 0.01
    # Bilinear up, then 2×2 mean down, is a mild blur: [1/8, 3/4, 1/8] per axis, not the identity.
    back = from_unit(downsample2_mean(digits.images[:, 0]))
    assert np.abs(back - digits.images8).mean() < 1.5


@pytest.mark.slow
def test_the_quick_run_as_the_docs_show_it(quick_study):
    """``tconv study --quick`` end to end, in its own process with its default threads: four
    up-samplers trained, each measured, every picture written. Untrained, both transposed
    convolutions put more of their output on the checkerboard frequencies than ICNR sub-pixel."""
    from tconv.study.model import UPSAMPLERS

    results = {r["upsampler"]: r for r in quick_study.document["results"]}
    assert list(results) == list(UPSAMPLERS)
    for r in results.values():
        assert 0 <= r["checkerboard_trained"] <= 1 and 0 < r["quality"] <= 1 and r["final_loss"] > 0
    for name in ("transposed-k4s2", "transposed-k3s2"):
        assert results[name]["checkerboard_init"] > results["subpixel-icnr"]["checkerboard_init"]
    for name in PNGS + [f"samples_{u}.png" for u in UPSAMPLERS]:
        _check_png(quick_study.out / name)


def test_unknown_upsamplers_one_line_exit_2(capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from tconv.study.__main__ import main

    assert main(["--quick", "--upsamplers", "transposed-k4s2,bilinear"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tconv study: error: --upsamplers 'transposed-k4s2,bilinear'")
