"""Which ``Host`` headers the server answers: a guard against DNS rebinding.

A web page on another site can make the browser send requests to ``127.0.0.1`` by pointing its own
name at that address (*DNS rebinding*); the browser still sends that name in the ``Host`` header. So
the server answers only requests naming the address it serves: ``localhost``, ``127.0.0.1``,
``[::1]`` or the ``--host`` given, each with the served port or no port. Bound to every interface
(``0.0.0.0``, ``::``), it also answers any IP address written as a number: a rebinding page has a
*name*, never a numeric address, as its origin.

>>> names = allowed_names("127.0.0.1")
>>> host_allowed("127.0.0.1:8765", names, 8765), host_allowed("localhost", names, 8765)
(True, True)
>>> host_allowed("evil.example:8765", names, 8765), host_allowed("localhost:9999", names, 8765)
(False, False)
"""

from __future__ import annotations

import ipaddress

__all__ = ["LOOPBACK_NAMES", "WILDCARDS", "allowed_names", "host_allowed", "split_host"]

#: The names of this machine the server always answers to.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")

#: Addresses that bind every interface.
WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def allowed_names(bound: str) -> frozenset[str]:
    """The host names (lower case, IPv6 in brackets) a server bound to ``bound`` answers to.

    >>> sorted(allowed_names("::1"))
    ['127.0.0.1', '[::1]', 'localhost']
    >>> sorted(allowed_names("MyBox"))
    ['127.0.0.1', '[::1]', 'localhost', 'mybox']
    """
    name = bound.strip().lower()
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return frozenset((*LOOPBACK_NAMES, name)) - {"", "0.0.0.0", "[::]"}


def split_host(header: str) -> tuple[str, str | None]:
    """``(host, port)`` of a ``Host`` header, the host in lower case; ``port`` is ``None`` when absent.

    >>> split_host("[::1]:8765"), split_host("LocalHost"), split_host("a:b:c")
    (('[::1]', '8765'), ('localhost', None), ('a', 'b:c'))
    """
    text = header.strip().lower()
    if text.startswith("["):
        host, _, rest = text.partition("]")
        host += "]"
        if not rest:
            return host, None
        return (host, rest[1:]) if rest.startswith(":") else (text, "")
    host, sep, port = text.partition(":")
    return host, port if sep else None


def host_allowed(header: str | None, names: frozenset[str], port: int, any_ip: bool = False) -> bool:
    """Whether a request with this ``Host`` header may be served.

    Parameters
    ----------
    header : str or None
        The request's ``Host`` header (``None``: absent, refused).
    names : frozenset of str
        The names answered to, from :func:`allowed_names`.
    port : int
        The port served: a port in the header must be this one.
    any_ip : bool
        Also answer any numeric IP address (a server bound to every interface).

    Returns
    -------
    bool
        ``True`` to serve the request, ``False`` to refuse it.

    >>> host_allowed("[::1]:80", allowed_names("127.0.0.1"), 80), host_allowed(None, frozenset(), 80)
    (True, False)
    >>> host_allowed("10.0.0.7:80", allowed_names("0.0.0.0"), 80, any_ip=True)
    True
    """
    if not header:
        return False
    host, given_port = split_host(header)
    if given_port is not None and given_port != str(port):
        return False
    if host in names:
        return True
    if not any_ip:
        return False
    try:
        ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
    except ValueError:
        return False
    return True
