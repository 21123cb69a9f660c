"""Hand-checked integer examples: the learner's, and one or more per parameter.

Each expected array is derived in the comment above it from the definition — every input element
``x[i]`` stamps ``x[i]·w`` into the full output at ``i·s`` (taps ``d`` apart), the stamps add up,
``F = (i−1)·s + d·(k−1) + 1``, and the output is the window ``[b, b + o)`` of the full output,
zeros past ``F``. Every method must reproduce every example exactly (integers are exact).
"""

from __future__ import annotations

import numpy as np
import pytest

import tconv
from tconv.examples import LEARNER

METHODS = pytest.mark.parametrize("method", tconv.METHODS)

# x = [1, 2, 3], w = [1, 10, 100], s = 2: F = 2·2 + 3 = 7; stamps 1·w at 0, 2·w at 2, 3·w at 4:
#   [1, 10, 100,   ,    ,   ,    ]
# + [ ,   ,   2, 20, 200,   ,    ]
# + [ ,   ,    ,   ,   3, 30, 300]
FULL_1D = [1, 10, 102, 20, 203, 30, 300]

# x = [[1, 2], [3, 4]], K = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], s = 2: F = 5; the stamps 1·K, 2·K, 3·K,
# 4·K at (0,0), (0,2), (2,0), (2,2) overlap on row 2 and column 2 only:
#   row 0: 1 2 3 | + 2 4 6 from col 2        →  1  2  5  4  6
#   row 1: 4 5 6 | + 8 10 12                  →  4  5 14 10 12
#   row 2: 7 8 9 + 14 16 18 + 3 6 9 + 4 8 12   → 10 14 36 24 30   (col 2: 9 + 14 + 9 + 4)
#   row 3: 12 15 18 + 16 20 24                → 12 15 34 20 24
#   row 4: 21 24 27 + 28 32 36                → 21 24 55 32 36
# (check: the total is Σx·ΣK = 10·45 = 450 = 18 + 45 + 114 + 105 + 168)
X2 = [[1, 2], [3, 4]]
K3 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
FULL_2D = np.array(
    [[1, 2, 5, 4, 6], [4, 5, 14, 10, 12], [10, 14, 36, 24, 30], [12, 15, 34, 20, 24], [21, 24, 55, 32, 36]]
)

EXAMPLES = {
    # The learner's notes: stamps 2·I at (0,0), 2·I at (0,1), 0·I at (1,0), 2·I at (1,1); PyTorch
    # printed [[2,2,0],[0,4,2],[0,0,2]] for ConvTranspose2d(1, 1, kernel_size=2, bias=False).
    "learner": (LEARNER.input, LEARNER.kernel, {}, [[2, 2, 0], [0, 4, 2], [0, 0, 2]]),
    # A kernel that is not symmetric under the flip: x = [[1, 2]], w = [[1, 2], [3, 4]]:
    # 1·w at column 0, 2·w at column 1 → [[1, 2+2, 4], [3, 4+6, 8]].
    "asymmetric kernel": ([[1, 2]], [[1, 2], [3, 4]], {}, [[1, 4, 4], [3, 10, 8]]),
    "1d stride 2": ([1, 2, 3], [1, 10, 100], dict(stride=2), FULL_1D),
    # padding=1 crops one at each end: FULL_1D[1:6].
    "1d padding": ([1, 2, 3], [1, 10, 100], dict(stride=2, padding=1), FULL_1D[1:6]),
    # output_padding=1 gives one back at the end: FULL_1D[1:7].
    "1d output_padding": ([1, 2, 3], [1, 10, 100], dict(stride=2, padding=1, output_padding=1), FULL_1D[1:7]),
    # Without padding, output_padding=1 runs past F = 7: a zero is appended.
    "1d output_padding past F": ([1, 2, 3], [1, 10, 100], dict(stride=2, output_padding=1), FULL_1D + [0]),
    # ONNX-style pads (b, e) = (2, 1): the window [2, 6) of F.
    "1d padding pair": ([1, 2, 3], [1, 10, 100], dict(stride=2, padding=((2, 1),)), FULL_1D[2:6]),
    # "valid" is no crop at all.
    "1d valid": ([1, 2, 3], [1, 10, 100], dict(stride=2, padding="valid"), FULL_1D),
    # "same" (TensorFlow): o = i·s = 6, k_eff − s = 1, b = ⌊1/2⌋ = 0: the window [0, 6).
    "1d same": ([1, 2, 3], [1, 10, 100], dict(stride=2, padding="same"), FULL_1D[:6]),
    # "same" with k_eff = 2 < s = 3: F = 3 + 2 = 5 < o = 6, b = 0; one zero appended.
    # Stamps 1·[1, 10] at 0, 2·[1, 10] at 3 → [1, 10, 0, 2, 20] + [0].
    "1d same k<s": ([1, 2], [1, 10], dict(stride=3, padding="same"), [1, 10, 0, 2, 20, 0]),
    # "same" with k_eff = 5, s = 1: o = 3, b = ⌊4/2⌋ = 2, e = 2. Stamps at 0, 1, 2 of w = [1, 2, 3, 4, 5]:
    # full = [1, 2+1, 3+2+1, 4+3+2, 5+4+3, 5+4, 5] (x = 1s) = [1, 3, 6, 9, 12, 9, 5] → [6, 9, 12].
    "1d same k>s": ([1, 1, 1], [1, 2, 3, 4, 5], dict(padding="same"), [6, 9, 12]),
    # dilation 2, s = 1: taps at 0, 2, 4, k_eff = 5, F = 1 + 5 = 6; 1·w at 0, 2, 4 and 2·w at 1, 3, 5
    # interleave: [1, 2, 10, 20, 100, 200].
    "1d dilation": ([1, 2], [1, 10, 100], dict(dilation=2), [1, 2, 10, 20, 100, 200]),
    # dilation 2 and stride 2: taps at 0, 2, k_eff = 3, F = 2 + 3 = 5: 1·[1, _, 10] at 0,
    # 2·[1, _, 10] at 2 → [1, 0, 10 + 2, 0, 20].
    "1d dilation and stride": ([1, 2], [1, 10], dict(stride=2, dilation=2), [1, 0, 12, 0, 20]),
    # output_padding may reach dilation − 1 even when it is not below the stride: s = 1, d = 2,
    # op = 1: F = 2 + 2 = 4 ([1, 2, 10, 20] as above with k = 2) plus one zero.
    "1d output_padding below dilation": ([1, 2], [1, 10], dict(dilation=2, output_padding=1), [1, 2, 10, 20, 0]),
    "2d stride 2": (X2, K3, dict(stride=2), FULL_2D),
    "2d padding": (X2, K3, dict(stride=2, padding=1), FULL_2D[1:4, 1:4]),
    "2d output_padding": (X2, K3, dict(stride=2, padding=1, output_padding=1), FULL_2D[1:5, 1:5]),
    # Per-axis values: padding (1, 0) crops rows only; output_padding (0, 1) appends a zero column
    # past F (no column crop).
    "2d per-axis padding": (
        X2,
        K3,
        dict(stride=2, padding=(1, 0), output_padding=(0, 1)),
        np.pad(FULL_2D[1:4], ((0, 0), (0, 1))),
    ),
    # Per-axis stride (1, 2), w = [[1, 10]]: rows stamp at 0, 1; columns at 0, 2 (F = (2, 4)):
    # row 0: 1·[1, 10] at 0, 2·[1, 10] at 2 → [1, 10, 2, 20]; row 1 with 3 and 4 → [3, 30, 4, 40].
    "2d per-axis stride": (X2, [[1, 10]], dict(stride=(1, 2)), [[1, 10, 2, 20], [3, 30, 4, 40]]),
    # "same" in 2-D, k = 3, s = 2: o = 4, b = 0: rows/cols 0..3 of the full 5×5.
    "2d same": (X2, K3, dict(stride=2, padding="same"), FULL_2D[:4, :4]),
}


def as_batch(a):
    """A 1-channel, 1-image batch (1, 1, *spatial) of a spatial array."""
    return np.asarray(a)[None, None]


@METHODS
@pytest.mark.parametrize("name", EXAMPLES)
def test_hand_checked_example(name, method):
    x, w, kwargs, expected = EXAMPLES[name]
    y = tconv.conv_transpose(as_batch(x), as_batch(w), **kwargs, method=method)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, as_batch(expected))


@METHODS
def test_learner_example_unbatched_and_as_nested_lists(method):
    # Input (C_in, H, W), weight (C_in, C_out, kH, kW), both plain lists, as a learner would type them.
    y = tconv.conv_transpose([[[2, 2], [0, 2]]], [[[[1, 0], [0, 1]]]], method=method)
    np.testing.assert_array_equal(y, [[[2, 2, 0], [0, 4, 2], [0, 0, 2]]])


@METHODS
def test_bias_is_added_to_every_position_of_its_channel(method):
    # Two output channels: w[0, 0] = I₂ (the learner's), w[0, 1] = 10·I₂; bias (1, −100).
    x = [[[2, 2], [0, 2]]]
    w = [[[[1, 0], [0, 1]], [[10, 0], [0, 10]]]]
    learner = np.array([[2, 2, 0], [0, 4, 2], [0, 0, 2]])
    y = tconv.conv_transpose(x, w, bias=[1, -100], method=method)
    np.testing.assert_array_equal(y, [learner + 1, 10 * learner - 100])


# Groups: x has channels [1, 2] and [3, 4]; w[0] = [[1, 10]], w[1] = [[100, 1000]] (C_out/groups = 1).
# groups=2: channel 0 sees only x[0] and w[0]: [1, 10 + 2, 20]; channel 1 sees only x[1] and w[1]:
#           [300, 3000 + 400, 4000].
# groups=1: one output channel, the sum of both: [301, 3412, 4020].
GROUPS_X = [[1, 2], [3, 4]]
GROUPS_W = [[[1, 10]], [[100, 1000]]]


@METHODS
def test_groups_keep_channels_apart(method):
    y = tconv.conv_transpose(GROUPS_X, GROUPS_W, groups=2, method=method)
    np.testing.assert_array_equal(y, [[1, 12, 20], [300, 3400, 4000]])
    y = tconv.conv_transpose(GROUPS_X, GROUPS_W, groups=1, method=method)
    np.testing.assert_array_equal(y, [[301, 3412, 4020]])


@METHODS
def test_groups_with_several_channels_per_group(method):
    # groups=2, C_in = 4 (2 per group), C_out = 2 (1 per group), k = 1, s = 1: output channel g is
    # Σ_c w[c]·x[c] over the input channels c of group g: [1·1 + 2·2, 3·3 + 4·4] per position.
    x = [[1, 10], [1, 10], [1, 10], [1, 10]]
    w = [[[1]], [[2]], [[3]], [[4]]]
    y = tconv.conv_transpose(x, w, groups=2, method=method)
    np.testing.assert_array_equal(y, [[3, 30], [7, 70]])


@METHODS
def test_3d_axes_in_order(method):
    # x (1, 2, 1, 1) = [1, 2] along depth, w (1, 1, 1, 2, 2) = K on height × width, stride (2, 1, 1):
    # depth F = 1·2 + 1 = 3: slice 0 = 1·K, slice 1 = 0 (between the stamps), slice 2 = 2·K.
    k = [[1, 2], [3, 4]]
    y = tconv.conv_transpose([[[[1]], [[2]]]], [[[k]]], stride=(2, 1, 1), method=method)
    np.testing.assert_array_equal(y, [[k, [[0, 0], [0, 0]], [[2, 4], [6, 8]]]])


@METHODS
def test_output_size_picks_output_padding(method):
    # F − 2p = 5 for the 1-D stride-2 example; output_size 6 means op = 1 (see "1d output_padding").
    x, w = as_batch([1, 2, 3]), as_batch([1, 10, 100])
    y = tconv.conv_transpose(x, w, stride=2, padding=1, output_size=(6,), method=method)
    np.testing.assert_array_equal(y, as_batch(FULL_1D[1:7]))
    y = tconv.conv_transpose(x, w, stride=2, padding=1, output_size=(1, 1, 5), method=method)  # the full shape
    np.testing.assert_array_equal(y, as_batch(FULL_1D[1:6]))
