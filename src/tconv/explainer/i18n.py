"""The explainer's words, one catalogue per language: ``lang/<code>.json`` (a third language is a file).

Every human-readable string of the explainer — the terminal text, the page of ``tconv serve`` and
Jupyter, the pictures, ``tconv shape`` and ``tconv artifacts`` — is looked up here by key, in the
language asked for; the numbers, the JSON's keys and the formulas do not depend on it. A catalogue
maps each key to a template with ``{name}`` placeholders (the page's script fills them the same way),
or, where a language inflects for number, to ``{"one": ..., "other": ...}`` chosen by ``n``.

>>> t = messages("en")
>>> t("text.n_input_channels", n=1), t("text.n_input_channels", n=2)
('1 input channel', '2 input channels')
>>> messages("ja")("text.n_input_channels", n=2)
'入力チャネル 2 個'
>>> check_lang("fr")
Traceback (most recent call last):
...
tconv.errors.TConvError: lang: 'fr' is not a language of the explainer (one of: en, ja)
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources

from tconv.errors import TConvError

__all__ = ["LANGS", "DEFAULT", "Messages", "messages", "catalogue", "check_lang", "fill", "PLACEHOLDER"]

DEFAULT = "en"
#: ``{name}``: the one placeholder syntax, shared with the page's script.
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _available() -> tuple[str, ...]:
    files = resources.files("tconv.explainer").joinpath("lang")
    return tuple(sorted(p.name[: -len(".json")] for p in files.iterdir() if p.name.endswith(".json")))


#: The languages with a catalogue, English first.
LANGS: tuple[str, ...] = tuple(sorted(_available(), key=lambda code: (code != DEFAULT, code)))


def check_lang(lang) -> str:
    """``lang`` if it has a catalogue, else a :class:`TConvError` naming the parameter and the choices."""
    if lang not in LANGS:
        raise TConvError(f"lang: {lang!r} is not a language of the explainer (one of: {', '.join(LANGS)})")
    return lang


@functools.cache
def catalogue(lang: str) -> dict:
    """The whole catalogue of ``lang`` (key → template, or ``{"one", "other"}``), as the page receives it."""
    check_lang(lang)
    text = resources.files("tconv.explainer").joinpath("lang", f"{lang}.json").read_text(encoding="utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def fill(template: str, values: dict) -> str:
    """``{name}`` replaced by ``str(values[name])`` (a missing value is a ``KeyError``)."""
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


class Messages:
    """One language's strings: ``t(key, **values)``; ``n`` picks ``one`` or ``other`` where the entry has both."""

    def __init__(self, lang: str):
        self.lang = check_lang(lang)
        self.strings = catalogue(lang)

    def __call__(self, key: str, **values) -> str:
        entry = self.strings[key]
        if isinstance(entry, dict):
            entry = entry["one" if values.get("n") == 1 else "other"]
        return fill(entry, values)

    def __repr__(self) -> str:
        return f"Messages({self.lang!r})"


@functools.cache
def messages(lang: str = DEFAULT) -> Messages:
    """The :class:`Messages` of ``lang`` (``TConvError`` for a language without a catalogue)."""
    return Messages(lang)
