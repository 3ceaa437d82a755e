"""Which URLs clockweb may fetch: http(s) to public addresses only.

Two layers. `check_url` refuses a URL up front with a message a curator can act on.
`guarded_connections` then refuses, at connection time, any address that is not public,
so a redirect to 127.0.0.1 or a DNS name that later resolves to 10.0.0.5 (rebinding)
is stopped too: every HTTP client in the process resolves through socket.getaddrinfo.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
_MAX_URL_LENGTH = 4096


class UnsafeURL(ValueError):
    """A URL or address clockweb refuses to fetch; the message says why."""


def address_problem(address: str, *, allow_loopback: bool) -> str | None:
    """Why this IP address may not be fetched from, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_problem(str(embedded), allow_loopback=allow_loopback)
        if ip.is_site_local:
            return f"{ip} is a site-local address"
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return f"{ip} is not a public address"
    return None


def check_url(url: str, *, allow_loopback: bool = False, resolve: bool = True) -> None:
    """Raise UnsafeURL unless `url` is http(s) to a host whose every address is public."""
    if len(url) > _MAX_URL_LENGTH:
        raise UnsafeURL(f"URL is longer than {_MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(f"not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise UnsafeURL(f"only http and https URLs can be fetched, not {shown}")
    host = parts.hostname
    if not host:
        raise UnsafeURL("URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("URLs with a user name or password are refused")
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeURL(f"cannot resolve host {host!r}: {error}") from None
    for info in infos:
        problem = address_problem(str(info[4][0]), allow_loopback=allow_loopback)
        if problem:
            raise UnsafeURL(f"refused {host}: {problem}")


# -- connection-time guard -----------------------------------------------------------------


class GuardReport:
    """What the guard refused, if anything: libraries often re-wrap our error in their own."""

    refused: str | None = None


_state = threading.local()
_real_getaddrinfo = socket.getaddrinfo
_install_lock = threading.Lock()


def _guarded_getaddrinfo(host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - socket's signature
    infos = _real_getaddrinfo(host, port, *args, **kwargs)
    allow_loopback = getattr(_state, "allow_loopback", None)
    if allow_loopback is None:  # this thread is not inside guarded_connections()
        return infos
    for info in infos:
        if info[0] not in (socket.AF_INET, socket.AF_INET6):
            continue
        problem = address_problem(str(info[4][0]), allow_loopback=allow_loopback)
        if problem:
            message = f"refused {host}: {problem}"
            _state.report.refused = message
            raise UnsafeURL(message)
    return infos


@contextmanager
def guarded_connections(*, allow_loopback: bool) -> Iterator[GuardReport]:
    """Within this block, this thread can only connect to public addresses (and loopback if allowed)."""
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
    previous = getattr(_state, "allow_loopback", None), getattr(_state, "report", None)
    report = GuardReport()
    _state.allow_loopback, _state.report = allow_loopback, report
    try:
        yield report
    finally:
        _state.allow_loopback, _state.report = previous
