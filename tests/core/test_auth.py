"""Ed25519 handshake credentials (issue 2, scope 2; acceptance: signatures verify,
bad secrets give a ConfigurationError naming the problem, the secret never leaks)."""

from __future__ import annotations

import base64
import pickle
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import pmsync
from pmsync import ConfigurationError, Credentials, PmsyncError
from pmsync.auth import ENV_KEY_ID, ENV_SECRET_KEY

KEY_ID = "0b7c1b62-5f4e-4c1e-9a7e-3d2f8f1a9c11"
# A fixed seed so failures are reproducible; its bytes are distinctive enough to
# find in any leaked text.
SEED = bytes(range(101, 133))
PRIVATE = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC = PRIVATE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
SECRET_64 = base64.b64encode(SEED + PUBLIC).decode()
SECRET_32 = base64.b64encode(SEED).decode()
OTHER_PUBLIC = (
    Ed25519PrivateKey.from_private_bytes(bytes(32))
    .public_key()
    .public_bytes(Encoding.Raw, PublicFormat.Raw)
)
SECRET_MISMATCHED = base64.b64encode(SEED + OTHER_PUBLIC).decode()


def forbidden_fragments(secret_b64: str, *signatures: str) -> list[str]:
    """Every spelling of a secret that must never appear in text we show."""
    fragments = [secret_b64.strip(), secret_b64.strip().rstrip("=")]
    try:
        raw = base64.b64decode(secret_b64, validate=True)
    except ValueError:
        return fragments + list(signatures)
    fragments += [
        raw.hex(),
        raw.hex().upper(),
        raw[:32].hex(),
        base64.b64encode(raw[:32]).decode().rstrip("="),
        repr(raw),
        repr(raw[:32]),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]
    fragments.extend(signatures)
    fragments.extend(base64.b64decode(s).hex() for s in signatures)
    return fragments


def assert_no_secret(text: str, secret_b64: str, *signatures: str) -> None:
    # No plain assert here: pytest's assertion rewriting would print the very
    # secret we are looking for into the test report.
    for index, fragment in enumerate(forbidden_fragments(secret_b64, *signatures)):
        if fragment in text:
            pytest.fail(f"secret material (form #{index}) leaked into text", pytrace=False)


def verify(headers: dict[str, str], path: str, public: bytes = PUBLIC) -> None:
    message = (headers["X-PM-Timestamp"] + "GET" + path).encode("utf-8")
    signature = base64.b64decode(headers["X-PM-Signature"], validate=True)
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message)


# ---------------------------------------------------------------- signing


@pytest.mark.parametrize("secret", [SECRET_64, SECRET_32], ids=["64-byte", "32-byte"])
@pytest.mark.parametrize("path", ["/v1/ws/private", "/v1/ws/markets"])
def test_signature_verifies_with_public_key(secret: str, path: str) -> None:
    creds = Credentials.from_base64(KEY_ID, secret)
    headers = creds.sign_handshake(path, timestamp_ms=1705420800000)
    assert set(headers) == {"X-PM-Access-Key", "X-PM-Timestamp", "X-PM-Signature"}
    assert headers["X-PM-Access-Key"] == KEY_ID
    assert headers["X-PM-Timestamp"] == "1705420800000"
    verify(headers, path)
    # Standard alphabet, padded: a 64-byte signature is 88 base64 characters.
    assert len(headers["X-PM-Signature"]) == 88
    assert headers["X-PM-Signature"].endswith("==")


def test_signature_is_over_documented_message() -> None:
    creds = Credentials.from_base64(KEY_ID, SECRET_64)
    headers = creds.sign_handshake("/v1/ws/markets", timestamp_ms=1705420800000)
    signature = base64.b64decode(headers["X-PM-Signature"])
    Ed25519PublicKey.from_public_bytes(PUBLIC).verify(
        signature, b"1705420800000GET/v1/ws/markets"
    )
    # Not valid for the other path or another timestamp.
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(PUBLIC).verify(
            signature, b"1705420800000GET/v1/ws/private"
        )
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(PUBLIC).verify(
            signature, b"1705420800001GET/v1/ws/markets"
        )


def test_32_and_64_byte_secrets_are_the_same_key() -> None:
    a = Credentials.from_base64(KEY_ID, SECRET_64)
    b = Credentials.from_base64(KEY_ID, SECRET_32)
    assert a == b
    assert hash(a) == hash(b)
    assert a.public_key == PUBLIC
    assert a.public_key_base64 == base64.b64encode(PUBLIC).decode()
    # Ed25519 is deterministic: same key, same message, same signature.
    assert a.sign_handshake("/v1/ws/private", 1) == b.sign_handshake("/v1/ws/private", 1)


def test_secret_with_whitespace_is_accepted() -> None:
    spaced = SECRET_64[:20] + "\n" + SECRET_64[20:] + "  "
    creds = Credentials.from_base64(KEY_ID, spaced)
    verify(creds.sign_handshake("/v1/ws/private"), "/v1/ws/private")


def test_fresh_timestamp_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    creds = Credentials.from_base64(KEY_ID, SECRET_64)
    clock = iter([1_705_420_800_000_000_000, 1_705_420_801_234_567_890])
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    first = creds.sign_handshake("/v1/ws/private")
    second = creds.sign_handshake("/v1/ws/private")
    assert first["X-PM-Timestamp"] == "1705420800000"
    assert second["X-PM-Timestamp"] == "1705420801234"
    assert first["X-PM-Signature"] != second["X-PM-Signature"]
    verify(first, "/v1/ws/private")
    verify(second, "/v1/ws/private")


def test_default_timestamp_is_now_in_milliseconds() -> None:
    creds = Credentials.from_base64(KEY_ID, SECRET_64)
    before = time.time_ns() // 1_000_000
    headers = creds.sign_handshake("/v1/ws/markets")
    after = time.time_ns() // 1_000_000
    assert headers["X-PM-Timestamp"].isdigit()
    assert before <= int(headers["X-PM-Timestamp"]) <= after
    verify(headers, "/v1/ws/markets")


@pytest.mark.parametrize(
    "path", ["v1/ws/private", "/v1/ws/private?x=1", "/v1/ws/private#f"]
)
def test_sign_rejects_non_bare_path(path: str) -> None:
    creds = Credentials.from_base64(KEY_ID, SECRET_64)
    with pytest.raises(ValueError):
        creds.sign_handshake(path)


# ---------------------------------------------------------------- bad input


def b64_of(n: int) -> str:
    return base64.b64encode(bytes(range(7, 7 + n))).decode()


BAD_SECRETS = [
    pytest.param("", "empty", id="empty"),
    pytest.param("   ", "empty", id="blank"),
    pytest.param("not base64!!", "base64", id="not-base64"),
    pytest.param(SECRET_64[:-2] + "*=", "base64", id="bad-char"),
    pytest.param(SECRET_64.rstrip("="), "base64", id="unpadded"),
    pytest.param(b64_of(31), "31 bytes", id="31-bytes"),
    pytest.param(b64_of(33), "33 bytes", id="33-bytes"),
    pytest.param(b64_of(48), "48 bytes", id="48-bytes"),
    pytest.param(b64_of(63), "63 bytes", id="63-bytes"),
    pytest.param(b64_of(65), "65 bytes", id="65-bytes"),
    pytest.param(b64_of(0), "empty", id="zero-bytes"),
    pytest.param(SECRET_MISMATCHED, "public key", id="64-mismatched-half"),
]


@pytest.mark.parametrize("secret, problem", BAD_SECRETS)
def test_bad_secret_raises_configuration_error_naming_problem(
    secret: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials.from_base64(KEY_ID, secret)
    message = str(info.value)
    assert problem in message
    assert isinstance(info.value, PmsyncError)
    assert isinstance(info.value, ValueError)
    assert info.value.__cause__ is None
    if secret.strip():
        assert_no_secret(message, secret)
        assert_no_secret(repr(info.value), secret)
        assert_no_secret(str(info.value.args), secret)


def test_non_string_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="base64 string"):
        Credentials.from_base64(KEY_ID, SEED)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_id", ["", "   ", None])
def test_empty_key_id(key_id: str) -> None:
    with pytest.raises(ConfigurationError, match="key id is empty") as info:
        Credentials.from_base64(key_id, SECRET_64)
    assert_no_secret(str(info.value), SECRET_64)


@pytest.mark.parametrize("key_id", [" " + KEY_ID, KEY_ID + "\n", "a\r\nb"])
def test_key_id_with_whitespace_or_line_break(key_id: str) -> None:
    with pytest.raises(ConfigurationError, match="key id"):
        Credentials.from_base64(key_id, SECRET_64)


def test_mismatched_message_names_the_problem_and_hides_both_halves() -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials.from_base64(KEY_ID, SECRET_MISMATCHED)
    text = str(info.value)
    assert "second half" in text and "public key" in text
    assert_no_secret(text, SECRET_MISMATCHED)
    assert OTHER_PUBLIC.hex() not in text
    assert PUBLIC.hex() not in text


# ---------------------------------------------------------------- environment


def test_from_env_reads_official_names() -> None:
    assert (ENV_KEY_ID, ENV_SECRET_KEY) == ("POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY")
    creds = Credentials.from_env(
        environ={"POLYMARKET_KEY_ID": KEY_ID, "POLYMARKET_SECRET_KEY": SECRET_64}
    )
    assert creds.key_id == KEY_ID
    assert creds.public_key == PUBLIC
    verify(creds.sign_handshake("/v1/ws/private"), "/v1/ws/private")


def test_from_env_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYMARKET_KEY_ID", KEY_ID)
    monkeypatch.setenv("POLYMARKET_SECRET_KEY", SECRET_32)
    assert Credentials.from_env().public_key == PUBLIC


@pytest.mark.parametrize(
    "environ, missing",
    [
        ({}, ["POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY"]),
        ({"POLYMARKET_KEY_ID": KEY_ID}, ["POLYMARKET_SECRET_KEY"]),
        ({"POLYMARKET_SECRET_KEY": SECRET_64}, ["POLYMARKET_KEY_ID"]),
        ({"POLYMARKET_KEY_ID": "", "POLYMARKET_SECRET_KEY": SECRET_64}, ["POLYMARKET_KEY_ID"]),
    ],
)
def test_from_env_missing_variable(environ: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        Credentials.from_env(environ=environ)
    text = str(info.value)
    assert "not set" in text
    for name in missing:
        assert name in text
    for name in {"POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY"} - set(missing):
        assert name not in text
    assert_no_secret(text, SECRET_64)


def test_from_env_bad_secret_is_reported() -> None:
    with pytest.raises(ConfigurationError, match="48 bytes") as info:
        Credentials.from_env(
            environ={"POLYMARKET_KEY_ID": KEY_ID, "POLYMARKET_SECRET_KEY": b64_of(48)}
        )
    assert_no_secret(str(info.value), b64_of(48))


# ---------------------------------------------------------------- redaction


@pytest.mark.parametrize("secret", [SECRET_64, SECRET_32], ids=["64-byte", "32-byte"])
def test_repr_and_str_redact_the_secret(secret: str) -> None:
    creds = Credentials.from_base64(KEY_ID, secret)
    signature = creds.sign_handshake("/v1/ws/private", 1705420800000)["X-PM-Signature"]
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}", repr([creds])):
        assert KEY_ID in text
        assert "redacted" in text
        assert_no_secret(text, secret, signature)
        assert_no_secret(text, SECRET_64)


def test_credentials_cannot_be_pickled() -> None:
    creds = Credentials.from_base64(KEY_ID, SECRET_64)
    with pytest.raises(TypeError) as info:
        pickle.dumps(creds)
    assert_no_secret(str(info.value), SECRET_64)


def test_credentials_are_frozen() -> None:
    creds = Credentials.from_base64(KEY_ID, SECRET_64)
    with pytest.raises(AttributeError):
        creds.key_id = "other"  # type: ignore[misc]


def test_no_secret_in_any_error_text_at_all() -> None:
    """Collect the text of every error the module can raise and scan it once more."""
    texts: list[str] = []
    for secret in [SECRET_MISMATCHED, b64_of(48), SECRET_64[:-2] + "*="]:
        try:
            Credentials.from_base64(KEY_ID, secret)
        except ConfigurationError as exc:
            texts += [str(exc), repr(exc), str(exc.args)]
    assert len(texts) == 9
    joined = "\n".join(texts)
    for secret in [SECRET_MISMATCHED, b64_of(48), SECRET_64]:
        assert_no_secret(joined, secret)


def test_configuration_error_is_exported() -> None:
    assert pmsync.ConfigurationError is ConfigurationError
    assert issubclass(pmsync.DecodeError, pmsync.PmsyncError)
    assert issubclass(pmsync.SubscriptionError, pmsync.PmsyncError)
    assert issubclass(pmsync.AuthenticationError, pmsync.ConnectionClosed)
    assert issubclass(pmsync.ConnectionClosed, pmsync.PmsyncError)
