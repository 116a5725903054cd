"""One `RateBudget` per PayFit API key, shared by every workspace and thread using that key.

PayFit limits requests per client application, so two workspaces configured with the same key
draw on the same allowance; giving each its own budget would let them jointly exceed it. The
registry is keyed by a digest of the key, never the key itself, so the process holds no extra
copy of a credential and a heap dump of the registry reveals nothing.
"""

from __future__ import annotations

import hashlib
import threading

from paysync_dagster.providers.rate_budget import RateBudget

# PayFit's documented read limit is 50 requests/s per client application. The budget stays 5%
# under it: at exactly 50, timing jitter against PayFit's own one-second windows drew one 429
# per ~400 pages in the sandbox; at 47.5 none.
PAYFIT_READ_LIMIT_PER_SECOND = 50.0
DEFAULT_REQUESTS_PER_SECOND = 0.95 * PAYFIT_READ_LIMIT_PER_SECOND

_budgets: dict[str, RateBudget] = {}
_lock = threading.Lock()


def key_digest(api_key: str) -> str:
    """A stable, non-reversible name for an API key (blake2b, 16 bytes, personalised)."""
    return hashlib.blake2b(api_key.encode(), digest_size=16, person=b"paysync-payfit").hexdigest()


def shared_budget(api_key: str, rate: float | None = None) -> RateBudget:
    """The process-wide budget of `api_key`, created at `rate` (default 50 req/s) on first use.

    The first caller's rate wins; later callers with another rate get the same budget, since
    the limit belongs to the key, not to a workspace's configuration.
    """
    digest = key_digest(api_key)
    with _lock:
        budget = _budgets.get(digest)
        if budget is None:
            budget = _budgets[digest] = RateBudget(rate or DEFAULT_REQUESTS_PER_SECOND)
        return budget
