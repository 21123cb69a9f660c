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

from tconv.explainer.i18n import LANGS, catalogue, messages

__all__ = ["ASSETS", "asset", "page", "embed", "legend_html"]

#: The files served under ``/static/``, with their content types.
ASSETS = {"explain.js": "text/javascript; charset=utf-8", "explain.css": "text/css; charset=utf-8"}

#: The legend's entries: the CSS class of each swatch and the key of what it means (every colour the page uses).
LEGEND = (
    ("pos", "page.legend.positive"),
    ("neg", "page.legend.negative"),
    ("zero", "page.legend.zero"),
    ("padl", "page.legend.padding"),
    ("cur", "page.legend.current"),
    ("keptl", "page.legend.kept"),
    ("wrongl", "page.legend.wrong"),
)


def legend_html(lang: str = "en") -> str:
    """The legend, in ``lang``: one swatch per colour the page draws, and what it means."""
    t = messages(lang)
    spans = "".join(f'<span class="{cls}">{html.escape(t(key))}</span>' for cls, key in LEGEND)
    return f'<div class="legend" aria-label="{html.escape(t("page.legend.label"))}">{spans}</div>'


def _options(lang: str) -> dict:
    """What the page's script is handed: the language, its strings, and the languages to switch to."""
    return {"lang": lang, "strings": catalogue(lang), "langs": [[code, catalogue(code)["lang.name"]] for code in LANGS]}


_ids = itertools.count()


def asset(name: str) -> bytes:
    """The bytes of one asset (``KeyError`` for any other name: nothing else is served)."""
    if name not in ASSETS and name != "page.html":
        raise KeyError(name)
    return resources.files("tconv.explainer").joinpath("web_assets", name).read_bytes()


def _script_json(value) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")  # "</script>" must not end the script


def page(lang: str = "en") -> bytes:
    """The page of ``tconv serve`` in ``lang`` (its script reads the state from the URL and fetches the API).

    >>> b'<html lang="ja">' in page("ja") and "転置畳み込み".encode() in page("ja")
    True
    """
    t = messages(lang)
    lead = html.escape(t("page.lead", json="\0")).replace("\0", "<code>tconv explain --json</code>")
    parts = {
        b"LANG": lang,
        b"TITLE": html.escape(t("page.title")),
        b"HEADING": html.escape(t("page.h1")),
        b"LEAD": lead,
        b"LEGEND": legend_html(lang),
        b"STRINGS": _script_json(_options(lang)),
    }
    out = asset("page.html")
    for marker, text in parts.items():
        out = out.replace(marker, text.encode(), 1)
    return out


def embed(data: dict, lang: str = "en") -> str:
    """The page for a notebook cell, in ``lang``: style, script, strings and the explanation's JSON inline, no controls."""
    n = next(_ids)
    options = _script_json({**_options(lang), "data": data})
    return (
        f"<style>{asset('explain.css').decode()}</style>"
        f'<div class="tconv-explain" id="tconv-explain-{n}" lang="{lang}">{legend_html(lang)}</div>'
        f"<script>{asset('explain.js').decode()}\n"
        f'tconvExplain.mount(document.getElementById("tconv-explain-{n}"), {options});</script>'
        f"<noscript><pre>{html.escape(json.dumps(data)[:2000])}</pre></noscript>"
    )
