"""The interactive page: its assets, the page ``tconv serve`` serves, and the page embedded in Jupyter.

The page (``web_assets/explain.js``) computes nothing: it draws the JSON of
:meth:`~tconv.explainer.explanation.Explanation.to_json`, fetched from ``GET /api/explain`` under
``tconv serve``, or embedded in the notebook cell by :func:`embed` (``Explanation._repr_html_``).
Every asset ships with tconv: the page works offline.

>>> sorted(ASSETS)
['explain.css', 'explain.js']
>>> "data-index" in asset("explain.js").decode()
True
"""

from __future__ import annotations

import html
import itertools
import json
from importlib import resources

__all__ = ["ASSETS", "asset", "page", "embed", "LEGEND_HTML"]

#: The files served under ``/static/``, with their content types.
ASSETS = {"explain.js": "text/javascript; charset=utf-8", "explain.css": "text/css; charset=utf-8"}

LEGEND_HTML = (
    '<div class="legend" aria-label="legend"><span class="pos">positive</span><span class="neg">negative</span>'
    '<span class="zero">zero</span><span class="padl">padding (.)</span>'
    '<span class="cur">the cells this step touches</span><span class="keptl">kept by the crop</span></div>'
)

_ids = itertools.count()


def asset(name: str) -> bytes:
    """The bytes of one asset (``KeyError`` for any other name: nothing else is served)."""
    if name not in ASSETS and name != "page.html":
        raise KeyError(name)
    return resources.files("tconv.explainer").joinpath("web_assets", name).read_bytes()


def page() -> bytes:
    """The page of ``tconv serve`` (its script reads the state from the URL and fetches the API)."""
    return asset("page.html").replace(b"LEGEND", LEGEND_HTML.encode())


def embed(data: dict) -> str:
    """The page for a notebook cell: style, script and the explanation's JSON inline, no controls."""
    n = next(_ids)
    payload = json.dumps(data).replace("</", "<\\/")  # a "</script>" inside the JSON must not end the script
    return (
        f"<style>{asset('explain.css').decode()}</style>"
        f'<div class="tconv-explain" id="tconv-explain-{n}">{LEGEND_HTML}</div>'
        f"<script>{asset('explain.js').decode()}\n"
        f'tconvExplain.mount(document.getElementById("tconv-explain-{n}"), {{ data: {payload} }});</script>'
        f"<noscript><pre>{html.escape(json.dumps(data)[:2000])}</pre></noscript>"
    )
