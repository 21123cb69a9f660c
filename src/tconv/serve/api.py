"""The web API: ``GET /api/explain`` answers exactly what ``tconv explain --json`` prints.

Query names are the CLI's long options with ``_`` for ``-`` (``input``, ``kernel``, ``stride``,
``padding``, ``output_padding``, ``dilation``, ``groups``, ``method``, ``example``, ``torch``,
``no_torch``, ``lang``); matrices are written as on the command line (rows split by ``;``, channels by
``|``). As on the command line, PyTorch's check runs only when asked (``torch=1``, the CLI's ``--torch``);
``no_torch=1`` (the default) is still accepted; ``lang=ja`` gives the sentences in Japanese (the numbers
and keys do not change). A mistake is a :class:`tconv.TConvError` naming the parameter, which the server
answers with HTTP 400.

The explainer's limits apply (:mod:`tconv.explainer.limits`, the CLI's and ``tconv.explain``'s): the
whole numbers are bounded before anything is computed (:data:`BOUNDS`, and at most
:data:`MAX_PHASES` polyphase phases), and the answer is standard JSON: a result too large for
float64 (``inf`` or ``nan``, which JSON cannot carry) is refused, naming ``input, kernel``.

>>> import json
>>> d = json.loads(explain_json("input=1+2&kernel=1+10+100&stride=2"))
>>> d["output"], d["steps"]["result"]["torch"]["available"]
([1, 10, 102, 20, 200], False)
>>> explain_json("input=1+2&kernel=1&stride=two")
Traceback (most recent call last):
tconv.errors.TConvError: stride: 'two' must be a whole number or one per axis, like 2 or 2,1
>>> explain_json("input=1+2&kernel=1&dilation=99999999999")
Traceback (most recent call last):
tconv.errors.TConvError: dilation: 99999999999 is too large: at most 1,048,576 (the explainer draws at most 262,144 elements)
"""

from __future__ import annotations

from urllib.parse import parse_qs

from tconv.errors import TConvError
from tconv.explainer.compute import explain
from tconv.explainer.i18n import check_lang
from tconv.explainer.limits import BOUNDS, MAX_PHASES, check_bounds, strict_json
from tconv.explainer.parse import OPTIONS, explain_arguments

__all__ = ["explain_json", "query_arguments", "check_bounds", "strict_json", "QUERY_NAMES", "BOUNDS", "MAX_PHASES"]

#: Every query parameter the API reads.
QUERY_NAMES = (*OPTIONS, "torch", "no_torch", "lang")

#: How a yes/no parameter (``torch``, ``no_torch``) may be written; a blank one is not given.
FLAG_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _flag(name: str, text: str) -> bool:
    """A yes/no parameter's value (``TConvError`` naming it for anything else).

    >>> _flag("torch", "1"), _flag("torch", " "), _flag("no_torch", "False")
    (True, False, False)
    >>> _flag("torch", "maybe")
    Traceback (most recent call last):
    tconv.errors.TConvError: torch: 'maybe' must be 1 or 0 (also true/false, yes/no, on/off)
    """
    word = text.strip().lower()
    if not word:
        return False
    if word not in FLAG_WORDS:
        raise TConvError(f"{name}: {text!r} must be 1 or 0 (also true/false, yes/no, on/off)")
    return FLAG_WORDS[word]


def query_arguments(query: str) -> tuple[dict[str, str], bool]:
    """The query's parameters as text (each given once, every name known) and whether to run PyTorch's check.

    The check runs only with ``torch=1`` (the CLI's ``--torch``); ``no_torch=1`` says the default
    again, and the two together are refused (as ``--torch --no-torch`` is).

    >>> query_arguments("input=1+2&kernel=1&no_torch=1")
    ({'input': '1 2', 'kernel': '1'}, False)
    >>> query_arguments("input=1+2&kernel=1&torch=1")
    ({'input': '1 2', 'kernel': '1'}, True)
    >>> query_arguments("torch=1&no_torch=1")
    Traceback (most recent call last):
    tconv.errors.TConvError: no_torch: not allowed with torch=1 (give one of them)
    """
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=len(QUERY_NAMES) * 2)
    except ValueError as exc:
        raise TConvError(f"query: {exc}") from None
    unknown = sorted(set(values) - set(QUERY_NAMES))
    if unknown:
        raise TConvError(f"{unknown[0]}: unknown parameter (known: {', '.join(QUERY_NAMES)})")
    for name, v in values.items():
        if len(v) > 1:
            raise TConvError(f"{name}: given {len(v)} times; give it once")
    one = {name: v[0] for name, v in values.items()}
    torch = _flag("torch", one.pop("torch", ""))
    if _flag("no_torch", one.pop("no_torch", "")) and torch:
        raise TConvError("no_torch: not allowed with torch=1 (give one of them)")
    return one, torch


def explain_json(query: str) -> str:
    """The JSON for a URL's query string (``TConvError`` naming the parameter on bad input).

    Parameters
    ----------
    query : str
        The URL's query, like ``input=1+2&kernel=1+1&stride=2`` (``&torch=1`` runs PyTorch's check).

    Returns
    -------
    str
        Standard JSON (no ``NaN`` or ``Infinity``): what ``tconv explain --json`` prints for the same
        arguments (with ``--torch`` when ``torch=1``).

    Raises
    ------
    TConvError
        A bad, unknown or out-of-range parameter, or a result JSON cannot carry, before any large allocation.
    """
    one, torch = query_arguments(query)
    lang = check_lang(one.pop("lang", "en"))  # the language of the JSON's sentences, not of its numbers or keys
    return explain(**explain_arguments(one, cli=False), torch_check=torch, lang=lang).to_json()
