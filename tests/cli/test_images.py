"""Pictures: they decode, with the size the renderer reports and one GIF frame per step shown."""

import xml.etree.ElementTree as ET

import pytest

from tconv.cli.main import main
from tconv.examples import EXAMPLES
from tconv.explainer import explain

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


def _example(name, **kw):
    ex = EXAMPLES[name]
    return explain(ex.input, ex.kernel, ex.stride, ex.padding, ex.output_padding, ex.dilation, torch_check=False, **kw)


@pytest.mark.parametrize("name", ["learner", "1d", "padding"])
def test_png_diagram_decodes_with_the_reported_size(name, tmp_path):
    from tconv.explainer.image import save

    path = tmp_path / f"{name}.png"
    size = save(_example(name), str(path))
    with Image.open(path) as im:
        im.load()
        assert im.format == "PNG" and im.size == size


def test_svg_diagram_is_xml(tmp_path):
    from tconv.explainer.image import save

    save(_example("stride2"), str(tmp_path / "a.svg"))
    assert ET.parse(tmp_path / "a.svg").getroot().tag.endswith("svg")


@pytest.mark.parametrize(
    "name, method, frames",
    [
        ("stride2", "all", 4 + 1),  # one frame per stamp (2×2 input), then the crop
        ("1d", "scatter", 3 + 1),
        ("padding", "zero_insert", 9 + 1),  # one frame per output position (3×3), then the result
    ],
)
def test_gif_has_one_frame_per_step(name, method, frames, tmp_path):
    from tconv.explainer.image import save

    path = tmp_path / "a.gif"
    size = save(_example(name, method=method), str(path))
    with Image.open(path) as im:
        assert im.format == "GIF" and im.size == size and im.n_frames == frames


def test_gif_of_a_method_without_frames_is_refused(tmp_path, capsys):
    assert main(["--no-torch", "--method", "gemm", "--out", str(tmp_path / "a.gif")]) == 2
    assert "animates scatter or zero_insert" in capsys.readouterr().err


def test_cli_writes_pictures(tmp_path, capsys):
    assert main(["--no-torch", "--example", "dilation", "--out", str(tmp_path / "d.gif")]) == 0
    assert main(["artifacts", "-k", "3", "-s", "2", "--out", str(tmp_path / "k3s2.png")]) == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(tmp_path / "d.gif") as im:
        assert im.n_frames == 4 + 1
    with Image.open(tmp_path / "k3s2.png") as im:
        im.load()
        assert im.width > 100 and im.height > 100


def test_big_inputs_are_drawn_as_images_not_cell_by_cell(tmp_path):
    import numpy as np

    from tconv.explainer.image import save

    e = explain(
        np.arange(900).reshape(30, 30) % 7 - 3,
        [[1, 2, 3], [3, 4, 5], [1, 1, 1]],
        stride=2,
        padding=1,
        torch_check=False,
    )
    size = save(e, str(tmp_path / "big.png"))
    with Image.open(tmp_path / "big.png") as im:
        im.load()
        assert im.size == size and max(size) <= 24 * 100
