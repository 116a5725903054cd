"""Tests for the credential vault: token format, tamper and tenant binding, key rotation,
key ring parsing and the local key file."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from paysync_dagster.store.vault import (
    KeyRing,
    Vault,
    VaultConfigurationError,
    VaultError,
    mask_secret,
)

WS = "acme"
PROVIDER = "stripe"


def fake_secret() -> str:
    """An obviously fake, distinctive Stripe-style test key."""
    return "sk_test_" + secrets.token_hex(16)


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


def split_token(token: str) -> tuple[str, str, bytes]:
    version, key_id, body = token.split(":")
    return version, key_id, base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def join_token(version: str, key_id: str, blob: bytes) -> str:
    return f"{version}:{key_id}:{base64.urlsafe_b64encode(blob).rstrip(b'=').decode('ascii')}"


@pytest.fixture
def vault() -> Vault:
    return Vault(KeyRing.generate("k1"))


# --- encryption round trip and token format ---------------------------------------------


def test_round_trip_and_token_shape(vault: Vault) -> None:
    secret = fake_secret()
    token = vault.encrypt(secret, workspace_id=WS, provider=PROVIDER)

    assert vault.decrypt(token, workspace_id=WS, provider=PROVIDER) == secret
    assert token.startswith("v1:k1:")
    assert token.isascii()
    assert secret not in token
    assert vault.key_id_of(token) == "k1"
    _, _, blob = split_token(token)
    # nonce + ciphertext + 16-byte tag
    assert len(blob) == 12 + len(secret.encode()) + 16


def test_same_plaintext_encrypts_differently(vault: Vault) -> None:
    secret = fake_secret()
    tokens = {vault.encrypt(secret, workspace_id=WS, provider=PROVIDER) for _ in range(20)}
    assert len(tokens) == 20
    nonces = {split_token(t)[2][:12] for t in tokens}
    assert len(nonces) == 20


def test_empty_and_non_ascii_plaintexts_round_trip(vault: Vault) -> None:
    for plaintext in ("", "pässwörd ☃ 密码", "x" * 10_000):
        token = vault.encrypt(plaintext, workspace_id=WS, provider=PROVIDER)
        assert vault.decrypt(token, workspace_id=WS, provider=PROVIDER) == plaintext


# --- tampering and malformed tokens -----------------------------------------------------


def test_flipping_any_ciphertext_byte_fails(vault: Vault) -> None:
    token = vault.encrypt(fake_secret(), workspace_id=WS, provider=PROVIDER)
    version, key_id, blob = split_token(token)
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(VaultError, match="tampered"):
            vault.decrypt(
                join_token(version, key_id, bytes(tampered)), workspace_id=WS, provider=PROVIDER
            )


def test_changing_any_character_of_the_encoded_data_fails(vault: Vault) -> None:
    """Covers non-canonical spellings too: a changed last character may decode to the same
    bytes, and must still be rejected."""
    token = vault.encrypt(fake_secret(), workspace_id=WS, provider=PROVIDER)
    head, body = token.rsplit(":", 1)
    for i, ch in enumerate(body):
        replacement = "A" if ch != "A" else "B"
        with pytest.raises(VaultError):
            vault.decrypt(
                f"{head}:{body[:i]}{replacement}{body[i + 1 :]}",
                workspace_id=WS,
                provider=PROVIDER,
            )


def test_non_canonical_base64_spelling_is_rejected(vault: Vault) -> None:
    """Setting the unused low bits of the last character decodes to the same bytes; the
    vault must still refuse it so a token has exactly one spelling."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    token = vault.encrypt(fake_secret(), workspace_id=WS, provider=PROVIDER)
    head, body = token.rsplit(":", 1)
    assert (12 + 40 + 16) % 3 == 2  # two unused bits in the last character
    spelled = f"{head}:{body[:-1]}{alphabet[alphabet.index(body[-1]) | 0b01]}"
    assert split_token(spelled)[2] == split_token(token)[2]
    with pytest.raises(VaultError, match="not canonical"):
        vault.decrypt(spelled, workspace_id=WS, provider=PROVIDER)


def test_relabelled_key_id_fails() -> None:
    """The key id is in the associated data, so moving a token to another key id fails even
    when both ids map to the same key."""
    key = os.urandom(32)
    vault = Vault(KeyRing(keys={"k1": key, "k2": key}, primary_id="k1"))
    token = vault.encrypt(fake_secret(), workspace_id=WS, provider=PROVIDER)
    with pytest.raises(VaultError, match="tampered"):
        vault.decrypt(token.replace("v1:k1:", "v1:k2:"), workspace_id=WS, provider=PROVIDER)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t[: len("v1:k1:") + 20], "too short"),
        (lambda t: t[: len("v1:k1:") + 21], "base64url"),
        (lambda t: t.rsplit(":", 1)[0], "expected 'v1:<key_id>:<data>'"),
        (lambda t: t + ":extra", "expected 'v1:<key_id>:<data>'"),
        (lambda t: "v2" + t[2:], "unsupported token version"),
        (lambda t: "" + t[3:], "expected 'v1:<key_id>:<data>'"),
        (lambda t: t[:-4] + "+/==", "not base64url"),
        (lambda t: t[:10] + "!" + t[11:], "not base64url"),
        (lambda t: t.replace(":k1:", ":k 1:"), "invalid key id"),
        (lambda t: "v1:k1:", "not base64url"),
        (lambda t: "", "expected 'v1:<key_id>:<data>'"),
    ],
)
def test_malformed_tokens_fail(vault: Vault, mangle, message: str) -> None:
    token = vault.encrypt(fake_secret(), workspace_id=WS, provider=PROVIDER)
    with pytest.raises(VaultError, match=message):
        vault.decrypt(mangle(token), workspace_id=WS, provider=PROVIDER)


def test_non_string_token_fails(vault: Vault) -> None:
    with pytest.raises(VaultError, match="expected str, got NoneType"):
        vault.decrypt(None, workspace_id=WS, provider=PROVIDER)  # type: ignore[arg-type]


# --- tenant binding ---------------------------------------------------------------------


def test_other_workspace_or_provider_cannot_decrypt(vault: Vault) -> None:
    token = vault.encrypt(fake_secret(), workspace_id=WS, provider=PROVIDER)
    with pytest.raises(VaultError, match="does not belong to workspace 'globex'"):
        vault.decrypt(token, workspace_id="globex", provider=PROVIDER)
    with pytest.raises(VaultError, match="provider 'payfit'"):
        vault.decrypt(token, workspace_id=WS, provider="payfit")


def test_separator_in_ids_cannot_shift_the_binding(vault: Vault) -> None:
    token = vault.encrypt(fake_secret(), workspace_id="a|b", provider="c")
    with pytest.raises(VaultError):
        vault.decrypt(token, workspace_id="a", provider="b|c")


def test_empty_workspace_or_provider_rejected(vault: Vault) -> None:
    with pytest.raises(VaultError, match="non-empty"):
        vault.encrypt(fake_secret(), workspace_id="", provider=PROVIDER)
    with pytest.raises(VaultError, match="non-empty"):
        vault.encrypt(fake_secret(), workspace_id=WS, provider="")


# --- key ring and rotation --------------------------------------------------------------


def test_unknown_key_id_is_named() -> None:
    token = Vault(KeyRing.generate("k9")).encrypt(fake_secret(), workspace_id=WS, provider="x")
    with pytest.raises(VaultError, match="unknown key id 'k9'"):
        Vault(KeyRing.generate("k1")).decrypt(token, workspace_id=WS, provider="x")


def test_rotation_to_a_new_primary_key() -> None:
    k1, k2 = b64key(), b64key()
    old = Vault(KeyRing.parse(f"k1:{k1}"))
    secrets_by_ws = {f"ws-{i}": fake_secret() for i in range(5)}
    tokens = {
        ws: old.encrypt(s, workspace_id=ws, provider=PROVIDER) for ws, s in secrets_by_ws.items()
    }

    rotating = Vault(KeyRing.parse(f"k2:{k2},k1:{k1}"))
    assert rotating.primary_key_id == "k2"
    rotated = {}
    for ws, token in tokens.items():
        assert rotating.needs_rotation(token)
        assert rotating.decrypt(token, workspace_id=ws, provider=PROVIDER) == secrets_by_ws[ws]
        rotated[ws] = rotating.reencrypt(token, workspace_id=ws, provider=PROVIDER)
        assert rotating.key_id_of(rotated[ws]) == "k2"
        assert not rotating.needs_rotation(rotated[ws])

    new_only = Vault(KeyRing.parse(f"k2:{k2}"))
    for ws, token in rotated.items():
        assert new_only.decrypt(token, workspace_id=ws, provider=PROVIDER) == secrets_by_ws[ws]
    with pytest.raises(VaultError, match="unknown key id 'k1'"):
        new_only.decrypt(tokens["ws-0"], workspace_id="ws-0", provider=PROVIDER)


def test_reencrypt_keeps_the_tenant_binding() -> None:
    k1, k2 = b64key(), b64key()
    token = Vault(KeyRing.parse(f"k1:{k1}")).encrypt(fake_secret(), workspace_id=WS, provider="p")
    rotating = Vault(KeyRing.parse(f"k2:{k2},k1:{k1}"))
    with pytest.raises(VaultError, match="does not belong"):
        rotating.reencrypt(token, workspace_id="other", provider="p")
    rotated = rotating.reencrypt(token, workspace_id=WS, provider="p")
    with pytest.raises(VaultError, match="does not belong"):
        rotating.decrypt(rotated, workspace_id="other", provider="p")


tenant_ids = st.text(min_size=1, max_size=40)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plaintext=st.text(max_size=200), workspace_id=tenant_ids, provider=tenant_ids)
def test_property_round_trip(
    vault: Vault, plaintext: str, workspace_id: str, provider: str
) -> None:
    token = vault.encrypt(plaintext, workspace_id=workspace_id, provider=provider)
    assert vault.decrypt(token, workspace_id=workspace_id, provider=provider) == plaintext


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plaintext=st.text(max_size=200),
    workspace_id=tenant_ids,
    other_workspace=tenant_ids,
    provider=tenant_ids,
    other_provider=tenant_ids,
)
def test_property_wrong_tenant_fails(
    vault: Vault,
    plaintext: str,
    workspace_id: str,
    other_workspace: str,
    provider: str,
    other_provider: str,
) -> None:
    assume((workspace_id, provider) != (other_workspace, other_provider))
    token = vault.encrypt(plaintext, workspace_id=workspace_id, provider=provider)
    with pytest.raises(VaultError):
        vault.decrypt(token, workspace_id=other_workspace, provider=other_provider)


# --- KeyRing.parse ----------------------------------------------------------------------


def test_parse_keeps_order_and_primary() -> None:
    a, b, c = b64key(), b64key(), b64key()
    ring = KeyRing.parse(f" k3:{a} , k1:{b},k2:{c} ")
    assert ring.primary_id == "k3"
    assert list(ring.keys) == ["k3", "k1", "k2"]
    assert ring.keys["k1"] == base64.b64decode(b)
    assert KeyRing.parse(ring.to_spec()) == ring
    with pytest.raises(TypeError):
        ring.keys["k4"] = os.urandom(32)  # type: ignore[index]


def test_keyring_repr_hides_key_material() -> None:
    key = os.urandom(32)
    text = repr(KeyRing(keys={"k1": key}, primary_id="k1"))
    assert "k1" in text
    assert repr(key) not in text
    assert base64.b64encode(key).decode() not in text


def test_to_spec_puts_the_primary_first() -> None:
    ring = KeyRing(keys={"old": os.urandom(32), "new": os.urandom(32)}, primary_id="new")
    assert ring.to_spec().startswith("new:")
    assert KeyRing.parse(ring.to_spec()).primary_id == "new"


def test_generate_makes_distinct_32_byte_keys_with_fresh_ids() -> None:
    first, second, named = KeyRing.generate(), KeyRing.generate(), KeyRing.generate("other")
    assert first.primary_id.startswith("local-")
    assert first.primary_id != second.primary_id
    assert len(first.keys[first.primary_id]) == 32
    assert first.keys[first.primary_id] != named.keys["other"]
    with pytest.raises(VaultConfigurationError, match="invalid key id"):
        KeyRing.generate("bad id")


def test_keyring_constructor_validates() -> None:
    with pytest.raises(VaultConfigurationError, match="no keys"):
        KeyRing(keys={}, primary_id="k1")
    with pytest.raises(VaultConfigurationError, match="not in the ring"):
        KeyRing(keys={"k1": os.urandom(32)}, primary_id="k2")
    with pytest.raises(VaultConfigurationError, match="16 bytes"):
        KeyRing(keys={"k1": os.urandom(16)}, primary_id="k1")


SHORT_KEY = base64.b64encode(b"\x07" * 16).decode()
LONG_KEY = base64.b64encode(b"\x07" * 33).decode()
URLSAFE_KEY = base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode()


@pytest.mark.parametrize(
    ("spec", "message", "material"),
    [
        ("", "empty", None),
        ("   ", "empty", None),
        ("k1:{k},k1:{k2}", "entry 2 repeats key id 'k1'", None),
        ("k1:{k},k 2:{k2}", "entry 2 has an invalid key id", None),
        ("k1.x:{k}", "entry 1 has an invalid key id", None),
        ("{k}", "entry 1 is not 'key_id:base64_key'", "{k}"),
        ("{k}:k1", "entry 1 has an invalid key id", "{k}"),
        ("k1:{k},", "entry 2 is not 'key_id:base64_key'", None),
        ("k1:" + SHORT_KEY, "entry 1 \\(key id 'k1'\\) decodes to 16 bytes", SHORT_KEY),
        ("k1:{k},k2:" + LONG_KEY, "entry 2 \\(key id 'k2'\\) decodes to 33 bytes", LONG_KEY),
        (
            "k1:" + URLSAFE_KEY,
            "entry 1 \\(key id 'k1'\\) is not valid standard base64",
            URLSAFE_KEY,
        ),
        ("k1:not*base64!!", "not valid standard base64", "not*base64!!"),
        ("k1:{k}", None, None),
        ("a" * 33 + ":{k}", "invalid key id", None),
    ],
)
def test_parse_errors_never_echo_key_material(
    spec: str, message: str | None, material: str | None
) -> None:
    k, k2 = b64key(), b64key()
    spec = spec.replace("{k2}", k2).replace("{k}", k)
    if message is None:
        assert KeyRing.parse(spec).primary_id == "k1"
        return
    with pytest.raises(VaultConfigurationError, match=message) as excinfo:
        KeyRing.parse(spec)
    text = str(excinfo.value)
    for secret in (k, k2, (material or "").replace("{k}", k)):
        if secret:
            assert secret not in text
            assert secret[:12] not in text


# --- from_environment and the local key file --------------------------------------------


def test_environment_key_ring_is_used(tmp_path: Path) -> None:
    k2, k1 = b64key(), b64key()
    vault = Vault.from_environment({"PAYSYNC_ENCRYPTION_KEYS": f"k2:{k2},k1:{k1}"}, home=tmp_path)
    assert vault.primary_key_id == "k2"
    assert not (tmp_path / "encryption.keys").exists()


def test_bad_environment_key_ring_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(VaultConfigurationError, match=r"^PAYSYNC_ENCRYPTION_KEYS: .*16 bytes"):
        Vault.from_environment({"PAYSYNC_ENCRYPTION_KEYS": f"k1:{SHORT_KEY}"}, home=tmp_path)
    with pytest.raises(VaultConfigurationError, match="empty"):
        Vault.from_environment(
            {"PAYSYNC_ENCRYPTION_KEYS": "", "PAYSYNC_ENV": "production"}, home=tmp_path
        )


def test_local_key_file_is_generated_once_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "nested" / ".paysync"
    key_file = home / "encryption.keys"
    secret = fake_secret()

    with caplog.at_level(logging.WARNING, logger="paysync.vault"):
        first = Vault.from_environment({}, home=home)
        token = first.encrypt(secret, workspace_id=WS, provider=PROVIDER)
        second = Vault.from_environment({"PAYSYNC_ENV": "development"}, home=home)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    warnings = [r for r in caplog.records if r.name == "paysync.vault"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert str(key_file) in warnings[0].getMessage()
    assert "PAYSYNC_ENCRYPTION_KEYS" in warnings[0].getMessage()
    assert KeyRing.parse(key_file.read_text()).to_spec() not in caplog.text
    assert second.decrypt(token, workspace_id=WS, provider=PROVIDER) == secret
    assert [p.name for p in home.iterdir()] == ["encryption.keys"]


def test_key_file_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        Vault.from_environment({}, home=tmp_path)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "encryption.keys").stat().st_mode) == 0o600


def test_existing_key_file_is_read_without_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ring = KeyRing.generate("mine")
    key_file = tmp_path / "encryption.keys"
    key_file.write_text(ring.to_spec() + "\n")
    key_file.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="paysync.vault"):
        vault = Vault.from_environment({}, home=tmp_path)
    assert vault.primary_key_id == "mine"
    assert not [r for r in caplog.records if r.name == "paysync.vault"]


def test_production_without_keys_refuses(tmp_path: Path) -> None:
    with pytest.raises(
        VaultConfigurationError, match="PAYSYNC_ENCRYPTION_KEYS is required in production"
    ):
        Vault.from_environment({"PAYSYNC_ENV": "production"}, home=tmp_path)
    assert not (tmp_path / "encryption.keys").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o620])
def test_group_or_other_accessible_key_file_refused(tmp_path: Path, mode: int) -> None:
    Vault.from_environment({}, home=tmp_path)
    key_file = tmp_path / "encryption.keys"
    spec = key_file.read_text().strip()
    key_file.chmod(mode)
    with pytest.raises(VaultConfigurationError, match="chmod 600") as excinfo:
        Vault.from_environment({}, home=tmp_path)
    assert str(key_file) in str(excinfo.value)
    assert spec.split(":", 1)[1] not in str(excinfo.value)


def test_corrupt_key_file_is_reported_without_its_content(tmp_path: Path) -> None:
    key_file = tmp_path / "encryption.keys"
    key_file.write_text(f"k1:{SHORT_KEY}\n")
    key_file.chmod(0o600)
    with pytest.raises(VaultConfigurationError, match=r"key file .*16 bytes") as excinfo:
        Vault.from_environment({}, home=tmp_path)
    assert SHORT_KEY not in str(excinfo.value)


# --- errors never leak the secret -------------------------------------------------------


def test_error_messages_never_contain_the_plaintext(vault: Vault) -> None:
    secret = fake_secret()
    token = vault.encrypt(secret, workspace_id=WS, provider=PROVIDER)
    attempts = [
        lambda: vault.decrypt(token, workspace_id="other", provider=PROVIDER),
        lambda: vault.decrypt(token[:-1], workspace_id=WS, provider=PROVIDER),
        lambda: Vault(KeyRing.generate("k2")).decrypt(token, workspace_id=WS, provider=PROVIDER),
        # a plaintext secret passed where a token belongs
        lambda: vault.decrypt(secret, workspace_id=WS, provider=PROVIDER),
        lambda: vault.decrypt(f"v1:k1:{secret}", workspace_id=WS, provider=PROVIDER),
        lambda: vault.key_id_of(f"{secret}:k1:AAAA"),
        lambda: vault.encrypt(secret + "\ud800", workspace_id=WS, provider=PROVIDER),
    ]
    for attempt in attempts:
        with pytest.raises(VaultError) as excinfo:
            attempt()
        text = str(excinfo.value)
        assert secret not in text
        assert secret[8:20] not in text
        assert token not in text
        assert excinfo.value.__cause__ is None
        assert excinfo.value.__suppress_context__ or excinfo.value.__context__ is None


# --- mask_secret ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_…p7dc"),
        ("whsec_0123456789abcdefA1B2", "whsec_…A1B2"),
        ("Zq8NW4WcdvY1kTbbCC3r4Gx1", "…4Gx1"),
        ("my_password_is_hunter2_and_more_stuff", "…tuff"),
        ("sk_test_short", "****"),
        ("hunter2", "****"),
        ("", "****"),
    ],
)
def test_mask_secret(value: str, masked: str) -> None:
    assert mask_secret(value) == masked


def test_mask_secret_reveals_at_most_four_secret_characters() -> None:
    secret = fake_secret()
    masked = mask_secret(secret)
    assert masked == f"sk_test_…{secret[-4:]}"
    assert secret[8:-4] not in masked
