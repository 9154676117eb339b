"""Ed25519 handshake authentication (docs/protocol.md, Handshake).

The secret key never appears in a ``repr``, ``str``, log line or exception
message; neither does a signature.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from typing import Any

import attrs
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import ConfigurationError

__all__ = ["Credentials", "ENV_KEY_ID", "ENV_SECRET_KEY", "PATHS"]

#: Environment variable of the API key id, read by :meth:`Credentials.from_env`.
ENV_KEY_ID = "POLYMARKET_KEY_ID"
#: Environment variable of the base64 secret key, read by :meth:`Credentials.from_env`.
ENV_SECRET_KEY = "POLYMARKET_SECRET_KEY"
#: The two endpoint paths that may be signed.
PATHS = ("/v1/ws/private", "/v1/ws/markets")

_REDACTED = "<redacted>"


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _decode_secret(secret_key: str) -> bytes:
    if not isinstance(secret_key, str):
        raise ConfigurationError(
            f"secret key must be a base64 string, not {type(secret_key).__name__}"
        )
    text = "".join(secret_key.split())
    if not text:
        raise ConfigurationError("secret key is empty")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        # The decoder's own message is dropped on purpose: keep the secret's
        # characters out of every message.
        raise ConfigurationError(
            "secret key is not valid base64 (standard alphabet, padded)"
        ) from None


@attrs.frozen(repr=False, eq=False)
class Credentials:
    """An API key id and its Ed25519 private key; signs handshake headers.

    Build it with :meth:`from_base64` or :meth:`from_env`. Two credentials are
    equal when their key ids and public keys are equal.
    """

    key_id: str
    _private_key: Ed25519PrivateKey = attrs.field(alias="private_key")
    public_key: bytes

    @classmethod
    def from_base64(cls, key_id: str, secret_key: str) -> Credentials:
        """Build credentials from a key id and a base64 secret key.

        The secret is the portal's 64 bytes (seed then public key) or a bare
        32-byte seed. Anything else raises :class:`ConfigurationError`.
        """
        if not isinstance(key_id, str) or not key_id.strip():
            raise ConfigurationError("key id is empty")
        if key_id != key_id.strip() or any(c in key_id for c in "\r\n"):
            raise ConfigurationError("key id has surrounding whitespace or a line break")
        raw = _decode_secret(secret_key)
        if len(raw) not in (32, 64):
            raise ConfigurationError(
                f"secret key decodes to {len(raw)} bytes; expected 64 (seed + public key) "
                "or 32 (seed)"
            )
        private = Ed25519PrivateKey.from_private_bytes(raw[:32])
        public = _public_bytes(private.public_key())
        if len(raw) == 64 and raw[32:] != public:
            raise ConfigurationError(
                "secret key is 64 bytes but its second half is not the public key of its "
                "first half (seed); the key is corrupt or two keys were mixed"
            )
        return cls(key_id=key_id, private_key=private, public_key=public)

    @classmethod
    def from_env(cls, environ: Any = None) -> Credentials:
        """Build credentials from ``POLYMARKET_KEY_ID`` and ``POLYMARKET_SECRET_KEY``."""
        env = os.environ if environ is None else environ
        missing = [name for name in (ENV_KEY_ID, ENV_SECRET_KEY) if not env.get(name)]
        if missing:
            raise ConfigurationError(
                "environment variable(s) not set: " + ", ".join(missing)
            )
        return cls.from_base64(env[ENV_KEY_ID], env[ENV_SECRET_KEY])

    def sign_handshake(self, path: str, timestamp_ms: int | None = None) -> dict[str, str]:
        """Return the three ``X-PM-*`` headers for a handshake on ``path``.

        The message signed is ``timestamp + "GET" + path``; call this afresh for
        every connection attempt (the server allows 30 s of clock skew).
        """
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError(f"path must be a bare absolute path, got {path!r}")
        if timestamp_ms is None:
            timestamp_ms = time.time_ns() // 1_000_000
        timestamp = str(int(timestamp_ms))
        signature = self._private_key.sign(f"{timestamp}GET{path}".encode())
        return {
            "X-PM-Access-Key": self.key_id,
            "X-PM-Timestamp": timestamp,
            "X-PM-Signature": base64.b64encode(signature).decode("ascii"),
        }

    @property
    def public_key_base64(self) -> str:
        """The raw 32-byte public key, base64-encoded (safe to share)."""
        return base64.b64encode(self.public_key).decode("ascii")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return self.key_id == other.key_id and self.public_key == other.public_key

    def __hash__(self) -> int:
        return hash((self.key_id, self.public_key))

    def __repr__(self) -> str:
        return f"Credentials(key_id={self.key_id!r}, secret_key={_REDACTED})"

    __str__ = __repr__

    def __getstate__(self) -> None:
        raise TypeError("Credentials cannot be pickled (they hold a secret key)")
