"""Mock mode: a PayFit workspace whose credentials are missing or placeholders makes no request.

The seed's deployments stored placeholder values in their secret stores and the client then
called PayFit with them; here such a workspace is recognised before any request is made, and
the sync is skipped with a reason a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDER_API_KEYS: frozenset[str] = frozenset(
    {
        "placeholder-payfit-key",
        "placeholder-payfit-api-key",
        "your-payfit-api-key",
        "your-payfit-key",
        "your-api-key",
    }
)
PLACEHOLDER_COMPANY_IDS: frozenset[str] = frozenset(
    {
        "placeholder-company-id",
        "placeholder-payfit-company-id",
        "your-company-id",
        "your-payfit-company-id",
    }
)
# Values that are placeholders in either field.
GENERIC_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "placeholder",
        "changeme",
        "change-me",
        "todo",
        "tbd",
        "none",
        "null",
        "undefined",
        "dummy",
        "test",
        "example",
    }
)
# Runs of x or * (`xxx`, `XXXXXXXX`, `****`), as templates mask a value to fill in.
_MASK = re.compile(r"[x*]{3,}", re.IGNORECASE)
# `<your-key>` / `${PAYFIT_API_KEY}` / `{{ company_id }}`: an unexpanded template.
_TEMPLATE = re.compile(r"\A(?:<[^<>]*>|\$\{[^{}]*\}|\{\{[^{}]*\}\})\Z")


def _normalized(value: str) -> str:
    return value.strip().lower().replace("_", "-")


def _is_placeholder(value: str, specific: frozenset[str]) -> bool:
    normalized = _normalized(value)
    return (
        normalized in specific
        or normalized in GENERIC_PLACEHOLDERS
        or _MASK.fullmatch(normalized) is not None
        or _TEMPLATE.fullmatch(value.strip()) is not None
    )


@dataclass(frozen=True)
class MockModeStatus:
    """Whether a workspace is in mock mode, and why, in a sentence safe to log or show."""

    active: bool
    reason: str | None = None


def mock_mode_status(api_key: str | None, company_id: str | None) -> MockModeStatus:
    """Decide mock mode for a PayFit workspace's credentials; the reason never quotes the key.

    This is the single list of what counts as "not configured":

    - the API key or the company id is missing, empty or only whitespace;
    - the API key is one of `PLACEHOLDER_API_KEYS` (`placeholder-payfit-key`, the seed's value,
      `your-payfit-api-key`, ...) and the company id one of `PLACEHOLDER_COMPANY_IDS`
      (`placeholder-company-id`, the seed's value, `your-company-id`, ...);
    - either is a generic placeholder from `GENERIC_PLACEHOLDERS` (`placeholder`, `changeme`,
      `todo`, `dummy`, ...), a mask of three or more `x` or `*` (`xxx`, `XXXXXXXX`), or an
      unexpanded template (`<your-key>`, `${PAYFIT_API_KEY}`, `{{ company_id }}`).

    Comparison ignores case, surrounding whitespace and `_` versus `-`. A company id that is
    missing is only a mock-mode reason when `company_id` is given as empty: pass None when the
    id is to come from `/introspect` and only the key decides.
    """
    reasons: list[str] = []
    if api_key is None or not api_key.strip():
        reasons.append("the PayFit API key is missing")
    elif _is_placeholder(api_key, PLACEHOLDER_API_KEYS):
        reasons.append("the PayFit API key is a placeholder value")
    if company_id is not None:
        if not company_id.strip():
            reasons.append("the PayFit company id is empty")
        elif _is_placeholder(company_id, PLACEHOLDER_COMPANY_IDS):
            # The company id is not a secret; naming it helps find where it was set.
            reasons.append(f"the PayFit company id {company_id.strip()[:64]!r} is a placeholder")
    if not reasons:
        return MockModeStatus(active=False)
    return MockModeStatus(
        active=True,
        reason=f"mock mode: {' and '.join(reasons)}; no request is made to PayFit until real"
        " credentials are stored",
    )


def mock_mode_reason(api_key: str | None, company_id: str | None) -> str | None:
    """The sentence saying why the workspace is in mock mode, or None when it is configured."""
    return mock_mode_status(api_key, company_id).reason
