"""Credential vault: AES-256-GCM encryption of provider secrets under a rotating key ring.

Every credential and webhook secret is stored as a token ``v1:<key_id>:<base64url(nonce +
ciphertext + tag)>``. The key id lets a ring of several keys decrypt old tokens while new
ones are written under the primary key, so ``paysync keys rotate`` can re-encrypt rows one at
a time. The associated data binds each token to its workspace and provider, so a ciphertext
copied into another tenant's row fails to decrypt instead of leaking a credential across
tenants.

Errors name what is wrong (key id, workspace, provider) but never carry plaintext, key
material or a whole token, because exception messages end up in logs and Dagster metadata.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from paysync_dagster.settings import SettingsError, environment

__all__ = [
    "KeyRing",
    "Vault",
    "VaultConfigurationError",
    "VaultError",
    "mask_secret",
]

logger = logging.getLogger("paysync.vault")

ENV_KEYS = "PAYSYNC_ENCRYPTION_KEYS"
KEY_FILE_NAME = "encryption.keys"

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_VERSION = "v1"

_KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]+")
_MASK_PREFIX_RE = re.compile(r"(?:[a-z]{2,5}_){1,2}")
_AAD_PREFIX = b"paysync/" + FORMAT_VERSION.encode("ascii")
_SPEC_HINT = "expected 'key_id:base64_32_bytes[,key_id:base64_32_bytes...]'"


class VaultError(Exception):
    """A token could not be decrypted: malformed, tampered with, wrong tenant or unknown key."""


class VaultConfigurationError(VaultError):
    """The key ring is missing or invalid (bad ``PAYSYNC_ENCRYPTION_KEYS`` or key file)."""


@dataclass(frozen=True)
class KeyRing:
    """Named AES-256 keys; ``primary_id`` encrypts, every key in the ring can decrypt.

    ``keys`` is excluded from ``repr`` so a logged or printed ring never shows key material.
    """

    keys: Mapping[str, bytes] = field(repr=False)
    primary_id: str

    def __post_init__(self) -> None:
        if not self.keys:
            raise VaultConfigurationError("key ring has no keys")
        for key_id, key in self.keys.items():
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise VaultConfigurationError(
                    f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                )
        if self.primary_id not in self.keys:
            raise VaultConfigurationError(f"primary key id {self.primary_id!r} is not in the ring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Parse ``"k2:BASE64,k1:BASE64"``; the first entry becomes the primary key."""
        if not spec.strip():
            raise VaultConfigurationError(f"key ring is empty; {_SPEC_HINT}")
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(spec.split(","), start=1):
            key_id, sep, encoded = entry.strip().partition(":")
            if not sep:
                raise VaultConfigurationError(
                    f"key ring entry {position} is not 'key_id:base64_key'; {_SPEC_HINT}"
                )
            # An invalid id is not echoed: it is often a key pasted into the wrong position.
            if not _KEY_ID_RE.fullmatch(key_id):
                raise VaultConfigurationError(
                    f"key ring entry {position} has an invalid key id; "
                    "ids are 1-32 characters from A-Z a-z 0-9 _ -"
                )
            if key_id in keys:
                raise VaultConfigurationError(
                    f"key ring entry {position} repeats key id {key_id!r}"
                )
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise VaultConfigurationError(
                    f"key ring entry {position} (key id {key_id!r}) is not valid standard base64"
                ) from None
            if len(key) != KEY_BYTES:
                raise VaultConfigurationError(
                    f"key ring entry {position} (key id {key_id!r}) decodes to {len(key)} "
                    f"bytes; AES-256 needs exactly {KEY_BYTES}"
                )
            keys[key_id] = key
        return cls(keys=keys, primary_id=next(iter(keys)))

    @classmethod
    def generate(cls, key_id: str | None = None) -> KeyRing:
        """A ring holding one freshly generated random key.

        Without `key_id` the key gets a fresh random id, so a regenerated key can never be
        mistaken for a lost one: tokens under the lost key keep naming an id the ring lacks.
        """
        key_id = key_id or f"local-{secrets.token_hex(6)}"
        _check_key_id(key_id)
        return cls(keys={key_id: AESGCM.generate_key(bit_length=256)}, primary_id=key_id)

    def to_spec(self) -> str:
        """The ``PAYSYNC_ENCRYPTION_KEYS`` form of this ring, primary key first."""
        ordered = [self.primary_id, *(k for k in self.keys if k != self.primary_id)]
        return ",".join(
            f"{key_id}:{base64.b64encode(self.keys[key_id]).decode('ascii')}" for key_id in ordered
        )


class Vault:
    """Encrypts and decrypts credential tokens bound to a workspace and provider."""

    def __init__(self, keyring: KeyRing) -> None:
        self._primary_id = keyring.primary_id
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], *, home: Path) -> Vault:
        """Build the vault from ``PAYSYNC_ENCRYPTION_KEYS``, or a local key file outside production.

        Production must never silently fall back to a generated key: data encrypted under it
        would be unreadable by every other replica and lost with the container.
        """
        spec = environ.get(ENV_KEYS)
        if spec is not None:
            try:
                return cls(KeyRing.parse(spec))
            except VaultConfigurationError as exc:
                raise VaultConfigurationError(f"{ENV_KEYS}: {exc}") from None
        try:
            production = environment(environ) == "production"
        except SettingsError as error:
            raise VaultConfigurationError(str(error)) from None
        if production:
            raise VaultConfigurationError(f"{ENV_KEYS} is required in production")
        return cls(_load_or_create_key_file(home / KEY_FILE_NAME))

    @property
    def primary_key_id(self) -> str:
        """The key id new tokens are encrypted under."""
        return self._primary_id

    @property
    def key_ids(self) -> frozenset[str]:
        """Every key id this vault can decrypt."""
        return frozenset(self._ciphers)

    def encrypt(self, plaintext: str, *, workspace_id: str, provider: str) -> str:
        """Encrypt ``plaintext`` under the primary key, bound to its workspace and provider."""
        data = _utf8(plaintext, "plaintext")
        aad = _associated_data(self._primary_id, workspace_id, provider)
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._primary_id].encrypt(nonce, data, aad)
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{FORMAT_VERSION}:{self._primary_id}:{body}"

    def decrypt(self, token: str, *, workspace_id: str, provider: str) -> str:
        """Decrypt a token made by :meth:`encrypt` for the same workspace and provider."""
        key_id, blob = _parse_token(token)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise VaultError(f"unknown key id {key_id!r}; add it to {ENV_KEYS} to decrypt")
        aad = _associated_data(key_id, workspace_id, provider)
        try:
            data = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise VaultError(
                f"ciphertext does not belong to workspace {workspace_id!r} / provider "
                f"{provider!r} or was tampered with (key id {key_id!r})"
            ) from None
        return data.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        """The key id a token was encrypted under, without decrypting it."""
        return _parse_token(token)[0]

    def needs_rotation(self, token: str) -> bool:
        """Whether the token was encrypted under a key other than the primary."""
        return self.key_id_of(token) != self._primary_id

    def reencrypt(self, token: str, *, workspace_id: str, provider: str) -> str:
        """Decrypt with the token's own key and encrypt again under the primary key."""
        plaintext = self.decrypt(token, workspace_id=workspace_id, provider=provider)
        return self.encrypt(plaintext, workspace_id=workspace_id, provider=provider)


def mask_secret(value: str) -> str:
    """A display form of a secret for CLI listings, e.g. ``sk_test_…a1b2``.

    A short lowercase type prefix such as ``sk_test_`` or ``whsec_`` is kept because it tells
    the operator which kind of key is stored; a longer "prefix" may be part of the secret
    itself (``my_pass_word``), so it is not revealed. The last four characters are shown
    only when at least twelve remain hidden; anything shorter is fully masked.
    """
    cut = value.rfind("_") + 1
    prefix = value[:cut]
    if not _MASK_PREFIX_RE.fullmatch(prefix):
        prefix, cut = "", 0
    rest = value[cut:]
    if len(rest) < 16:
        return "****"
    return f"{prefix}…{rest[-4:]}"


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID_RE.fullmatch(key_id):
        raise VaultConfigurationError(
            "invalid key id; ids are 1-32 characters from A-Z a-z 0-9 _ -"
        )


def _utf8(value: str, what: str) -> bytes:
    # UnicodeEncodeError would quote the offending character of a secret in its message.
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise VaultError(f"{what} is not encodable as UTF-8") from None


def _associated_data(key_id: str, workspace_id: str, provider: str) -> bytes:
    """Bind version, key id, workspace and provider; each part is length-prefixed so that
    ``("a|b", "c")`` and ``("a", "b|c")`` can never produce the same bytes."""
    if not workspace_id or not provider:
        raise VaultError("workspace_id and provider must be non-empty")
    parts = (
        key_id.encode("ascii"),
        _utf8(workspace_id, "workspace_id"),
        _utf8(provider, "provider"),
    )
    return _AAD_PREFIX + b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def _parse_token(token: str) -> tuple[str, bytes]:
    """Split a token into key id and ``nonce + ciphertext + tag``, rejecting anything malformed.

    Messages describe the defect, never the token's content: a caller may have passed a
    plaintext secret where a token was expected.
    """
    if not isinstance(token, str):
        raise VaultError(f"malformed token: expected str, got {type(token).__name__}")
    parts = token.split(":")
    if len(parts) != 3:
        raise VaultError(f"malformed token: expected '{FORMAT_VERSION}:<key_id>:<data>'")
    version, key_id, body = parts
    if version != FORMAT_VERSION:
        raise VaultError(f"unsupported token version; expected '{FORMAT_VERSION}'")
    if not _KEY_ID_RE.fullmatch(key_id):
        raise VaultError("malformed token: invalid key id")
    if not _BASE64URL_RE.fullmatch(body):
        raise VaultError("malformed token: data is not base64url")
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise VaultError("malformed token: data is not base64url") from None
    # Reject non-canonical encodings (stray low bits in the last character) so a token has
    # exactly one spelling and any edit to it is detected.
    if base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii") != body:
        raise VaultError("malformed token: data is not canonical base64url")
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise VaultError("malformed token: data is too short (truncated?)")
    return key_id, blob


def _load_or_create_key_file(path: Path) -> KeyRing:
    """Read the local key file, generating it with mode 0600 on first use."""
    if not path.exists():
        ring = KeyRing.generate()
        if _create_key_file(path, ring.to_spec()):
            logger.warning(
                "generated a local encryption key file at %s; production must set %s",
                path,
                ENV_KEYS,
            )
            return ring
    return _read_key_file(path)


def _create_key_file(path: Path, spec: str) -> bool:
    """Publish ``spec`` at ``path`` atomically; False if another process got there first.

    The content is written to a private temporary file (O_EXCL, mode 0600, so it is never
    readable by others) and then hard-linked into place: ``link`` fails if the target
    exists, so concurrent first starts (webserver, daemon, code server) agree on one key and
    nobody ever reads a half-written file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(spec + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _read_key_file(path: Path) -> KeyRing:
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "r", encoding="ascii") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & 0o077:
            raise VaultConfigurationError(
                f"key file {path} is accessible by group or others (mode {mode:04o}); "
                f"run `chmod 600 {path}`"
            )
        try:
            spec = handle.read()
        except UnicodeDecodeError:
            raise VaultConfigurationError(f"key file {path} is not ASCII text") from None
    try:
        return KeyRing.parse(spec)
    except VaultConfigurationError as exc:
        raise VaultConfigurationError(f"key file {path}: {exc}") from None
