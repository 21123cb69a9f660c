"""What the explainer says (issue 13): nothing cut that fits, ``e`` always the end crop, an exact
adjoint paragraph, a demonstration that keeps the user's stride, channels, pictures with a legend."""

import json

import numpy as np
import pytest

import tconv
from tconv.cli.main import main
from tconv.explainer import explain
from tconv.explainer.text import render


def test_nothing_is_cut_that_fits_the_terminal(monkeypatch):
    e = explain(list(range(13)), [1], torch_check=False)
    assert "   y (13)\n        0   1   2   3   4   5   6   7   8   9  10  11  12\n" in render(e, width=80)
    narrow = render(e, width=40)
    elided = [line for line in narrow.splitlines() if "…" in line]
    assert elided and max(len(line) for line in elided) <= 40  # grids are cut to the width, only then
    wide = explain(list(range(40)), [1, 1], torch_check=False)
    monkeypatch.setenv("COLUMNS", "200")
    text = render(wide)  # the width comes from COLUMNS
    assert (
        "…" not in text.split("7. Result")[1].split("8. Adjoint")[0]
        and max(len(line) for line in text.splitlines()) <= 200
    )
    assert max(len(line) for line in text.splitlines()) > 80
    monkeypatch.setenv("COLUMNS", "80")
    assert "…" in render(wide).split("7. Result")[1]


def test_e_is_the_end_crop_everywhere(capsys):
    assert main(["explain", "--example", "output_padding", "--json", "--no-torch"]) == 0
    d = json.loads(capsys.readouterr().out)
    # padding 1, output_padding 1: e = 1 is cropped, then 1 zero appended (the net Geometry.end is 0)
    assert d["geometry"]["end"] == [1, 1] and d["geometry"]["output_padding"] == [1, 1]
    assert [a["end"] for a in d["steps"]["shape"]["axes"]] == [1, 1] == d["steps"]["scatter"]["end"]
    assert main(["explain", "--example", "output_padding", "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert "b = 1 at the start and e = 1 at the end" in out and "k_eff-1-e+op after" in out


def test_adjoint_says_when_c_ct_is_a_multiple_of_the_identity():
    # d=2, s=3, k=3: k_eff = 5 > s, yet the taps 0, 2, 4 and 3, 5, 7 never coincide: C Cᵀ is diagonal
    e = explain([1, 2, 3], [1, 2, 3], stride=3, dilation=2, torch_check=False)
    a = e.step("adjoint")
    assert a.diagonal and a.scale == 14 and not a.identity
    np.testing.assert_array_equal(a.CCt, 14 * np.eye(3))
    text = render(e, sections=("adjoint",), width=80)
    assert "C Cᵀ = 14·I (c = |w|²)" in text and "off the diagonal" not in text
    assert "conv(y) = 14·x for every x" in " ".join(text.split())


def test_adjoint_says_when_c_ct_is_diagonal_but_not_a_multiple():
    e = explain([1, 2, 3], [1, 2, 3], stride=3, dilation=2, padding=1, torch_check=False)
    a = e.step("adjoint")
    assert a.diagonal and a.scale is None
    assert np.diag(a.CCt).tolist() == [13, 14, 5]  # taps cut by the crop at both ends
    assert "C Cᵀ is diagonal" in " ".join(render(e, sections=("adjoint",), width=80).split())


def test_adjoint_overlaps_and_identity():
    e = explain([1, 2, 3], [1, 10, 100], stride=2, torch_check=False)
    assert not e.step("adjoint").diagonal
    assert "off the diagonal, (C Cᵀ)[i, i']" in " ".join(render(e, sections=("adjoint",), width=80).split())
    e = explain([1.0, -2.0, 3.0], [0.6, 0.8], stride=2, torch_check=False)
    assert e.step("adjoint").identity and "C Cᵀ = I" in render(e, sections=("adjoint",), width=80)


@pytest.mark.parametrize(
    "args, kept",
    [
        (dict(stride=3, dilation=2), True),
        (dict(stride=2, padding=1), False),
        (dict(stride=2, padding="same"), True),
        (dict(stride=(2, 3), output_padding=1), True),
        (dict(stride=1), True),
    ],
)
def test_the_demonstration_keeps_the_users_stride(args, kept):
    x = [[1, 2, 3], [4, 5, 6]] if isinstance(args["stride"], tuple) else [1, -2, 3]
    w = [[1, 2], [3, 4]] if isinstance(args["stride"], tuple) else [1, 2, 3]
    e = explain(x, w, torch_check=False, **args)
    d = e.step("adjoint").orthonormal_example
    assert d.stride == list(e.geometry.stride) and d.dilation == list(e.geometry.dilation)
    assert d.kept_padding == kept and d.equal
    np.testing.assert_allclose(d.conv_back, e.input)
    text = " ".join(render(e, sections=("adjoint",), width=100).split())
    if kept:
        assert "crops no stamp" in text
    else:
        assert "would crop taps off the border stamps" in text and "uses padding 0" in text


def test_no_arguments_ends_with_a_pointer_to_the_stride2_example(capsys):
    assert main(["--no-torch"]) == 0
    last = capsys.readouterr().out.rstrip().splitlines()[-2:]
    assert last[0].startswith("Next: tconv explain --example stride2") and "tconv serve" in last[1]


def test_channels_sum_into_output_channels_by_group(capsys):
    x = np.arange(4 * 3).reshape(4, 3) - 5  # 4 input channels, 1-D
    w = np.arange(4 * 1 * 2).reshape(4, 1, 2) % 5 - 2  # groups 2: each output channel reads 2 inputs
    e = explain(x, w, stride=2, groups=2, torch_check=False)
    assert e.output.shape == (2, 6) and e.channelled
    np.testing.assert_array_equal(e.output, tconv.conv_transpose(x[None], w, stride=2, groups=2)[0])
    ch = e.step("channels")
    assert [o.in_channels for o in ch.outputs] == [[0, 1], [2, 3]]
    for o in ch.outputs:
        np.testing.assert_array_equal(sum(c.partial for c in o.contributions), o.output)
    assert e.step("result").agree
    argv = ["explain", "-x", "1 2 | 3 4 | 5 6 | 7 8", "-w", "1 1 | 2 0 | 1 -1 | 0 3", "-g", "2", "-s", "2"]
    assert main([*argv, "--no-torch"]) == 0
    out = capsys.readouterr().out
    assert (
        "4 input channels, 2 output channels, groups 2" in out
        and "; Output" not in out
        and "y[1] (group 1, input channels 2..3)" in out
    )


def test_channels_match_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(2 * 2 * 2).reshape(2, 2, 2) - 3
    w = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2) % 7 - 3
    e = explain(x, w, stride=2, padding=1, output_padding=1, torch_check=True)
    want = torch.nn.functional.conv_transpose2d(
        torch.tensor(x, dtype=torch.float64)[None],
        torch.tensor(w, dtype=torch.float64),
        stride=2,
        padding=1,
        output_padding=1,
    )[0]
    np.testing.assert_array_equal(e.output, want.numpy())
    assert e.step("result").torch.equal and len(e.step("channels").outputs) == 3


def test_many_channels_are_capped():
    e = explain(np.ones((6, 2)), np.ones((6, 8, 2)), torch_check=False)
    ch = e.step("channels")
    assert len(ch.outputs) == 4 and ch.more_outputs == 4 and len(ch.outputs[0].contributions) == 4
    assert ch.outputs[0].in_channels == list(range(6))


def test_pictures_have_a_legend_and_stay_readable(tmp_path):
    pytest.importorskip("matplotlib")
    Image = pytest.importorskip("PIL.Image")
    from tconv.explainer.image import save

    save(explain([[1, 2], [3, 4]], [[1, 2], [3, 5]], stride=2, torch_check=False), str(tmp_path / "a.svg"))
    svg = (tmp_path / "a.svg").read_text()
    assert "positive" in svg and "padding" in svg and "orange border" in svg
    x = np.arange(400).reshape(20, 20) % 7 - 3
    size = save(explain(x, np.ones((3, 3)), stride=2, padding=1, torch_check=False), str(tmp_path / "big.png"))
    with Image.open(tmp_path / "big.png") as im:
        assert im.size == size and size[0] <= 1600 and size[1] <= 2400


def test_explanation_displays_in_a_notebook():
    e = tconv.explain([1, 2], [1, 10, 100], stride=2, torch_check=False)
    html = e._repr_html_()
    assert "tconvExplain.mount" in html and '"output": [1, 10, 102, 20, 200]' in html and "<style>" in html
    assert str(e).startswith("tconv explain: conv_transpose of x (2) with w (3)")
    assert isinstance(e, tconv.Explanation)


def test_import_tconv_stays_light_and_explain_is_public():
    import subprocess
    import sys

    code = (
        "import sys, tconv; print(sorted(m for m in ('tconv.explainer', 'http.server', 'matplotlib', 'torch') "
        "if m in sys.modules)); e = tconv.explain([1], [2], torch_check=False); print(type(e).__name__, e.output)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert p.stdout.split("\n")[:2] == ["[]", "Explanation [2]"], p.stderr
