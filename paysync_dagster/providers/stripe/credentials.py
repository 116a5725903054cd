"""Validation of Stripe credentials: secret or restricted keys, webhook signing secrets.

Error messages describe the expected shape and never repeat the text they refused.
"""

import re

from paysync_dagster.store.workspaces import WorkspaceError

API_KEY_PATTERN = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]{8,240}")
WEBHOOK_SECRET_PATTERN = re.compile(r"whsec_[A-Za-z0-9+/=_-]{8,240}")


def validate_api_key(value: str) -> str:
    """A Stripe secret or restricted key; its text is never repeated in the error."""
    if not API_KEY_PATTERN.fullmatch(value):
        raise WorkspaceError(
            "invalid Stripe API key: expected sk_test_…, sk_live_…, rk_test_… or rk_live_…"
            " followed by 8 to 240 letters and digits"
        )
    return value


def validate_webhook_secret(value: str) -> str:
    """A Stripe webhook signing secret (`whsec_…`); its text is never repeated in the error."""
    if not WEBHOOK_SECRET_PATTERN.fullmatch(value):
        raise WorkspaceError(
            "invalid webhook secret: expected whsec_ followed by 8 to 240 characters"
        )
    return value
