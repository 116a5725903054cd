"""The collector's thresholds during syncs: raised while any sync runs, restored after."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from paysync_dagster.sync.garbage_collection import (
    SYNC_YOUNG_THRESHOLD,
    relaxed_garbage_collection,
)


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_threshold_is_raised_inside_and_restored_after(default_thresholds):
    with relaxed_garbage_collection():
        assert gc.get_threshold() == (SYNC_YOUNG_THRESHOLD, 10, 10)
        assert gc.isenabled()
    assert gc.get_threshold() == default_thresholds


def test_restored_after_an_error(default_thresholds):
    with pytest.raises(RuntimeError), relaxed_garbage_collection():
        raise RuntimeError("sync failed")
    assert gc.get_threshold() == default_thresholds


def test_a_higher_threshold_set_by_the_process_is_kept():
    gc.set_threshold(SYNC_YOUNG_THRESHOLD * 2, 10, 10)
    with relaxed_garbage_collection():
        assert gc.get_threshold()[0] == SYNC_YOUNG_THRESHOLD * 2
    assert gc.get_threshold()[0] == SYNC_YOUNG_THRESHOLD * 2


def test_overlapping_syncs_on_threads_restore_only_when_the_last_ends(default_thresholds):
    """Workspaces sync concurrently; the first to finish must not restore the defaults
    under the others."""
    first_inside, first_may_leave = threading.Event(), threading.Event()
    seen_after_first_left: list[tuple[int, int, int]] = []

    def first() -> None:
        with relaxed_garbage_collection():
            first_inside.set()
            first_may_leave.wait(timeout=10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(timeout=10)
    with relaxed_garbage_collection():
        first_may_leave.set()
        thread.join(timeout=10)
        seen_after_first_left.append(gc.get_threshold())
    assert seen_after_first_left == [(SYNC_YOUNG_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == default_thresholds
