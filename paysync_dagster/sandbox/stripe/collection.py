"""One entity's list: generated objects plus a small overlay of runtime changes."""

from collections.abc import Callable, Iterator
from typing import Any

Loader = Callable[[int], dict[str, Any]]
RangeFinder = Callable[[int | None, int | None], tuple[int, int]]


def _no_generated_objects(gte: int | None, lte: int | None) -> tuple[int, int]:
    return 0, 0


def _nothing_to_load(index: int) -> dict[str, Any]:
    raise IndexError(index)


class Collection:
    """The objects of one entity, newest first, as Stripe lists them.

    Indexes `0 .. generated-1` are objects of the dataset, built on demand by `load`;
    indexes from `generated` on are objects created at runtime, kept in `overrides` with
    any updated generated objects. Runtime objects are newer than every generated one,
    so list positions are: runtime objects newest first, then generated indexes in order.
    Walking a page therefore touches only the objects it returns plus deleted ones it skips.

    Stored objects are never mutated in place: a change stores a new dict, so pages and
    events can share them without copying.
    """

    def __init__(
        self,
        generated: int = 0,
        load: Loader = _nothing_to_load,
        index_range: RangeFinder = _no_generated_objects,
    ) -> None:
        self.generated = generated
        self._load = load
        self._index_range = index_range
        self.overrides: dict[int, dict[str, Any]] = {}
        self.deleted: set[int] = set()
        self.runtime_count = 0

    def exists(self, index: int) -> bool:
        """Whether `index` names an object of this collection (deleted ones included)."""
        return 0 <= index < self.generated + self.runtime_count

    def current(self, index: int) -> dict[str, Any]:
        """The object at `index` as it is now."""
        stored = self.overrides.get(index)
        if stored is not None:
            return stored
        if index >= self.generated:
            raise IndexError(index)
        return self._load(index)

    def append(self, obj: dict[str, Any]) -> None:
        """Add an object created at runtime; its index must be `next_index`."""
        self.overrides[self.next_index] = obj
        self.runtime_count += 1

    @property
    def next_index(self) -> int:
        """The index the next runtime-created object gets."""
        return self.generated + self.runtime_count

    def position(self, index: int) -> int:
        """List position of `index` (0 = first object of an unfiltered list)."""
        if index >= self.generated:
            return self.generated + self.runtime_count - 1 - index
        return self.runtime_count + index

    def walk(
        self, start: int, *, backward: bool, gte: int | None, lte: int | None
    ) -> Iterator[dict[str, Any]]:
        """Live objects with `gte <= created <= lte` from list position `start` on.

        Forward walks go to older objects, backward walks to newer ones.
        """
        runtime = self.runtime_count
        first, stop = self._index_range(gte, lte)
        if backward:
            generated_positions = range(min(start - runtime, stop - 1), first - 1, -1)
            runtime_positions = range(min(start, runtime - 1), -1, -1)
            yield from self._generated(generated_positions)
            yield from self._runtime(runtime_positions, gte, lte)
        else:
            yield from self._runtime(range(start, runtime), gte, lte)
            yield from self._generated(range(max(start - runtime, first), stop))

    def _runtime(
        self, positions: range, gte: int | None, lte: int | None
    ) -> Iterator[dict[str, Any]]:
        newest = self.generated + self.runtime_count - 1
        for position in positions:
            index = newest - position
            if index in self.deleted:
                continue
            obj = self.overrides[index]
            created = obj["created"]
            if (gte is None or created >= gte) and (lte is None or created <= lte):
                yield obj

    def _generated(self, indexes: range) -> Iterator[dict[str, Any]]:
        deleted, overrides, load = self.deleted, self.overrides, self._load
        for index in indexes:
            if index in deleted:
                continue
            stored = overrides.get(index)
            yield stored if stored is not None else load(index)
