"""The one exception tconv raises for bad arguments.

Every message names the parameter, the rule it broke and the values it was given, so that a user
reading only the last line of a traceback knows what to change.
"""

__all__ = ["TConvError", "TConvTypeError"]


class TConvError(ValueError):
    """An argument of a tconv function breaks a rule (a wrong value)."""


class TConvTypeError(TConvError, TypeError):
    """An argument of a tconv function has the wrong type (still a :class:`TConvError`)."""
