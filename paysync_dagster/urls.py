"""Validation of the http(s) URLs operators give paysync (provider API bases, webhook targets).

Parsed with `urllib.parse`, then held to rules a provider client can act on: http or https, a
valid host (a DNS name or an IP literal) and port, no credentials, query or fragment, no
whitespace, bounded length. Errors name the broken rule and never repeat the URL, which may
carry a password.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class InvalidUrlError(ValueError):
    """A URL that breaks a rule; the message names the rule, never the URL."""


def validate_http_url(value: str, what: str = "URL") -> str:
    """`value` if it is a usable http(s) URL, without a trailing slash; else `InvalidUrlError`."""
    if len(value) > MAX_URL_LENGTH:
        raise InvalidUrlError(f"invalid {what}: longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in value):
        raise InvalidUrlError(f"invalid {what}: it must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidUrlError(f"invalid {what}: not a parsable URL (an unclosed '['?)") from None
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidUrlError(f"invalid {what}: expected http(s)://host[:port][/path]")
    if "@" in parts.netloc:
        raise InvalidUrlError(f"invalid {what}: it must not carry credentials")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise InvalidUrlError(f"invalid {what}: it must not have a query or a fragment")
    if not _valid_host(parts.hostname or ""):
        raise InvalidUrlError(
            f"invalid {what}: the host must be a DNS name of at most {MAX_HOST_LENGTH}"
            " characters or an IP address"
        )
    if port is not None and not 1 <= port <= 65535:
        raise InvalidUrlError(f"invalid {what}: the port must be a number from 1 to 65535")
    if parts.netloc.endswith(":"):
        raise InvalidUrlError(f"invalid {what}: a ':' must be followed by a port")
    return value.rstrip("/")


def _valid_host(host: str) -> bool:
    if not host or len(host) > MAX_HOST_LENGTH:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return all(_LABEL.fullmatch(label) for label in host.removesuffix(".").split("."))
    return True
