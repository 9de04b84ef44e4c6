"""The release format: versions, release keys, tar members, manifests."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from appliance.update.bundle import (
    MANIFEST, ReleaseError, build_tar, parse_version, read_manifest, release_name,
)
from tests.update.conftest import ARCH, RELEASE, make_wheelhouse


def test_versions_compare_as_numbers_not_as_text():
    assert parse_version("0.1.10") > parse_version("0.1.9")
    assert parse_version("1.0") < parse_version("1.0.1")


@pytest.mark.parametrize("text", ["", "1", "v1.2", "1.2.3rc1", "1..2", "1.2.3.4.5", None, 3])
def test_anything_but_numbers_and_dots_is_not_a_release_version(text):
    with pytest.raises(ReleaseError):
        parse_version(text)


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites_it(tmp_path):
    key = tmp_path / "release.key"
    made = subprocess.run([*RELEASE, "keygen", "--out", str(key)], capture_output=True, text=True, check=True)
    assert key.stat().st_mode & 0o777 == 0o600
    assert made.stdout.splitlines()[-1] == Path(f"{key}.pub").read_text().strip()
    again = subprocess.run([*RELEASE, "keygen", "--out", str(key)], capture_output=True, text=True)
    assert again.returncode != 0 and "never overwritten" in again.stderr


def test_a_built_release_lists_every_wheel_with_its_digest_and_the_schema(releases):
    from appliance.migrations import LATEST

    tar = releases["good"] / release_name("0.1.1", ARCH)
    manifest = read_manifest(tar)
    assert (manifest["version"], manifest["arch"], manifest["schema"]) == ("0.1.1", ARCH, LATEST)
    assert "epn_appliance-0.1.1-py3-none-any.whl" in manifest["files"]
    assert "requirements.txt" in manifest["files"]
    with tarfile.open(tar) as archive:
        assert sorted(archive.getnames()) == sorted([MANIFEST, *manifest["files"]])
    index = json.loads((releases["good"] / f"latest-{ARCH}.json").read_text())
    assert index["file"] == tar.name and index["size"] == tar.stat().st_size
    assert (releases["good"] / f"{tar.name}.sig").read_text().strip() == index["signature"]


def _manifest_for(files: dict[str, bytes]) -> dict:
    import hashlib

    return {"format": 1, "version": "0.1.1", "arch": ARCH, "schema": 9,
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}}


@pytest.mark.parametrize("name", ["../etc/cron.d/x", "/etc/passwd", "sub/dir.whl", ".hidden"])
def test_a_member_outside_the_release_folder_is_refused(tmp_path, name):
    files = {"requirements.txt": b"x==1\n", name: b"evil"}
    tar = tmp_path / "release.tar"
    tar.write_bytes(build_tar(files, _manifest_for(files)))
    with pytest.raises(ReleaseError, match="unexpected entry"):
        read_manifest(tar)


def test_a_link_in_a_release_is_refused(tmp_path):
    files = {"requirements.txt": b"x==1\n"}
    buffer = io.BytesIO(build_tar(files, _manifest_for(files)))
    buffer.seek(0, io.SEEK_END)
    with tarfile.open(tmp_path / "release.tar", "w") as tar:
        with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as source:
            for info in source.getmembers():
                tar.addfile(info, source.extractfile(info))
        link = tarfile.TarInfo("evil.whl")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
    with pytest.raises(ReleaseError, match="unexpected entry 'evil.whl'"):
        read_manifest(tmp_path / "release.tar")


def test_a_file_missing_from_the_manifest_is_refused(tmp_path):
    files = {"requirements.txt": b"x==1\n", "extra.whl": b"not listed"}
    manifest = _manifest_for({"requirements.txt": files["requirements.txt"]})
    tar = tmp_path / "release.tar"
    tar.write_bytes(build_tar(files, manifest))
    with pytest.raises(ReleaseError, match="does not list its files"):
        read_manifest(tar)


def test_a_release_whose_code_names_another_version_is_not_built(wheelhouse, tmp_path):
    house = make_wheelhouse(wheelhouse, tmp_path, "0.1.5", {}, bump_code=False)
    result = subprocess.run([*RELEASE, "build", "--arch", ARCH, "--out", str(tmp_path / "dist"),
                             "--wheelhouse", str(house)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "appliance/__init__.py says 0.1.0, pyproject.toml 0.1.5: bump both" in result.stderr
    assert not (tmp_path / "dist" / release_name("0.1.5", ARCH)).exists()
