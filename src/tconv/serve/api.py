"""The web API: ``GET /api/explain`` answers exactly what ``tconv explain --json`` prints.

Query names are the CLI's long options with ``_`` for ``-`` (``input``, ``kernel``, ``stride``,
``padding``, ``output_padding``, ``dilation``, ``groups``, ``method``, ``example``, ``no_torch``);
matrices are written as on the command line (rows split by ``;``, channels by ``|``). A mistake is
a :class:`tconv.TConvError` naming the parameter, which the server answers with HTTP 400.

>>> import json
>>> d = json.loads(explain_json("input=1+2&kernel=1+10+100&stride=2&no_torch=1"))
>>> d["output"]
[1, 10, 102, 20, 200]
>>> explain_json("input=1+2&kernel=1&stride=two")
Traceback (most recent call last):
tconv.errors.TConvError: stride: 'two' must be a whole number or one per axis, like 2 or 2,1
"""

from __future__ import annotations

from urllib.parse import parse_qs

from tconv.errors import TConvError
from tconv.explainer.compute import explain
from tconv.explainer.parse import OPTIONS, explain_arguments

__all__ = ["explain_json", "QUERY_NAMES"]

#: Every query parameter the API reads.
QUERY_NAMES = (*OPTIONS, "no_torch")


def explain_json(query: str) -> str:
    """The JSON for a URL's query string (``TConvError`` naming the parameter on bad input)."""
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
    no_torch = one.pop("no_torch", "0").strip().lower() not in ("", "0", "false", "no")
    a = explain_arguments(one, cli=False)
    return explain(**a, torch_check=not no_torch).to_json()
