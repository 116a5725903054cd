"""Stripe-looking object ids that encode an index, so an id maps back to its object in O(1)."""

import math
import string

from .hashing import mix64

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BASE36_UPPER = string.digits + string.ascii_uppercase
_TAG_WIDTH = 4
_BODY_WIDTH = 10


class AffineCodec:
    """A bijection between indexes and fixed-width strings over an alphabet.

    The index goes through `index * stride + offset (mod alphabet ** width)` with a stride
    coprime to the modulus, so consecutive indexes give unrelated-looking strings and decoding
    is one modular multiplication by the stride's inverse.
    """

    __slots__ = ("_digit", "_inverse", "_modulus", "_offset", "_pairs", "_stride", "_width")

    def __init__(self, alphabet: str, width: int, key: int) -> None:
        if width % 2:
            raise ValueError("width must be even")
        self._width = width
        self._modulus = len(alphabet) ** width
        stride = (key % self._modulus) | 1
        while math.gcd(stride, self._modulus) != 1:
            stride += 2
        self._stride = stride
        self._inverse = pow(stride, -1, self._modulus)
        self._offset = mix64(key) % self._modulus
        # Two characters per divmod halves the Python-level work of encoding.
        self._pairs = [a + b for a in alphabet for b in alphabet]
        self._digit = {char: value for value, char in enumerate(alphabet)}

    def encode(self, index: int) -> str:
        """The string of `index` (0 <= index < alphabet ** width)."""
        value = (index * self._stride + self._offset) % self._modulus
        pairs = self._pairs
        base = len(pairs)
        text = ""
        for _ in range(self._width // 2):
            value, rest = divmod(value, base)
            text = pairs[rest] + text
        return text

    def decode(self, text: str) -> int | None:
        """The index whose string is `text`, or None when `text` is not one of ours."""
        if len(text) != self._width:
            return None
        value = 0
        base = len(self._digit)
        for char in text:
            digit = self._digit.get(char)
            if digit is None:
                return None
            value = value * base + digit
        return ((value - self._offset) * self._inverse) % self._modulus


class IdCodec:
    """Ids shaped like Stripe's (`cus_` + 14 base62 characters) for one object type and seed.

    The first four characters are a tag derived from the key, so ids from another seed or
    object type are recognised as foreign instead of decoding to some unrelated index.
    """

    __slots__ = ("_body", "_head")

    def __init__(self, prefix: str, key: int) -> None:
        tag = AffineCodec(BASE62, _TAG_WIDTH, key >> 3).encode(0)
        self._head = f"{prefix}_{tag}"
        self._body = AffineCodec(BASE62, _BODY_WIDTH, key)

    def encode(self, index: int) -> str:
        """The id of the object at `index`."""
        return self._head + self._body.encode(index)

    def decode(self, object_id: str) -> int | None:
        """The index encoded in `object_id`, or None when it is not an id of this codec."""
        if not object_id.startswith(self._head):
            return None
        return self._body.decode(object_id[len(self._head) :])
