"""The release bundle: what `scripts/release.py` makes and `epn update` accepts.

A release is one uncompressed tar, `epn-<version>-<arch>.tar`, holding at its top level
every wheel the appliance needs, `requirements.txt` (pinned) and `manifest.json`
(format, version, arch, schema, and the SHA-256 of every other member). It is signed
with an Ed25519 release key over `RELEASE_CONTEXT + "\\n" + the tar's exact bytes`
(appliance.federation.keys.sign), so a report's or an enrolment's signature can never
pass for a release's. The signature sits beside the tar (`.sig`) and in the index
`latest-<arch>.json`: version, arch, file, sha256, size, schema, signature, key_id.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from appliance.federation.keys import key_id, public_key_from_bytes, unb64, verify

RELEASE_CONTEXT = b"epn-release/1"
FORMAT = 1
MANIFEST = "manifest.json"
REQUIREMENTS = "requirements.txt"
ARCHES = ("x86_64", "aarch64")
# The largest release accepted; today's is about 15 MB.
MAX_RELEASE_BYTES = 400 * 1024 * 1024
MAX_INDEX_BYTES = 16 * 1024
_VERSION = re.compile(r"^\d{1,4}(\.\d{1,4}){1,3}$")
_MEMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$")


class ReleaseError(Exception):
    """A release cannot be used; the message is one line for the operator."""


def parse_version(text: Any) -> tuple[int, ...]:
    """`"0.1.10"` -> (0, 1, 10): release versions are numbers and dots, compared as tuples."""
    if not isinstance(text, str) or not _VERSION.match(text):
        raise ReleaseError(f"{text!r} is not a release version (numbers and dots, e.g. 0.2.1)")
    return tuple(int(part) for part in text.split("."))


def release_name(version: str, arch: str) -> str:
    return f"epn-{version}-{arch}.tar"


def index_name(arch: str) -> str:
    return f"latest-{arch}.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Index:
    """What a release server offers for one arch (`latest-<arch>.json`)."""

    version: str
    arch: str
    file: str
    sha256: str
    size: int
    schema: int
    signature: str
    key_id: str

    @classmethod
    def parse(cls, body: bytes, where: str) -> "Index":
        try:
            data = json.loads(body.decode("utf-8"))
            index = cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise ReleaseError(f"{where}: not a release index") from None
        parse_version(index.version)
        if index.arch not in ARCHES or not _MEMBER.match(str(index.file)) \
                or not re.fullmatch(r"[0-9a-f]{64}", str(index.sha256)) \
                or not isinstance(index.size, int) or not 0 < index.size <= MAX_RELEASE_BYTES:
            raise ReleaseError(f"{where}: damaged release index")
        return index

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=1, sort_keys=True) + "\n"


def trusted(keys: Iterable[str]) -> dict[str, bytes]:
    """key_id -> raw public key, for the configured base64 keys."""
    return {key_id(raw): raw for raw in (unb64(text) for text in keys)}


def check_signature(path: Path, signature: str, keys: Iterable[str]) -> str:
    """Verify the release file's signature with any trusted key; return that key's id."""
    known = trusted(keys)
    if not known:
        raise ReleaseError("update.trusted_keys is empty: no release can be trusted")
    body = path.read_bytes()
    for ident, raw in known.items():
        if verify(public_key_from_bytes(raw), RELEASE_CONTEXT, body, signature):
            return ident
    raise ReleaseError(f"{path.name}: the signature does not match any key of update.trusted_keys")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a release tar, after checking its members are plain, flat files."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = tar.getmembers()
            for info in members:
                if not info.isfile() or not _MEMBER.match(info.name):
                    raise ReleaseError(f"{path.name}: unexpected entry {info.name!r}")
            if len({info.name for info in members}) != len(members):
                raise ReleaseError(f"{path.name}: an entry appears twice")
            handle = tar.extractfile(MANIFEST)
            assert handle is not None
            manifest = json.loads(handle.read())
    except (tarfile.TarError, KeyError, ValueError):
        raise ReleaseError(f"{path.name}: not a release bundle") from None
    names = {info.name for info in members} - {MANIFEST}
    if manifest.get("format") != FORMAT or set(manifest.get("files", {})) != names \
            or REQUIREMENTS not in names:
        raise ReleaseError(f"{path.name}: its manifest does not list its files")
    parse_version(manifest.get("version"))
    return manifest


def extract(path: Path, manifest: dict[str, Any], target: Path) -> None:
    """Unpack the release's files into `target`, checking each against the manifest."""
    with tarfile.open(path, mode="r:") as tar:
        for name, digest in manifest["files"].items():
            handle = tar.extractfile(name)
            assert handle is not None
            data = handle.read()
            if hashlib.sha256(data).hexdigest() != digest:
                raise ReleaseError(f"{path.name}: {name} does not match the manifest")
            (target / name).write_bytes(data)


def build_tar(files: dict[str, bytes], manifest: dict[str, Any]) -> bytes:
    """The bytes of a release tar: manifest first, then the files by name, reproducible."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        body = json.dumps(manifest, indent=1, sort_keys=True).encode() + b"\n"
        for name, data in [(MANIFEST, body), *sorted(files.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
