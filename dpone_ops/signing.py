"""Keys that sign and verify an evidence chain index: HMAC-SHA256 or Ed25519.

A key file holding a PEM block is an Ed25519 key (needs the ``signing`` extra, i.e.
``cryptography``); anything else is the raw HMAC secret, with one trailing newline
stripped. ``DPONE_EVIDENCE_KEY`` holds an HMAC secret as text. Key ids are the first 16
hex of sha256 over the HMAC secret or the raw public key; secret bytes are never printed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpone_ops.errors import InputError, UsageError
from dpone_ops.models.chain import ChainSignature, SignatureAlgorithm

KEY_ENV = "DPONE_EVIDENCE_KEY"
MAX_KEY_FILE_BYTES = 64 * 1024


def _key_id(material: bytes) -> str:
    return hashlib.sha256(material).hexdigest()[:16]


@dataclass(frozen=True)
class ChainKey:
    """A key for one algorithm. ``secret`` is the HMAC secret or an Ed25519 key object."""

    algorithm: SignatureAlgorithm
    key_id: str
    can_sign: bool
    secret: Any = field(repr=False)
    source: str = ""

    def sign(self, payload: bytes) -> ChainSignature:
        if not self.can_sign:
            raise UsageError(f"the key from {self.source} is a public key; it cannot sign")
        if self.algorithm == "hmac-sha256":
            value = hmac.new(self.secret, payload, hashlib.sha256).hexdigest()
        else:
            value = self.secret.sign(payload).hex()
        return ChainSignature(algorithm=self.algorithm, key_id=self.key_id, value=value)

    def verify(self, payload: bytes, signature: ChainSignature) -> tuple[bool, str]:
        """Whether ``signature`` is this key's over ``payload``, and why not."""
        if signature.algorithm != self.algorithm:
            return False, (f"signed with {signature.algorithm}, verifying key is "
                           f"{self.algorithm}")
        if signature.key_id != self.key_id:
            return False, (f"signed by key {signature.key_id}, verifying key is "
                           f"{self.key_id}")
        if self.algorithm == "hmac-sha256":
            expected = hmac.new(self.secret, payload, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, signature.value):
                return True, "hmac-sha256 signature verified"
            return False, "hmac-sha256 signature does not match the index"
        from cryptography.exceptions import InvalidSignature

        public = self.secret.public_key() if self.can_sign else self.secret
        try:
            public.verify(bytes.fromhex(signature.value), payload)
        except (InvalidSignature, ValueError):
            return False, "ed25519 signature does not match the index"
        return True, "ed25519 signature verified"


def hmac_key(secret: bytes, *, source: str) -> ChainKey:
    if not secret:
        raise UsageError(f"{source}: the HMAC key is empty")
    return ChainKey("hmac-sha256", _key_id(secret), can_sign=True, secret=secret, source=source)


def _ed25519_key(pem: bytes, *, source: str) -> ChainKey:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise UsageError(
            f"{source} is a PEM key; Ed25519 needs the signing extra: "
            "pip install 'pytest-dpone[signing]'"
        ) from None
    raw = serialization.Encoding.Raw
    raw_format = serialization.PublicFormat.Raw
    if b"PRIVATE KEY" in pem:
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{source}: not a usable unencrypted PEM private key "
                             f"({type(exc).__name__})") from None
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise InputError(f"{source}: only Ed25519 private keys are supported")
        public_bytes = private.public_key().public_bytes(raw, raw_format)
        return ChainKey("ed25519", _key_id(public_bytes), can_sign=True, secret=private,
                        source=source)
    try:
        public = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{source}: not a usable PEM public key ({type(exc).__name__})") from None
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise InputError(f"{source}: only Ed25519 public keys are supported")
    return ChainKey("ed25519", _key_id(public.public_bytes(raw, raw_format)), can_sign=False,
                    secret=public, source=source)


def key_from_bytes(material: bytes, *, source: str) -> ChainKey:
    """A PEM block is an Ed25519 key; anything else is an HMAC secret."""
    if material.lstrip().startswith(b"-----BEGIN"):
        return _ed25519_key(material.strip() + b"\n", source=source)
    if material.endswith(b"\r\n"):
        material = material[:-2]
    elif material.endswith(b"\n"):
        material = material[:-1]
    return hmac_key(material, source=source)


def read_key_file(path: Path, *, flag: str) -> ChainKey:
    source = f"{flag} {path}"
    try:
        with path.open("rb") as handle:
            material = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{source}: cannot read the key: {exc.strerror or exc}") from None
    if len(material) > MAX_KEY_FILE_BYTES:
        raise InputError(f"{source}: larger than {MAX_KEY_FILE_BYTES} bytes; not a key")
    return key_from_bytes(material, source=source)


def resolve_key(
    key_file: Path | None, *, flag: str, environ: Mapping[str, str] | None = None
) -> ChainKey | None:
    """The key file when given, else ``DPONE_EVIDENCE_KEY``, else no key."""
    if key_file is not None:
        return read_key_file(key_file, flag=flag)
    env = os.environ if environ is None else environ
    value = env.get(KEY_ENV)
    if value is None or value == "":
        return None
    return hmac_key(value.encode("utf-8"), source=KEY_ENV)
