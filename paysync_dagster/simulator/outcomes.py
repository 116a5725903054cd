"""What an attempt can end as, and how it is judged: the one home of these vocabularies."""

from __future__ import annotations

SUCCEEDED = "succeeded"
DECLINED = "declined"
REQUIRES_ACTION = "requires_action"
# What a card may be expected to do.
EXPECTED_OUTCOMES = (SUCCEEDED, DECLINED, REQUIRES_ACTION)

PASSED = "passed"
DEGRADED = "degraded"
FAILED = "failed"
ERROR = "error"
# An attempt's status: passed (outcome as expected), degraded (as expected, but slow or only
# after a retry), failed (another outcome: the flow is broken), error (no outcome at all: a
# timeout, a 5xx, a network failure; never counted as a decline).
STATUSES = (PASSED, DEGRADED, FAILED, ERROR)

TRIGGERS = ("schedule", "manual", "api")


def judge(
    expected: str, actual: str | None, *, total_ms: float, retries: int, degraded_ms: float
) -> str:
    """The status of an attempt that expected `expected` and got `actual` (None: no outcome)."""
    if actual is None:
        return ERROR
    if actual != expected:
        return FAILED
    if retries or total_ms > degraded_ms:
        return DEGRADED
    return PASSED
