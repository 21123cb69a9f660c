"""The API's limits, as a specification: every bad, oversized or out-of-range parameter is a 400 whose
standard-JSON error names it, before anything large is allocated; a result JSON cannot carry (inf,
nan) is a 400 too, never ``Infinity``; and the server keeps serving after each."""

from urllib.parse import quote

import pytest

from tconv.errors import TConvError
from tconv.serve.api import BOUNDS, MAX_PHASES, check_bounds, explain_json
from tests.serve.conftest import get
from tests.serve.raw import strict_loads

INT64_MAX = 2**63 - 1

OUT_OF_RANGE = [
    # (query, the parameter named, words of the rule)
    ("input=1&kernel=1&stride=99999999999", "stride", "is too large: at most 4,096"),
    ("input=1+2&kernel=1&stride=99999999999", "stride", "is too large: at most 4,096"),
    (f"input=1&kernel=1&stride={INT64_MAX}", "stride", "is too large"),
    (f"input=1&kernel=1&stride={INT64_MAX + 1}", "stride", "is too large"),
    ("input=1&kernel=1&stride=99999999999999999999999", "stride", "is too large"),
    ("input=1;2&kernel=1;1&stride=99999999999,2", "stride", "is too large"),
    ("input=1;2&kernel=1;1&stride=64,65", "stride", "4,160 polyphase phases: at most 4,096"),
    ("input=1&kernel=1&stride=-99999999999999999999999", "stride", "out of range"),
    ("input=1&kernel=1&dilation=99999999999", "dilation", "is too large: at most 1,048,576"),
    (f"input=1&kernel=1&dilation={INT64_MAX}", "dilation", "is too large"),
    ("input=1&kernel=1&dilation=99999999999999999999999", "dilation", "is too large"),
    ("input=1+2&kernel=1&padding=99999999999999999999999", "padding", "is too large"),
    ("input=1+2&kernel=1&padding=0:99999999999999999999999", "padding", "is too large"),
    ("input=1+2&kernel=1&padding=-99999999999999999999999:0", "padding", "out of range"),
    ("input=1+2&kernel=1&output_padding=99999999999999999999999", "output_padding", "is too large"),
    ("input=1+2+|+3+4&kernel=1+|+1&groups=99999999999999999999999", "groups", "is too large: at most 64"),
    ("input=1+2&kernel=1&stride=" + "9" * 5000, "stride", "must be a whole number"),
]


@pytest.mark.parametrize("query, name, rule", OUT_OF_RANGE, ids=[q[:60] for q, _, _ in OUT_OF_RANGE])
def test_out_of_range_whole_numbers_are_400_naming_the_parameter(server, query, name, rule):
    status, kind, body = get(f"{server}/api/explain?{query}")
    error = strict_loads(body)
    assert status == 400 and kind == "application/json" and set(error) == {"error"}, error
    assert error["error"].startswith(f"{name}:") and rule in error["error"], error
    status, _, body = get(f"{server}/api/explain?input=1&kernel=1&no_torch=1")
    assert status == 200 and strict_loads(body)["output"] == [1]


BAD_VALUES = [
    ("input=1+nan&kernel=1", "input", "is not a finite number"),
    ("input=1+inf&kernel=1", "input", "is not a finite number"),
    ("input=1&kernel=1e309", "kernel", "is not a finite number"),
    ("input=1&kernel=1&stride=1.5", "stride", "must be a whole number"),
    ("input=1&kernel=1&dilation=", "", ""),  # a blank field is not given: the default
    ("input=1&kernel=1&padding=%00", "padding", "must be a whole number"),
    ("input=1&kernel=1&output_padding=x", "output_padding", "must be a whole number"),
    ("input=1&kernel=1&groups=1,1", "groups", "must be one positive whole number"),
    ("input=1&kernel=1&Stride=2", "Stride", "unknown parameter"),
    ("input=1&kernel=1&no_torch=1&no_torch=0", "no_torch", "given 2 times"),
    ("input=1&kernel=1&" + "&".join(f"x{i}=1" for i in range(40)), "query", "Max number of fields exceeded"),
]


@pytest.mark.parametrize("query, name, rule", BAD_VALUES, ids=[q[:60] for q, _, _ in BAD_VALUES])
def test_bad_values_and_unknown_parameters_are_400_naming_them(server, query, name, rule):
    status, _, body = get(f"{server}/api/explain?{query}" + ("" if "no_torch" in query else "&no_torch=1"))
    answer = strict_loads(body)
    if not name:
        assert status == 200 and answer["output"] == [1]
        return
    assert status == 400 and set(answer) == {"error"} and answer["error"].startswith(f"{name}:"), answer
    assert rule in answer["error"], answer


@pytest.mark.parametrize("torch", ["no_torch=1", "torch=1"])
def test_a_non_finite_result_is_400_not_infinity(server, torch):
    status, kind, body = get(f"{server}/api/explain?input={quote('1e308 1e308')}&kernel=1e308&{torch}")
    assert b"Infinity" not in body and b"NaN" not in body
    error = strict_loads(body)
    assert status == 400 and kind == "application/json" and set(error) == {"error"}, error
    assert error["error"].startswith("input, kernel: values too large for float64: the output overflows"), error
    status, _, body = get(f"{server}/api/explain?input=1&kernel=1&no_torch=1")
    assert status == 200 and strict_loads(body)["output"] == [1]


def test_an_overflow_inside_a_step_is_400_too(server):
    # the output 1e-200 × 1e200 = 1 is finite, but the adjoint step's ‖w‖² = 1e400 is not
    status, _, body = get(f"{server}/api/explain?input=1e-200&kernel=1e200&no_torch=1")
    error = strict_loads(body)
    assert status == 400 and "a step of the explanation overflows" in error["error"], error


@pytest.mark.parametrize(
    "path",
    [
        "/api/explain?example=stride2&no_torch=1",
        "/api/explain?input=0.1+-2.5e-8;1e100+3&kernel=1e-300+7;2+2&stride=2&no_torch=1",
        "/api/explain?input=1&kernel=1&stride=two",
        "/nothing",
        "/api/explain?input=1e308&kernel=10",
    ],
)
def test_every_json_answer_is_standard_json(server, path):
    status, kind, body = get(f"{server}{path}")
    assert kind == "application/json" and status in (200, 400, 404)
    strict_loads(body)


def test_the_bounds_allow_what_the_explainer_can_draw():
    """The largest values within the bounds reach the explainer, whose own rules then apply."""
    assert BOUNDS["stride"][1] == MAX_PHASES and BOUNDS["groups"][1] == 64
    check_bounds({"stride": (64, 64), "dilation": 2**20, "padding": ((2**20, 0),), "output_padding": 0, "groups": 64})
    check_bounds({"stride": 4096, "dilation": 1, "padding": "same", "output_padding": 4095, "groups": 1})
    with pytest.raises(TConvError, match=r"^padding: 1048577 is too large"):
        check_bounds({"stride": 1, "padding": ((0, 2**20 + 1),)})
    # within the bounds, the explainer's own message: the full output is too big to draw
    with pytest.raises(TConvError, match="full output F would be"):
        explain_json("input=1+2&kernel=1+1&dilation=1048576&no_torch=1")
    # a value below the smallest but small in magnitude: the explainer's own message, naming it
    with pytest.raises(TConvError, match="stride=-3 must be positive"):
        explain_json("input=1+2&kernel=1&stride=-3")
