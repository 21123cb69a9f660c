"""The explainer's limits, as a specification for ``tconv explain`` and ``tconv.explain`` (the web API's
are in ``tests/serve/test_limits.py``): every out-of-range whole number is one line naming the
option and the bound, exit 2, before any work; ``--json`` is always standard JSON, and a result JSON
cannot carry is an error naming the cause, never ``Infinity`` or ``NaN``."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tconv
from tconv.cli.main import main
from tconv.errors import TConvError
from tconv.explainer import limits

INT64_MAX = 2**63 - 1
HUGE = "99999999999999999999999"  # beyond int64


def strict_loads(text: str):
    """``json.loads`` refusing ``NaN``, ``Infinity`` and ``-Infinity`` (as browsers' ``JSON.parse`` does)."""

    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


OUT_OF_RANGE = [
    # (arguments after `tconv explain`, the option named, words of the rule)
    (["-x", "1", "-w", "1", "-s", "99999999999"], "--stride", "is too large: at most 4,096"),
    (["-x", "1 2", "-w", "1", "-s", str(INT64_MAX)], "--stride", "is too large: at most 4,096"),
    (["-x", "1", "-w", "1", "-s", HUGE], "--stride", "is too large"),
    (["-x", "1; 2", "-w", "1; 1", "-s", "5000,1"], "--stride", "is too large: at most 4,096"),
    (["-x", "1; 2", "-w", "1; 1", "-s", "64,65"], "--stride", "4,160 polyphase phases: at most 4,096"),
    (["-x", "1", "-w", "1", f"--stride=-{HUGE}"], "--stride", "is out of range: at least 1"),
    (["-x", "1 1", "-w", "1 1", "-d", HUGE], "--dilation", "is too large: at most 1,048,576"),
    (["-x", "1; 1", "-w", "1 1; 1 1", "-d", f"1,{INT64_MAX}"], "--dilation", "is too large: at most 1,048,576"),
    (["-x", "1 2", "-w", "1", "-p", HUGE], "--padding", "is too large: at most 1,048,576"),
    (["-x", "1 2", "-w", "1", "-p", f"0:{HUGE}"], "--padding", "is too large"),
    (["-x", "1 2", "-w", "1", f"--padding=-{HUGE}:0"], "--padding", "is out of range: at least 0"),
    (["-x", "1 2", "-w", "1", "--output-padding", HUGE], "--output-padding", "is too large: at most 1,048,576"),
    (["-x", "1 2 | 3 4", "-w", "1 | 1", "-g", HUGE], "--groups", "is too large: at most 64"),
    (["--example", "stride2", "-s", "99999999999"], "--stride", "is too large: at most 4,096"),
]


@pytest.mark.parametrize("argv, option, rule", OUT_OF_RANGE, ids=[" ".join(a)[:50] for a, _, _ in OUT_OF_RANGE])
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["text", "json"])
def test_out_of_range_whole_numbers_are_one_line_naming_the_option_and_the_bound(argv, option, rule, json_flag, capsys):
    code, out, err = run(["explain", *argv, *json_flag], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"tconv: error: {option}: ") and rule in err, err


def test_the_reported_memory_error_is_now_one_line_in_a_real_process():
    """``tconv explain -x 1 -w 1 -s 99999999999`` raised MemoryError (a traceback) before the bounds."""
    p = subprocess.run(
        [sys.executable, "-m", "tconv", "explain", "-x", "1", "-w", "1", "-s", "99999999999"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.startswith("tconv: error: --stride: 99999999999 is too large: at most 4,096 (")


def test_the_largest_values_within_the_bounds_reach_the_explainers_own_rules(capsys):
    code, out, err = run(["explain", "-x", "1; 2", "-w", "1; 1", "-s", "64,64"], capsys)
    assert code == 0 and "Polyphase" in out
    code, _, err = run(["explain", "-x", "1 2", "-w", "1 1", "-d", "1048576"], capsys)
    assert code == 2 and "full output F would be" in err and err.count("\n") == 1
    code, _, err = run(["explain", "-x", "1 2", "-w", "1", "-s", "0"], capsys)  # a sign: the explainer's rule
    assert code == 2 and "stride=0 must be positive" in err


NON_FINITE = [
    # (input, kernel, the cause named)
    ("1e308 1e308", "1e308", "the output overflows to inf or nan"),
    ("1e308; -1e308", "1e308; 1e308", "the output overflows to inf or nan"),  # inf - inf = nan
    ("1e-200", "1e200", "a step of the explanation overflows to inf or nan"),  # output 1, ‖w‖² = 1e400
]


@pytest.mark.parametrize("x, w, cause", NON_FINITE, ids=[f"{x} with {w}" for x, w, _ in NON_FINITE])
def test_json_of_a_non_finite_result_is_an_error_naming_the_cause(x, w, cause, capsys, tmp_path):
    code, out, err = run(["explain", "-x", x, "-w", w, "--json"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert err.startswith("tconv: error: input, kernel: values too large for float64: ") and cause in err
    assert "Infinity" not in out + err and "NaN" not in out + err
    target = tmp_path / "steps.json"
    code, out, err = run(["explain", "-x", x, "-w", w, "--out", str(target)], capsys)
    assert code == 2 and cause in err and not target.exists()
    code, out, err = run(["explain", "-x", x, "-w", w], capsys)  # text can show inf, without warnings
    assert code == 0 and "inf" in out and err == ""


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--example", "same"],
        ["-x", "0.1 -2.5e-8; 1e100 3", "-w", "1e-300 7; 2 2", "-s", "2"],
        ["-x", "1e100 -2", "-w", "1e100 3"],  # huge but finite, in every step (conv back: 1e300)
        ["-x", "1 2 | 3 4", "-w", "1 1 | 2 0 | 1 -1 | 0 3", "-g", "2"],
    ],
    ids=["learner", "same", "tiny-and-huge", "finite-1e200", "groups"],
)
def test_json_output_is_always_standard_json(argv, capsys, tmp_path):
    code, out, _ = run(["explain", *argv, "--json"], capsys)
    assert code == 0 and isinstance(strict_loads(out), dict)
    assert main(["explain", *argv, "--out", str(tmp_path / "a.json")]) == 0
    assert strict_loads((tmp_path / "a.json").read_text(encoding="utf-8")) == strict_loads(out)


EXPLAIN_ERRORS = [
    # (keyword arguments of tconv.explain([1, 2], [1, 1], ...), the error's start)
    (dict(stride=99999999999), "stride: 99999999999 is too large: at most 4,096"),
    (dict(stride=2**80), "stride: 1208925819614629174706176 is too large"),
    (dict(stride=np.int64(INT64_MAX)), "stride: 9223372036854775807 is too large"),
    (dict(stride=(64, 65)), "stride: (64, 65) gives 4,160 polyphase phases: at most 4,096"),
    (dict(stride=np.array([64, 65])), "stride: (64, 65) gives 4,160 polyphase phases"),
    (dict(dilation=2**63), "dilation: 9223372036854775808 is too large: at most 1,048,576"),
    (dict(padding=((0, 2**70),)), "padding: 1180591620717411303424 is too large"),
    (dict(padding=-(2**70)), "padding: -1180591620717411303424 is out of range: at least 0"),
    (dict(output_padding=2**21), "output_padding: 2097152 is too large"),
    (dict(groups=2**64), "groups: 18446744073709551616 is too large: at most 64"),
]


@pytest.mark.parametrize("kwargs, message", EXPLAIN_ERRORS, ids=[str(k)[:50] for k, _ in EXPLAIN_ERRORS])
def test_tconv_explain_bounds_every_whole_number_before_any_work(kwargs, message):
    with pytest.raises(TConvError) as info:
        tconv.explain([1, 2], [1, 1], **kwargs)
    assert str(info.value).startswith(message), info.value


def test_tconv_explain_refuses_non_finite_values_and_json_it_cannot_carry():
    with pytest.raises(TConvError, match=r"^input has values that are not finite \(inf or nan\)"):
        tconv.explain([1, np.inf], [1])
    with pytest.raises(TConvError, match=r"^kernel has values that are not finite"):
        tconv.explain([1, 2], [np.nan])
    e = tconv.explain([1e308, 1e308], [1e308])  # explained, inf shown
    assert np.isinf(e.output).all() and "inf" in str(e)
    with pytest.raises(TConvError, match="^input, kernel: values too large for float64: the output overflows"):
        e.to_json()
    assert strict_loads(tconv.explain([1e100], [1e100, -1]).to_json())["output"] == [1e200, -1e100]


def test_one_place_holds_the_limits_for_the_cli_the_api_and_tconv_explain():
    from tconv.explainer import compute, parse
    from tconv.serve import api

    assert api.BOUNDS is limits.BOUNDS and api.check_bounds is limits.check_bounds
    assert api.strict_json is limits.strict_json and api.MAX_PHASES == limits.MAX_PHASES == 4096
    assert compute.MAX_FULL == limits.MAX_FULL and parse.MAX_ELEMENTS == limits.MAX_ELEMENTS
    assert [limits.BOUNDS[n][1] for n in ("stride", "dilation", "padding", "output_padding", "groups")] == [
        4096,
        2**20,
        2**20,
        2**20,
        64,
    ]
