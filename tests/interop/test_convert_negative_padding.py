"""No conversion prints a negative padding: what a negative padding would crop is cropped after.

JAX reads a negative ``lax.conv_transpose`` padding as a crop, but XLA's CPU kernel returns wrong
values for it (``x = arange(18).reshape(2, 3, 3)``, ``w = ones((3, 2, 3))``, ``padding=((-1, 1),)``,
NWC/WIO/NWC, ``transpose_kernel=True``: 52 where 33 is right). So ``tconv convert --to jax`` prints
non-negative padding and a slice of the result, and that printed line, run in JAX, equals
``tconv.conv_transpose`` — on random geometries whose crops reach past ``k_eff − 1`` (where JAX's
padding ``k_eff − 1 − b`` would be negative) and on the reported one.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest

import tconv
from tconv import convert as cv
from tconv.cli.main import main

TARGETS = ("tconv", "torch", "onnx", "keras", "jax", "mlx")
#: The arguments of each framework that are paddings (a negative one would be read as a crop).
PADDING_ARGS = ("padding", "output_padding", "pads")


def cropping_geometry(rng, ndim: int):
    """``(kernel, stride, dilation, pairs, output_padding, input)`` with crops up to ``k_eff + 2``
    at either end: past ``k_eff − 1``, JAX's padding for that end is negative."""
    while True:
        k = tuple(int(v) for v in rng.integers(1, 5, ndim))
        s = tuple(int(v) for v in rng.integers(1, 4, ndim))
        d = tuple(int(v) for v in rng.integers(1, 3, ndim))
        keff = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
        pairs = tuple((int(rng.integers(0, ke + 3)), int(rng.integers(0, ke + 3))) for ke in keff)
        op = tuple(int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d))
        size = tuple(int(v) for v in rng.integers(2, 6, ndim))
        out = [(i - 1) * ss + ke - b - e + o for i, ss, ke, (b, e), o in zip(size, s, keff, pairs, op)]
        if min(out) >= 1:
            return k, s, d, pairs, op, size


def _case_ids(cases):
    return [f"k{c[0]}s{c[1]}d{c[2]}p{c[3]}op{c[4]}i{c[5]}".replace(" ", "") for c in cases]


RNG = np.random.default_rng(18)
CASES = [((3,), (1,), (1,), ((3, 1),), (0,), (3,))]  # the report: JAX's padding ((-1, 1),)
CASES += [cropping_geometry(RNG, 1 + n % 2) for n in range(15)]


def _ints(v):
    """Every int inside ``v`` (nested tuples and lists; words like 'same' have none)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return [int(v)]
    if isinstance(v, (tuple, list)):
        return [n for item in v for n in _ints(item)]
    return []


@pytest.mark.parametrize("case", CASES, ids=_case_ids(CASES))
@pytest.mark.parametrize("target", TARGETS)
def test_no_target_prints_a_negative_padding(case, target):
    k, s, d, pairs, op, _ = case
    c = cv.from_tconv(k, s, pairs, op, d)
    if target == "keras" and max(s) > 1 and max(d) > 1:
        pytest.skip("Keras refuses strides > 1 together with dilation_rate > 1")
    a = cv.convert(c, target)
    assert all(n >= 0 for name in PADDING_ARGS for n in _ints(a.args.get(name))), a
    if target == "jax":  # what JAX cannot say without a negative padding is a slice: never zeros to add
        assert a.crop is None or min(_ints(a.crop)) >= 0


@pytest.mark.parametrize("case", CASES, ids=_case_ids(CASES))
def test_mlx_padding_keeps_mlx_s_own_padding_non_negative(case):
    """MLX pads by k_eff − 1 − p inside and slices the undilated input for a negative value."""
    k, s, d, pairs, op, _ = case
    c = cv.from_tconv(k, s, pairs, op, d)
    a = cv.to_mlx(c)
    assert all(p <= ke - 1 for p, ke in zip(a.args["padding"], c.effective_kernel)), a


def test_the_reported_geometry_is_padding_0_1_then_a_slice(capsys):
    argv = ["convert", "--from", "tconv", "--to", "jax", "--kernel", "3", "--stride", "1", "--padding", "3:1"]
    assert main([*argv, "--input", "3"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("jax: ")]
    assert "padding=((0, 1),)" in line and line.endswith("transpose_kernel=True)[:, 1:, :]") and "-" not in line


def test_the_cases_reach_past_k_eff_minus_1():
    """Most cases need a negative JAX padding at some end, so the slice is what is tested."""
    negative = 0
    for k, s, d, pairs, op, _ in CASES:
        c = cv.from_tconv(k, s, pairs, op, d)
        negative += any(b > ke - 1 or e > ke - 1 for ke, b, e in zip(c.effective_kernel, c.begin, c.end))
    assert negative >= len(CASES) // 2


def _printed_jax_code(case, capsys) -> str:
    k, s, d, pairs, op, size = case
    join = lambda v: ",".join(map(str, v))  # noqa: E731
    argv = ["convert", "--from", "tconv", "--to", "jax", "--kernel", join(k), "--stride", join(s)]
    argv += ["--dilation", join(d), "--output-padding", join(op), "--input", join(size)]
    argv += ["--padding", ",".join(f"{b}:{e}" for b, e in pairs)]
    assert main(argv) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("jax: ")]
    return line[len("jax: ") :]


@pytest.mark.parametrize("case", CASES, ids=_case_ids(CASES))
def test_the_printed_jax_code_runs_in_jax_and_equals_tconv(case, capsys):
    jax = pytest.importorskip("jax")
    k, s, d, pairs, op, size = case
    code = _printed_jax_code(case, capsys)
    padding = ast.literal_eval(re.search(r"padding=(\(.*?\)),? rhs_dilation", code).group(1))
    assert min(_ints(padding)) >= 0, code
    rng = np.random.default_rng(sum(size) + sum(k))
    x = rng.standard_normal((2, 3, *size)).astype(np.float32)  # PyTorch's layouts
    w = rng.standard_normal((3, 2, *k)).astype(np.float32)
    lhs, rhs = cv.activations_from_torch(x), cv.kernel_from_torch(w, "jax")  # channels last; (*k, O, I)
    y = cv.activations_to_torch(np.asarray(eval(code, {"jax": jax, "lhs": lhs, "rhs": rhs})))
    expected = tconv.conv_transpose(
        x.astype(np.float64), w.astype(np.float64), stride=s, padding=pairs, output_padding=op, dilation=d
    )
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
