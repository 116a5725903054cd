"""Event selections hold UTC times: PostgreSQL refuses offsets Python accepts (found by the
control API's schemathesis run: `received_after` of 2000-01-01T00:00:00+16:00 was a 500)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from paysync_dagster.webhooks.inbox import Selection, SelectionError, list_events, parse_time


def test_a_far_offset_time_selects_on_every_backend(engine):
    after = parse_time("2000-01-01T00:00:00+16:00", "since")
    selection = Selection(received_after=after)
    assert selection.received_after == datetime(1999, 12, 31, 8, tzinfo=UTC)
    assert list_events(engine, selection) == []


def test_a_time_that_leaves_the_calendar_in_utc_is_refused():
    earliest = datetime.min.replace(tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(SelectionError, match="received_after is out of range"):
        Selection(received_after=earliest)
