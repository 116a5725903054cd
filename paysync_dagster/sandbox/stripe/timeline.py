"""Creation times that strictly decrease with index, invertible by arithmetic."""

from dataclasses import dataclass

from .hashing import mix64


@dataclass(frozen=True, slots=True)
class Timeline:
    """`created(i) = anchor - i * step - jitter(i)` with `0 <= jitter(i) < step`.

    Index 0 is the newest object. Because the jitter stays below one step, `created` is
    strictly decreasing, and the first index created at or before a time is found with one
    division and one comparison instead of a search: `created[...]` filters cost O(1).
    """

    count: int
    anchor: int
    step: int
    key: int

    def created(self, index: int) -> int:
        """Unix time at which object `index` was created."""
        return self.anchor - index * self.step - self._jitter(index)

    def first_at_or_before(self, ts: int) -> int:
        """The smallest index created at or before `ts` (`count` when there is none)."""
        distance = self.anchor - ts
        if distance <= 0:
            return 0
        index = distance // self.step
        if index >= self.count:
            return self.count
        if index * self.step + self._jitter(index) >= distance:
            return index
        return min(index + 1, self.count)

    def index_range(self, gte: int | None, lte: int | None) -> tuple[int, int]:
        """Half-open index range of the objects with `gte <= created <= lte`."""
        start = 0 if lte is None else self.first_at_or_before(lte)
        stop = self.count if gte is None else self.first_at_or_before(gte - 1)
        return start, max(start, stop)

    def _jitter(self, index: int) -> int:
        return mix64(self.key + index) % self.step
