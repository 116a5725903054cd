"""PayFit-specific failures, each a `ProviderError` the sync already knows how to treat.

Messages name the URL (without credentials) and say what to check; they never contain the
API key, a query string or a response body beyond PayFit's short error message.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from paysync_dagster.providers.base import CursorGoneError
from paysync_dagster.providers.errors import ProviderError, ProviderUnreachableError


class PayfitPageTokenError(CursorGoneError):
    """PayFit refused a `nextPageToken` (expired, stale or foreign): restart the listing.

    A `CursorGoneError`, so the sync engine restarts the listing from the first page under the
    same watermark, exactly as it does when a Stripe resume cursor is gone.
    """


class PayfitMockModeError(ProviderError):
    """The workspace's credentials are missing or placeholders: no request may be made.

    Raised by `PayfitApi` itself, before any request; the sync is expected to have checked
    `mock_mode.mock_mode_status` first and skipped with status `skipped_mock_mode`.
    """


class PayfitUnreachableError(ProviderUnreachableError):
    """Nothing answered at the configured base URL (refused, unresolvable, timed out, broken)."""


class PayfitUnexpectedResponseError(ProviderError):
    """Something answered, but not PayFit's API: HTML, non-JSON, or JSON of the wrong shape."""


def safe_url(url: str) -> str:
    """`url` without user info, query or fragment, cut to 200 characters: safe in a message."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<malformed URL>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))[:200]
