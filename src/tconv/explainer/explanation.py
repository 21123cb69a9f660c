"""The :class:`Explanation`: one transposed convolution and its typed steps, and its views.

It prints as text (``str``; its ``repr`` is one line), serialises to the JSON of ``tconv explain
--json`` and of the web API (:meth:`Explanation.to_json`), and displays in Jupyter as the interactive
page of ``tconv serve`` (``_repr_html_``: the same script and style, with the JSON embedded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tconv.explainer.i18n import messages
from tconv.explainer.limits import strict_json
from tconv.explainer.records import ChannelsStep, Step, plain
from tconv.geometry import Geometry

__all__ = ["Explanation"]


@dataclass(repr=False)
class Explanation:
    """A transposed convolution of a small 1-D or 2-D input, and the steps computing it.

    ``input``/``kernel`` are what was given: one channel (``x`` and ``w`` of one spatial shape each),
    or a layer (``w`` of PyTorch's ``(C_in, C_out/G, *k)``, ``x`` of shape ``(C_in, *spatial)`` or,
    :attr:`batched`, ``(1, C_in, *spatial)``). The method steps always show one channel: :attr:`x`
    through :attr:`w` (for a layer, input channel 0 through ``w[0, 0]``), with
    :attr:`step_geometry`; the :class:`ChannelsStep` shows how the channels add up. :attr:`output`
    is the whole layer's output, in the input's layout (with the batch axis when it was given).
    """

    input: np.ndarray
    kernel: np.ndarray
    arguments: dict  # stride, padding, output_padding, dilation (and groups, for a layer) as given
    geometry: Geometry
    output: np.ndarray
    steps: list[Step]
    method: str = "all"
    name: str = ""
    note: str = ""
    step_geometry: Geometry | None = field(default=None, repr=False)
    lang: str = "en"  # the language of its text, page and pictures (tconv.explainer.i18n.LANGS)

    @property
    def channelled(self) -> bool:
        """Whether this is a layer with channels (``kernel`` is PyTorch's weight, 3-D or 4-D)."""
        return self.kernel.ndim > 2

    @property
    def batched(self) -> bool:
        """Whether the layer's input was given as a batch of one, ``(1, C_in, *spatial)``."""
        return self.channelled and self.input.ndim == self.kernel.ndim

    @property
    def layer_input(self) -> np.ndarray:
        """The input without the batch axis: ``(C_in, *spatial)`` for a layer, else as given."""
        return self.input[0] if self.batched else self.input

    @property
    def layer_output(self) -> np.ndarray:
        """The output without the batch axis: ``(C_out, *o)`` for a layer, else as given."""
        return self.output[0] if self.batched else self.output

    @property
    def x(self) -> np.ndarray:
        """The one-channel input the method steps show."""
        return self.layer_input[0] if self.channelled else self.input

    @property
    def w(self) -> np.ndarray:
        """The one-channel kernel the method steps show."""
        return self.kernel[0, 0] if self.channelled else self.kernel

    @property
    def g(self) -> Geometry:
        """The one-channel geometry of the method steps."""
        return self.step_geometry or self.geometry

    def step(self, kind: str):
        """The step of that kind (``KeyError`` if this explanation does not show it)."""
        for s in self.steps:
            if s.kind == kind:
                return s
        raise KeyError(kind)

    @property
    def channels(self) -> ChannelsStep | None:
        """The channels step of a layer, ``None`` for one channel."""
        return next((s for s in self.steps if isinstance(s, ChannelsStep)), None)

    def to_dict(self) -> dict:
        """Everything as JSON-ready Python values (arrays become nested lists)."""
        g = self.geometry
        geometry = {
            "input": g.small,
            "kernel": g.kernel,
            "stride": g.stride,
            "dilation": g.dilation,
            "effective_kernel": g.effective_kernel,
            "full": g.full,
            "begin": g.begin,
            # e: the crop at the end of F, as in the shape step (the output_padding is appended after it)
            "end": [ax.end for ax in self.step("shape").axes],
            "output_padding": [ax.output_padding for ax in self.step("shape").axes],
            "output": g.large,
            "in_channels": g.small_channels,
            "out_channels": g.large_channels,
            "groups": g.groups,
        }
        # A layer's input and output without the batch axis ("batched" says it was given): the
        # page reads input[c] and output[c] as channels. Each step's title, in the explanation's
        # language, comes first.
        t = messages(self.lang)
        d = plain(
            {
                "input": self.layer_input,
                "kernel": self.kernel,
                "arguments": self.arguments,
                "method": self.method,
                "batched": self.batched,
                "output": self.layer_output,
                "output_shape": list(self.layer_output.shape),
                "geometry": geometry,
                "lang": self.lang,
                "steps": {},
            }
        )
        d["steps"] = {s.kind: {"title": t("heading." + s.kind), **plain(s)} for s in self.steps}
        return d

    def to_json(self, indent: int | None = None) -> str:
        """The JSON of ``tconv explain --json`` (and of ``GET /api/explain``): standard JSON only.

        Raises
        ------
        TConvError
            When a value overflowed float64 (``inf`` or ``nan``, which JSON cannot carry), naming
            the cause (:func:`tconv.explainer.limits.strict_json`).
        """
        return strict_json(self.to_dict(), self.output, indent=indent)

    def text(self, colour: bool = False, sections=None, width: int | None = None, lang: str | None = None) -> str:
        """The terminal text (:func:`tconv.explainer.text.render`), in ``lang`` (default: :attr:`lang`)."""
        from tconv.explainer.text import render

        return render(self, colour=colour, sections=sections, width=width, lang=lang)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        """One line: the shapes and the arguments; ``print`` shows the steps."""
        args = ", ".join(f"{k} {_show(v)}" for k, v in self.arguments.items())
        method = "" if self.method == "all" else f", method {self.method}"
        lang = "" if self.lang == "en" else f", lang {self.lang}"
        return (
            f"Explanation(input {_shape(self.input)}, kernel {_shape(self.kernel)}, {args}{method}{lang} -> "
            f"output {_shape(self.output)}; print() shows the steps)"
        )

    def _repr_html_(self) -> str:
        """Jupyter: the interactive page of ``tconv serve``, drawing this explanation's JSON."""
        from tconv.explainer.web import embed

        return embed(self.to_dict(), self.lang)


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(map(str, a.shape)) + ")"


def _show(v) -> str:
    """An argument as given, compactly: ``2``, ``(2, 1)``, ``same``, ``((1, 0),)``."""
    return v if isinstance(v, str) else str(v)
