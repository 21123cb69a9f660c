"""``tconv artifacts``: the advice is for the stride given, and every number of axes prints.

A kernel size that the stride divides overlaps evenly (with dilation 1); the remedy names such
sizes for the user's own stride, on the axes that are uneven.
"""

import pytest

from tconv.cli.main import main
from tconv.explainer.artifacts import analyse, divisible_kernels, remedies

UNEVEN = [(k, s) for s in range(2, 7) for k in range(s + 1, 3 * s) if k % s]


@pytest.mark.parametrize("k, s", UNEVEN, ids=[f"k{k}s{s}" for k, s in UNEVEN])
def test_the_advised_kernels_are_divisible_by_the_stride_given_and_even(k, s):
    assert not analyse((k,), (s,), (1,))["even"]
    advised = divisible_kernels(k, s)
    assert advised and all(n % s == 0 and abs(n - k) < s for n in advised)
    assert all(analyse((n,), (s,), (1,))["even"] for n in advised)
    text = " ".join(remedies(analyse((k,), (s,), (1,))["axes"]))
    assert f"for s={s})" in text and f"nearest x{s}," in text
    assert " or ".join(f"k={n}" for n in advised) in text


@pytest.mark.parametrize(
    "argv, advice",
    [
        (["-k", "3", "-s", "3,2"], "(k=2 or k=4 for s=2)"),  # axis 0 (k3 s3) is even: no advice for it
        (["-k", "3,5", "-s", "2,3"], "(k=2 or k=4 for s=2 (axis 0); k=3 or k=6 for s=3 (axis 1))"),
        (["-k", "3", "-s", "2", "--ndim", "3"], "(k=2 or k=4 for s=2)"),
        (["-k", "4", "-s", "3", "--ndim", "1"], "(k=3 or k=6 for s=3)"),
    ],
)
def test_the_cli_advises_per_uneven_axis_in_any_number_of_axes(argv, advice, capsys):
    assert main(["artifacts", *argv]) == 0
    assert advice in " ".join(capsys.readouterr().out.split())


def test_a_3d_picture_is_refused_in_one_line(capsys, tmp_path):
    assert main(["artifacts", "-k", "3,3,3", "-s", "2", "--out", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert "draws 1 or 2 axes" in err and err.count("\n") == 1
