"""Bad input records, reported by position and skipped, never stopping the others."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One refused record: where it is (`line N` of a CSV, `card N` of a JSON list) and why.

    The reason names the field, never its value: values may be personal data or card numbers.
    """

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


class InputFileError(ValueError):
    """An input file that cannot be used at all (unreadable, too large, no valid record)."""
