"""Seeded 64-bit hashing: every generated value is a pure function of (seed, stream, index)."""

import hashlib

_MASK = (1 << 64) - 1


def mix64(value: int) -> int:
    """Scramble a 64-bit integer (the splitmix64 finalizer): cheap, well spread, stable."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def stream_key(seed: int, label: str) -> int:
    """Key of one named stream under a seed; `mix64(key + index)` is then that stream's value.

    The label goes through blake2b rather than `hash()` so keys are the same in every process.
    """
    digest = hashlib.blake2b(label.encode(), digest_size=8).digest()
    return mix64((seed & _MASK) ^ int.from_bytes(digest, "big"))
