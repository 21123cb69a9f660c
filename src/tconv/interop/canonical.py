"""The canonical description of a transposed convolution's crop, and one framework's arguments for it.

Every framework computes the full output ``F = (i−1)·s + k_eff`` (``k_eff = d·(k−1) + 1``) and keeps
the window that starts ``b`` cells in and ends ``e`` cells before the end (negative: zeros added):
``o = F − b − e``. :class:`Canonical` holds exactly ``(k, s, d, b, e)`` per axis;
:class:`Arguments` is what a ``to_*`` writer returns (:mod:`tconv.interop.writers`), read by the
``from_*`` readers (:mod:`tconv.interop.readers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tconv.arguments import per_axis
from tconv.geometry import effective_kernel, full_size
from tconv.interop.layouts import KERNEL_LAYOUTS

__all__ = ["Canonical", "Arguments"]

_DUMMY_INPUT = 1 << 20  # crops do not depend on the input size for these spellings; F only has to be large


@dataclass(frozen=True)
class Canonical:
    """One transposed convolution's geometry: per axis kernel, stride, dilation and the crop ``(b, e)``
    of the full output ``F = (i−1)·s + d·(k−1) + 1`` (negative crop: zeros added). ``o = F − b − e``."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    begin: tuple[int, ...]
    end: tuple[int, ...]
    source: str = ""
    input: tuple[int, ...] | None = None

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        return tuple(effective_kernel(k, d) for k, d in zip(self.kernel, self.dilation))

    def output_size(self, input) -> tuple[int, ...]:
        """``o = (i−1)·s + k_eff − b − e`` per axis."""
        input = per_axis("input", input, self.ndim, 1)
        return tuple(
            full_size(i, s, ke) - b - e
            for i, s, ke, b, e in zip(input, self.stride, self.effective_kernel, self.begin, self.end)
        )

    def __str__(self) -> str:
        lines = [f"from {self.source}" if self.source else "canonical geometry"]
        for a in range(self.ndim):
            k, s, d, ke, b, e = (
                self.kernel[a],
                self.stride[a],
                self.dilation[a],
                self.effective_kernel[a],
                self.begin[a],
                self.end[a],
            )
            rest = ke - b - e
            size = f"o = (i-1)*{s} {'-' if rest < 0 else '+'} {abs(rest)}"
            if self.input:
                i = self.input[a]
                size += f" = {full_size(i, s, ke) - b - e} for i={i}"
            lines.append(f"  axis {a}: k={k} s={s} d={d} k_eff={ke}; crop b={b} at the start, e={e} at the end; {size}")
        if any(v < 0 for v in self.begin + self.end):
            lines.append("  (a negative crop means that many zeros added)")
        return "\n".join(lines)


@dataclass(frozen=True)
class Arguments:
    """One framework's arguments for a :class:`Canonical` geometry.

    ``crop`` is ``None`` when ``args`` say it exactly; otherwise ``(start, end)`` per axis still to
    cut from that framework's result (negative: that many zeros to insert there). With ``sliced``
    the crop is never negative and is printed as a slice of the call's channels-last result
    (:attr:`slice`), so the printed line is code that runs.
    """

    framework: str
    call: str
    args: dict
    crop: tuple[tuple[int, int], ...] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Positional arguments the call takes before the keywords (JAX: ``lhs, rhs``).
    inputs: tuple[str, ...] = ()
    #: Whether per-axis values must stay sequences when printed (JAX: ``strides=(2,)``, not ``2``).
    sequences: bool = False
    #: Whether the crop is printed as a slice of the result, ``[:, b:-e, ..., :]`` (JAX).
    sliced: bool = False

    @property
    def exact(self) -> bool:
        return self.crop is None

    @property
    def slice(self) -> str:
        """The crop as a slice of a channels-last ``(N, *spatial, C)`` result (``""`` for none).

        >>> Arguments("jax", "f", {}, crop=((1, 0), (0, 2)), sliced=True).slice
        '[:, 1:, :-2, :]'
        """
        if self.crop is None:
            return ""
        axes = (f"{b or ''}:{-e if e else ''}" for b, e in self.crop)
        return "[:, " + ", ".join(axes) + ", :]"

    def to_dict(self) -> dict:
        return {
            "framework": self.framework,
            "call": self.call,
            "args": self.args,
            "exact": self.exact,
            "crop": None if self.crop is None else [list(c) for c in self.crop],
            "kernel_layout": KERNEL_LAYOUTS[self.framework],
            "notes": list(self.notes),
            **({"slice": self.slice} if self.sliced and self.crop else {}),
        }

    def __str__(self) -> str:
        short = (lambda v: v) if self.sequences else _short
        shown = ", ".join(
            [*self.inputs, *(f"{k}={v!r}" if isinstance(v, str) else f"{k}={short(v)}" for k, v in self.args.items())]
        )
        sliced = self.slice if self.sliced else ""
        lines = [f"{self.framework}: {self.call}({shown}){sliced}"]
        lines += [f"  {n}" for n in self.notes]
        if self.crop is not None and not sliced:
            lines.append(f"  then crop (start, end) = {self.crop}  (negative: insert that many zeros)")
        lines.append(f"  weight: {self.framework} {KERNEL_LAYOUTS[self.framework]}")
        return "\n".join(lines)


def _short(v):
    """Per-axis tuples whose entries are all equal print as one int, as the frameworks accept."""
    if isinstance(v, tuple) and v and all(x == v[0] for x in v) and not isinstance(v[0], tuple):
        return v[0]
    return v


def _axes(kernel, stride, dilation):
    kernel = (kernel,) if isinstance(kernel, int) else tuple(kernel)
    n = len(kernel)
    return per_axis("kernel", kernel, n, 1), per_axis("stride", stride, n, 1), per_axis("dilation", dilation, n, 1)


def _canonical(kernel, stride, dilation, begin, end, source, input):
    return Canonical(
        kernel,
        stride,
        dilation,
        tuple(begin),
        tuple(end),
        source,
        None if input is None else per_axis("input", input, len(kernel), 1),
    )
