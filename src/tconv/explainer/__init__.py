"""The explainer: one transposed convolution computed step by step, and its views.

* :mod:`~tconv.explainer.compute` — :func:`explain` (public as ``tconv.explain``);
* :mod:`~tconv.explainer.records` — the typed step records; :mod:`~tconv.explainer.explanation` — the
  :class:`Explanation` holding them (text, JSON, Jupyter);
* :mod:`~tconv.explainer.steps`, :mod:`~tconv.explainer.checks`, :mod:`~tconv.explainer.channels` — the steps;
* :mod:`~tconv.explainer.text`, :mod:`~tconv.explainer.text_methods`, :mod:`~tconv.explainer.layout` —
  the terminal text; :mod:`~tconv.explainer.image`, :mod:`~tconv.explainer.animation` — pictures;
  :mod:`~tconv.explainer.web` — the interactive page (``tconv serve`` and Jupyter);
* :mod:`~tconv.explainer.artifacts` — the overlap pattern behind checkerboard artifacts;
* :mod:`~tconv.explainer.shape` — which padding gives a wanted output size;
* :mod:`~tconv.explainer.parse` — the text notation the CLI and the web API read.
* :mod:`~tconv.explainer.limits` — the bounds and the standard-JSON rule the CLI, ``tconv.explain`` and the
  web API share.
"""

from tconv.explainer.compute import explain
from tconv.explainer.explanation import Explanation

__all__ = ["explain", "Explanation"]
