"""The appliance's Ed25519 key: made at `epn init`, kept in the data directory (0600).

Signatures cover `CONTEXT + b"\\n" + body`, so a signature made for one purpose (a report,
an enrolment, a key rotation) can never be replayed for another.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "report_key.pem"
REPORT_CONTEXT = b"epn-report/1"
ENROL_CONTEXT = b"epn-enrol/1"
ROTATE_CONTEXT = b"epn-rotate/1"


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / "keys" / KEY_FILE


def ensure_key(data_dir: Path) -> Ed25519PrivateKey:
    """Load the appliance's key, making it on first use (private file, private folder)."""
    path = key_path(data_dir)
    if path.exists():
        return load_key(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return write_new_key(path)


def write_new_key(path: Path) -> Ed25519PrivateKey:
    """Make a key and write it to a new private file, synced to disk before it is used."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> str:
    """A short stable name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public).hexdigest()[:16]


def fingerprint(public: bytes) -> str:
    """What people compare on both sides: SHA-256 of the key, in groups of four."""
    digest = hashlib.sha256(public).hexdigest()[:32].upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def sign(key: Ed25519PrivateKey, context: bytes, body: bytes) -> str:
    """Base64 signature of `context + "\\n" + body`."""
    return base64.b64encode(key.sign(context + b"\n" + body)).decode("ascii")


def verify(public: Ed25519PublicKey, context: bytes, body: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public.verify(raw, context + b"\n" + body)
        return True
    except (InvalidSignature, ValueError):
        return False


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
