"""Fewer cyclic garbage collections while a sync streams provider objects through memory.

A sync decodes pages into thousands of small dicts and lists that live for a few batches and
are freed by reference counting; they hold no cycles. Yet they are container objects, so with
CPython's default thresholds they set off a young collection every 700 of them and, because
they outlive a few of those, promote enough survivors to trigger full collections that walk
every object in the process (Dagster, SQLAlchemy and the SDK included). Measured in a full
sync of 81,000 objects, the collector took 14% of the wall time; with the young threshold
raised it took under 1%, and peak memory did not move, since nothing here needs the collector
to be freed.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SYNC_YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed_garbage_collection() -> Iterator[None]:
    """Raise the young-generation threshold for the duration of the block.

    The collector's thresholds are process-wide, and workspaces sync concurrently on
    threads, so the first block to enter raises them and the last to leave restores what it
    found. The collector stays enabled: genuine cycles are still collected, only less often.
    """
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            young, middle, old = _saved
            gc.set_threshold(max(young, SYNC_YOUNG_THRESHOLD), middle, old)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
