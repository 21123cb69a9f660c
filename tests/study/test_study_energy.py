"""checkerboard_energy on images whose answer is known. NumPy only: these run without torch."""

import numpy as np
import pytest

from tconv import TConvError
from tconv.study import checkerboard_energy, white_noise_checkerboard_energy


def checkerboard(h, w):
    i, j = np.indices((h, w))
    return (-1.0) ** (i + j)


@pytest.mark.parametrize("h, w", [(2, 2), (4, 6), (16, 16), (8, 32)])
def test_pure_checkerboard_is_one(h, w):
    assert checkerboard_energy(checkerboard(h, w)) == pytest.approx(1.0)


def test_row_and_column_stripes_lie_on_the_nyquist_lines_too():
    i, j = np.indices((6, 8))
    assert checkerboard_energy((-1.0) ** i) == pytest.approx(1.0)  # rows alternate: u = H/2
    assert checkerboard_energy((-1.0) ** j) == pytest.approx(1.0)  # columns alternate: v = W/2


def test_nearest_upsampled_random_is_zero(rng):
    x = rng.normal(size=(5, 3, 7, 4))
    assert checkerboard_energy(x.repeat(2, axis=-2).repeat(2, axis=-1)) == pytest.approx(0.0, abs=1e-12)


def test_smooth_image_is_low_and_adding_a_checkerboard_raises_it():
    i, j = np.indices((16, 16))
    smooth = np.sin(2 * np.pi * i / 16) + np.cos(2 * np.pi * j / 16)
    assert checkerboard_energy(smooth) == pytest.approx(0.0, abs=1e-12)
    # Energies add (the patterns are orthogonal): Σx² is 128 for the sine, 128 for the cosine, 256 for the board.
    assert checkerboard_energy(smooth + checkerboard(16, 16)) == pytest.approx(256 / (128 + 128 + 256))


@pytest.mark.parametrize("value", [0.0, 0.1, -3.0, 1e6])
def test_constant_images_give_zero(value):
    assert checkerboard_energy(np.full((3, 8, 8), value)) == 0.0


def test_the_mean_of_each_image_is_removed():
    x = checkerboard(8, 8)
    assert checkerboard_energy(x + 100.0) == pytest.approx(1.0)
    assert checkerboard_energy(np.stack([x + 5.0, x - 7.0])) == pytest.approx(1.0)


@pytest.mark.parametrize("h, w", [(16, 16), (8, 12)])
def test_white_noise_expectation(rng, h, w):
    # 2000 batches of 4 images: the mean share is (H + W − 1)/(H·W − 1) to well within 1 %.
    x = rng.normal(size=(2000, 4, h, w))
    values = [checkerboard_energy(batch) for batch in x]
    expected = white_noise_checkerboard_energy(h, w)
    assert expected == pytest.approx((h + w - 1) / (h * w - 1))
    assert np.mean(values) == pytest.approx(expected, rel=0.02)


def test_batch_axes_pool_the_energy(rng):
    x = rng.normal(size=(2, 3, 4, 6))
    # Any leading axes are one batch: the same as flattening them.
    assert checkerboard_energy(x) == pytest.approx(checkerboard_energy(x.reshape(6, 4, 6)))
    # Energy is pooled before the ratio: a board with 4× the contrast weighs 4× (energy 16×).
    board, stripes = checkerboard(4, 6), np.cos(np.pi * np.indices((4, 6))[1] / 3)
    pooled = checkerboard_energy(np.stack([4 * board, stripes]))
    e_board, e_stripes = 16 * 24.0 * 24, (np.abs(np.fft.fft2(stripes - stripes.mean())) ** 2).sum()
    assert pooled == pytest.approx(e_board / (e_board + e_stripes))


def test_array_likes_and_dtypes():
    assert checkerboard_energy(checkerboard(4, 4).tolist()) == pytest.approx(1.0)
    assert checkerboard_energy(checkerboard(4, 4).astype(np.float32)) == pytest.approx(1.0)
    assert checkerboard_energy(checkerboard(4, 4).astype(np.int8)) == pytest.approx(1.0)


def test_torch_tensor():
    torch = pytest.importorskip("torch")
    assert checkerboard_energy(torch.tensor(checkerboard(4, 4))) == pytest.approx(1.0)


@pytest.mark.parametrize("shape, odd", [((5, 4), "H=5"), ((4, 7), "W=7"), ((2, 3, 3), "H=3")])
def test_odd_size_is_an_error_naming_the_rule(shape, odd):
    with pytest.raises(TConvError, match="must both be even") as info:
        checkerboard_energy(np.zeros(shape))
    assert odd in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [np.zeros(4), 3.0])
def test_fewer_than_two_dimensions_is_an_error(bad):
    with pytest.raises(TConvError, match="at least 2 dimensions"):
        checkerboard_energy(bad)


def test_empty_and_non_finite_are_errors():
    with pytest.raises(TConvError, match="empty"):
        checkerboard_energy(np.zeros((0, 4, 4)))
    with pytest.raises(TConvError, match="finite"):
        checkerboard_energy(np.full((4, 4), np.nan))


def test_importing_tconv_study_is_light():
    import subprocess
    import sys

    code = "import sys, tconv.study; print(sorted(m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
