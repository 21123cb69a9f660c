"""The explainer: one transposed convolution computed step by step, and its renderers.

* :mod:`tconv.explainer.steps` — the steps as data (:class:`~tconv.explainer.steps.Explanation`);
* :mod:`tconv.explainer.text` — the terminal text; :mod:`tconv.explainer.image` — pictures and animations;
* :mod:`tconv.explainer.artifacts` — the overlap pattern behind checkerboard artifacts;
* :mod:`tconv.explainer.shape` — which padding gives a wanted output size;
* :mod:`tconv.explainer.parse` — the text notation for matrices the CLI (and the web API) read.
"""
