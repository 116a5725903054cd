"""Fetch the next pages while the current batch is being written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(source: Iterable[T], *, depth: int = 4) -> Iterator[T]:
    """Iterate `source` in a background thread, holding at most `depth` items ahead.

    Network waits and database writes overlap, while memory stays bounded by `depth` pages
    whatever the size of the listing. An exception in `source` is re-raised to the consumer;
    a consumer that stops early stops the producer.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def produce() -> None:
        try:
            for item in source:
                while not stopped.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stopped.is_set():
                    return
            items.put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            items.put(error)

    producer = threading.Thread(target=produce, name="paysync-prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        producer.join(timeout=5)
