"""The explainer's text notation for matrices and per-axis values (the CLI and the web API share it).

Matrices: rows separated by ``;``, values by spaces or commas; one row is 1-D; channels (blocks of
one shape) separated by ``|``. Per-axis values: ``2`` or ``2,1``. Padding also ``same``, ``valid`` or
``begin:end`` per axis.

>>> parse_matrix("1 2; 3 4").tolist()
[[1, 2], [3, 4]]
>>> parse_per_axis("2,1", "--stride")
(2, 1)
>>> parse_padding("1:0,0:1")
((1, 0), (0, 1))
"""

from __future__ import annotations

import math
import re

import numpy as np

from tconv.errors import TConvError
from tconv.explainer.limits import MAX_ELEMENTS, check_bounds

__all__ = ["parse_matrix", "parse_channels", "parse_per_axis", "parse_padding", "MAX_ELEMENTS"]


def _number(token: str, name: str):
    try:
        return int(token)
    except ValueError:
        pass
    try:
        v = float(token)
    except ValueError:
        raise TConvError(f"{name}: {token!r} is not a number") from None
    if not math.isfinite(v):
        raise TConvError(f"{name}: {token!r} is not a finite number")
    return v


def parse_matrix(text: str, name: str = "matrix") -> np.ndarray:
    """Rows separated by ``;``, values by spaces or commas; one row is a 1-D array.

    Whole numbers give an int64 array (exact results), anything else float64.

    >>> parse_matrix("2 2; 0 2").tolist()
    [[2, 2], [0, 2]]
    >>> parse_matrix("1, 0.5, -3")
    array([ 1. ,  0.5, -3. ])
    >>> parse_matrix("1 2; 3", "--input")
    Traceback (most recent call last):
    tconv.errors.TConvError: --input: ragged matrix: row 2 has 1 value, row 1 has 2 (every row needs the same number)
    """
    text = str(text)
    # Refuse an oversized matrix before converting a single value: a value takes at least 2 characters.
    if len(text) > 2 * MAX_ELEMENTS and len(text.replace(",", " ").split()) > MAX_ELEMENTS:
        raise TConvError(
            f"{name} has {len(text.replace(',', ' ').split()):,} values: the explainer takes at most {MAX_ELEMENTS:,} "
            "(for big arrays call tconv.conv_transpose)"
        )
    rows = [r for r in (row.replace(",", " ").split() for row in text.split(";")) if r]
    if not rows:
        raise TConvError(f"{name}: empty matrix {text!r} (write rows separated by ';', values by spaces)")
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(rows[0]):
            plural = "value" if len(row) == 1 else "values"
            raise TConvError(
                f"{name}: ragged matrix: row {n} has {len(row)} {plural}, row 1 has {len(rows[0])} "
                "(every row needs the same number)"
            )
    values = [[_number(t, name) for t in row] for row in rows]
    kind = np.int64 if all(isinstance(v, int) for row in values for v in row) else np.float64
    arr = np.array(values, dtype=kind)
    return arr[0] if len(rows) == 1 else arr


def parse_channels(text: str, name: str = "matrix") -> np.ndarray:
    """Channel blocks separated by ``|``, each a matrix of one shape; without ``|``, one matrix.

    With ``|`` the result has a leading channel axis, even for one block followed by nothing.

    >>> parse_channels("1 2 | 3 4").tolist()
    [[1, 2], [3, 4]]
    >>> parse_channels("1 2; 3 4 | 5 6; 7 8").shape
    (2, 2, 2)
    >>> parse_channels("1 2 | 3", "--input")
    Traceback (most recent call last):
    tconv.errors.TConvError: --input: channel 2 has shape (1,), channel 1 has (2,) (every channel needs the same shape)
    """
    text = str(text)
    if "|" not in text:
        return parse_matrix(text, name)
    blocks = [parse_matrix(b, f"{name} (channel {n})") for n, b in enumerate(text.split("|"), start=1) if b.strip()]
    for n, b in enumerate(blocks[1:], start=2):
        if b.shape != blocks[0].shape:
            raise TConvError(
                f"{name}: channel {n} has shape {b.shape}, channel 1 has {blocks[0].shape} "
                "(every channel needs the same shape)"
            )
    if sum(b.size for b in blocks) > MAX_ELEMENTS:
        raise TConvError(f"{name}: more than {MAX_ELEMENTS:,} values: the explainer takes at most {MAX_ELEMENTS:,}")
    kind = np.float64 if any(b.dtype == np.float64 for b in blocks) else np.int64
    return np.stack(blocks).astype(kind)


def parse_per_axis(text: str, name: str):
    """``"2"`` → ``2``; ``"2,1"`` → ``(2, 1)``, one whole number per axis.

    >>> parse_per_axis("2,1", "--stride")
    (2, 1)
    """
    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise TConvError(f"{name}: {text!r} must be a whole number or one per axis, like 2 or 2,1") from None
    if not values:
        raise TConvError(f"{name}: empty value")
    return values[0] if len(values) == 1 else values


def parse_padding(text: str, name: str = "--padding"):
    """``same``, ``valid``, ``1``, ``1,2`` (per axis) or ``1:0,0:1`` (``begin:end`` per axis).

    >>> parse_padding("1:0,0:1"), parse_padding("same"), parse_padding("2")
    (((1, 0), (0, 1)), 'same', 2)
    """
    word = str(text).strip().lower()
    if word in ("same", "valid"):
        return word
    if ":" not in word:
        return parse_per_axis(word, name)
    pairs = []
    for part in word.split(","):
        try:
            b, e = (int(v) for v in part.split(":"))
        except ValueError:
            raise TConvError(f"{name}: {part!r} must be begin:end, like 1:0") from None
        pairs.append((b, e))
    return tuple(pairs)


#: The explainer's options, as the CLI spells them (``--output-padding``) and the web API (``output_padding``).
OPTIONS = ("example", "input", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "method")


def explain_arguments(values, cli: bool = True) -> dict:
    """The keyword arguments of :func:`tconv.explainer.compute.explain` from the options' text.

    ``values`` maps the API's names (:data:`OPTIONS`, ``output_padding``) to text or ``None``; errors
    name the option as the caller spells it (``--output-padding`` on the command line,
    ``output_padding`` in a URL). Without ``input`` and ``kernel`` a built-in example is explained
    (the learner's by default); its arguments can still be overridden. The whole numbers are
    bounded here (:func:`tconv.explainer.limits.check_bounds`), so that a mistake names the option.

    >>> a = explain_arguments({"input": "1 2", "kernel": "1 1", "stride": "2"}, cli=False)
    >>> a["input"].tolist(), a["stride"], a["padding"]
    ([1, 2], 2, 0)
    >>> explain_arguments({"input": "1 2"}, cli=False)
    Traceback (most recent call last):
    tconv.errors.TConvError: kernel: give both input and kernel, or neither (for a built-in example)
    >>> explain_arguments({"input": "1", "kernel": "1", "stride": "99999999999"})
    Traceback (most recent call last):
    tconv.errors.TConvError: --stride: 99999999999 is too large: at most 4,096 (the polyphase step draws one sub-kernel per phase, stride₁ × stride₂ phases)
    """
    from tconv.examples import EXAMPLES, LEARNER

    def label(name: str) -> str:
        return "--" + name.replace("_", "-") if cli else name

    def get(name: str):
        v = values.get(name)
        return None if v is None or (not cli and not str(v).strip()) else v  # a blank URL field: not given

    x, w, example = get("input"), get("kernel"), get("example")
    if (x is None) != (w is None):
        missing = "kernel" if w is None else "input"
        raise TConvError(
            f"{label(missing)}: give both {label('input')} and {label('kernel')}, or neither (for a built-in example)"
        )
    if x is not None and example:
        raise TConvError(f"{label('example')}: give {label('example')} or {label('input')}/{label('kernel')}, not both")
    if example is not None and example not in EXAMPLES:
        raise TConvError(f"{label('example')}: {example!r} is not one of {', '.join(sorted(EXAMPLES))}")
    ex = EXAMPLES[example] if example else LEARNER
    if x is not None:
        out = dict(input=parse_channels(x, label("input")), kernel=parse_channels(w, label("kernel")), name="", note="")
        out.update(stride=1, padding=0, output_padding=0, dilation=1)
    else:
        out = dict(input=np.array(ex.input), kernel=np.array(ex.kernel), name=ex.name, note=ex.note)
        out.update(stride=ex.stride, padding=ex.padding, output_padding=ex.output_padding, dilation=ex.dilation)
    for name in ("stride", "output_padding", "dilation"):
        if get(name) is not None:
            out[name] = parse_per_axis(get(name), label(name))
    if get("padding") is not None:
        out["padding"] = parse_padding(get("padding"), label("padding"))
    groups = get("groups")
    out["groups"] = 1 if groups is None else parse_per_axis(groups, label("groups"))
    if not isinstance(out["groups"], int) or out["groups"] < 1:
        raise TConvError(f"{label('groups')}: {groups!r} must be one positive whole number")
    check_bounds(out, label)
    out["method"] = get("method") or "all"
    if x is not None and ("|" in x or "|" in w) or out["groups"] != 1:
        out["input"], out["kernel"] = _as_layer(out["input"], out["kernel"], "|" in str(x), "|" in str(w), label)
    return out


def _as_layer(x: np.ndarray, w: np.ndarray, x_blocks: bool, w_blocks: bool, label) -> tuple[np.ndarray, np.ndarray]:
    """A layer (channel blocks given with ``|``, or ``groups``): ``x`` gets a channel axis (unless its
    blocks gave it one) and the kernel's blocks become PyTorch's ``(C_in, C_out/groups, *k)``.

    The kernel's blocks are listed in PyTorch's weight order: for each input channel, its
    ``C_out/groups`` kernels (block ``ci·C_out/groups + j`` is ``w[ci, j]``).

    >>> x, w = _as_layer(np.ones((2, 3)), np.ones((4, 2)), True, True, str)
    >>> x.shape, w.shape
    ((2, 3), (2, 2, 2))
    """
    x = x if x_blocks else x[None]
    blocks = w if w_blocks else w[None]
    if blocks.shape[0] % x.shape[0]:
        raise TConvError(
            f"{label('kernel')}: {blocks.shape[0]} kernel blocks for {x.shape[0]} input channels: give C_in × "
            "C_out/groups blocks separated by '|', for each input channel its C_out/groups kernels (PyTorch's order)"
        )
    return x, blocks.reshape(x.shape[0], blocks.shape[0] // x.shape[0], *blocks.shape[1:])
