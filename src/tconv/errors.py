"""The one exception tconv raises for bad arguments, and the one hint for a missing torch.

Every message names the parameter, the rule it broke and the values it was given, so that a user
reading only the last line of a traceback knows what to change.
"""

__all__ = ["TConvError", "TConvTypeError", "TORCH_INSTALL", "needs_torch"]

#: How to install torch for tconv: the one hint every part that needs torch gives.
TORCH_INSTALL = "pip install 'tconv[torch]'"


def needs_torch(what: str) -> str:
    """The one-line message for ``what`` needing torch, with the install hint.

    >>> needs_torch("tconv.torch")
    "tconv.torch needs torch (pip install 'tconv[torch]')"
    """
    return f"{what} needs torch ({TORCH_INSTALL})"


class TConvError(ValueError):
    """An argument of a tconv function breaks a rule (a wrong value)."""


class TConvTypeError(TConvError, TypeError):
    """An argument of a tconv function has the wrong type (still a :class:`TConvError`)."""
