"""Bad input: one exception class (a ValueError; also a TypeError for wrong types), raised before any
work, whose message names the parameter, the rule and the values given. And ``import tconv`` is light.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import tconv
from tconv import TConvError, TConvTypeError

X = np.ones((1, 2, 4, 4))  # (N, C_in, H, W)
W = np.ones((2, 3, 3, 3))  # (C_in, C_out/groups, kH, kW)

# id: (keyword arguments of conv_transpose on top of x=X, weight=W; exception; fragments of the message)
BAD_TRANSPOSE = {
    "stride zero": (dict(stride=0), TConvError, ["stride=0", "positive"]),
    "stride negative on one axis": (dict(stride=(1, -2)), TConvError, ["stride=(1, -2)", "positive"]),
    "stride fractional": (dict(stride=1.5), TConvTypeError, ["stride", "1.5", "int"]),
    "stride as a string": (dict(stride="2"), TConvTypeError, ["stride", "'2'"]),
    "dilation zero": (dict(dilation=0), TConvError, ["dilation=0", "positive"]),
    "dilation fractional": (dict(dilation=(1, 2.0)), TConvTypeError, ["dilation", "2.0"]),
    "padding negative": (dict(padding=-1), TConvError, ["padding", "-1", "non-negative"]),
    "padding pair negative": (dict(padding=((0, 0), (1, -1))), TConvError, ["padding", "-1", "non-negative"]),
    "padding unknown word": (dict(padding="full"), TConvError, ["padding='full'", "same", "valid"]),
    "padding triple": (dict(padding=((0, 1, 2), (0, 0))), TConvTypeError, ["padding", "(0, 1, 2)", "pair"]),
    "padding fractional": (dict(padding=0.5), TConvTypeError, ["padding", "0.5"]),
    "output_padding not below stride or dilation": (
        dict(stride=2, output_padding=2),
        TConvError,
        ["output_padding=(2, 2)", "stride=(2, 2)", "dilation=(1, 1)"],
    ),
    "output_padding not below on one axis": (
        dict(stride=(2, 1), dilation=(1, 3), output_padding=(1, 3)),
        TConvError,
        ["output_padding=(1, 3)", "smaller", "stride=(2, 1)", "dilation=(1, 3)"],
    ),
    "output_padding negative": (dict(stride=2, output_padding=-1), TConvError, ["output_padding=-1", "non-negative"]),
    "stride of the wrong length": (dict(stride=(1, 2, 3)), TConvError, ["stride=(1, 2, 3)", "2 values", "got 3"]),
    "dilation of the wrong length": (dict(dilation=(1,)), TConvError, ["dilation=(1,)", "2 values", "got 1"]),
    "padding of the wrong length": (dict(padding=(1, 1, 1)), TConvError, ["padding=(1, 1, 1)", "2", "got 3"]),
    "output_padding of the wrong length": (
        dict(stride=2, output_padding=(1,)),
        TConvError,
        ["output_padding=(1,)", "2 values"],
    ),
    "groups not dividing the channels": (
        dict(groups=2, weight=np.ones((3, 1, 3, 3)), x=np.ones((1, 3, 4, 4))),
        TConvError,
        ["groups=2", "3"],
    ),
    "groups zero": (dict(groups=0), TConvError, ["groups=0", "positive"]),
    "groups fractional": (dict(groups=1.0), TConvTypeError, ["groups", "1.0"]),
    "input channels not the weight's": (
        dict(x=np.ones((1, 3, 4, 4))),
        TConvError,
        ["3 channels", "(2, 3, 3, 3)", "expects 2"],
    ),
    "one input channel, in the singular": (
        dict(x=np.ones((1, 1, 4, 4))),
        TConvError,
        ["input has 1 channel but", "expects 2"],
    ),
    "a missing spatial axis, not a channel count": (
        dict(x=np.ones((1, 2, 4))),
        TConvError,
        ["input of shape (1, 2, 4) lacks a spatial axis", "2 spatial axes", "(N, C, *, *)"],
    ),
    "one value per axis, in the singular": (
        dict(x=np.ones((1, 2, 4)), weight=np.ones((2, 3, 3)), stride=(1, 2)),
        TConvError,
        ["stride=(1, 2)", "1 value, got 2"],
    ),
    "weight rank not the input's": (dict(weight=np.ones((2, 3, 3))), TConvError, ["(1, 2, 4, 4)", "(2, 3, 3)", "rank"]),
    "weight without a spatial axis": (dict(weight=np.ones((2, 3))), TConvError, ["weight", "(2, 3)", "spatial"]),
    "bias of the wrong length": (dict(bias=np.ones(2)), TConvError, ["bias", "(3,)", "(2,)"]),
    "bias of the wrong rank": (dict(bias=np.ones((3, 1))), TConvError, ["bias", "(3,)", "(3, 1)"]),
    "empty kernel": (dict(weight=np.ones((2, 3, 0, 3))), TConvError, ["weight", "(2, 3, 0, 3)", "empty"]),
    "empty input axis": (dict(x=np.ones((1, 2, 0, 4))), TConvError, ["input", "(1, 2, 0, 4)"]),
    "output would be empty": (dict(padding=3), TConvError, ["output would be empty", "padding 3"]),
    "pairs crop everything": (
        dict(padding=((6, 0), (0, 0))),
        TConvError,
        ["output would be empty", "((6, 0), (0, 0))"],
    ),
    "output_size too large": (dict(stride=2, output_size=(11, 9)), TConvError, ["output_size=(11, 9)", "9..10"]),
    "output_size too small": (dict(stride=2, output_size=(8, 9)), TConvError, ["output_size=(8, 9)", "9..10"]),
    "output_size of the wrong length": (dict(output_size=(6,)), TConvError, ["output_size=(6,)", "2 spatial sizes"]),
    "output_size with the wrong channels": (
        dict(output_size=(1, 4, 6, 6)),
        TConvError,
        ["output_size=(1, 4, 6, 6)", "(1, 3)"],
    ),
    "output_size and output_padding": (
        dict(stride=2, output_padding=1, output_size=(10, 10)),
        TConvError,
        ["output_padding=1", "output_size=(10, 10)"],
    ),
    "unknown method": (dict(method="fft"), TConvError, ["method='fft'", "scatter", "polyphase"]),
    "strings as data": (dict(x=[[["a", "b"]]]), TConvTypeError, ["x", "real numbers"]),
    "complex data": (
        dict(weight=np.ones((2, 3, 3, 3), complex)),
        TConvTypeError,
        ["weight", "real numbers", "complex"],
    ),
    "ragged nested lists": (dict(x=[[[1, 2], [3]]]), TConvError, ["x", "rectangular"]),
    "object bias": (dict(bias=[None, None, None]), TConvTypeError, ["bias", "real numbers"]),
    "string array weight": (dict(weight=np.full((2, 3, 3, 3), "1")), TConvTypeError, ["weight", "real numbers"]),
}


@pytest.mark.parametrize("kwargs, error, fragments", BAD_TRANSPOSE.values(), ids=BAD_TRANSPOSE.keys())
def test_conv_transpose_refuses(kwargs, error, fragments):
    kwargs = dict(kwargs)
    x, w = kwargs.pop("x", X), kwargs.pop("weight", W)
    with pytest.raises(error) as info:
        tconv.conv_transpose(x, w, **kwargs)
    assert isinstance(info.value, ValueError)  # TConvTypeError is both
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in: {info.value}"


BAD_CONV = {  # conv(x=X, weight=(3, 2, 3, 3))
    "stride zero": (dict(stride=0), TConvError, ["stride=0", "positive"]),
    "padding unknown word": (dict(padding="half"), TConvError, ["padding='half'"]),
    "groups not dividing the channels": (dict(groups=2, weight=np.ones((3, 1, 3, 3))), TConvError, ["groups=2", "3"]),
    "input channels not the weight's": (dict(weight=np.ones((3, 3, 3, 3))), TConvError, ["2 channels", "expects 3"]),
    "kernel larger than the padded input": (
        dict(weight=np.ones((3, 2, 5, 5))),
        TConvError,
        ["output would be empty", "(4, 4)", "(5, 5)"],
    ),
    "bias of the wrong length": (dict(bias=[1.0]), TConvError, ["bias", "(3,)", "(1,)"]),
    "unknown method": (dict(method="scatter"), TConvError, ["method='scatter'"]),
}


@pytest.mark.parametrize("kwargs, error, fragments", BAD_CONV.values(), ids=BAD_CONV.keys())
def test_conv_refuses(kwargs, error, fragments):
    kwargs = dict(kwargs)
    w = kwargs.pop("weight", np.ones((3, 2, 3, 3)))
    with pytest.raises(error) as info:
        tconv.conv(X, w, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in: {info.value}"


def test_the_exception_classes():
    assert issubclass(TConvError, ValueError)
    assert issubclass(TConvTypeError, TConvError) and issubclass(TConvTypeError, TypeError)


# ---- memory ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", tconv.METHODS)
def test_refuses_an_output_too_large_for_memory_before_allocating(method):
    # A 4×4 input at stride 10⁶ would need F = 3·10⁶ + 2 per axis: ~9·10¹² float64 outputs, 72 TB.
    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))
    with pytest.raises(TConvError, match="bytes") as info:
        tconv.conv_transpose(x, w, stride=10**6, method=method)
    need = int(re.search(r"need ([\d,]+) bytes", str(info.value)).group(1).replace(",", ""))
    assert need >= (3 * 10**6 + 2) ** 2 * 8  # at least the output itself


def test_memory_limit_can_be_lowered(monkeypatch):
    # A 100×100 float64 output is 80,000 bytes: refused under a 50,000-byte limit, fine without.
    x, w = np.ones((1, 1, 99, 99)), np.ones((1, 1, 2, 2))
    assert tconv.conv_transpose(x, w).shape == (1, 1, 100, 100)
    monkeypatch.setenv("TCONV_MAX_BYTES", "50000")
    with pytest.raises(TConvError, match="bytes"):
        tconv.conv_transpose(x, w)
    with pytest.raises(TConvError, match="bytes"):
        tconv.conv(np.ones((1, 1, 200, 200)), w)


# ---- import tconv is light -----------------------------------------------------------------------


def test_import_tconv_imports_no_heavy_library():
    src = str(pathlib.Path(tconv.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    heavy = ["torch", "matplotlib", "PIL", "onnx", "onnxruntime", "rich"]
    code = f"import sys, tconv; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
