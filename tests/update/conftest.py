"""Real releases for the self-update tests, made once per session.

The wheelhouse is built by scripts/wheelhouse.py for this machine's arch into
build/update-test/ (dependency wheels are downloaded once and kept; the appliance's
wheel is rebuilt from the tree each session). From it come two releases, signed by a
test key with scripts/release.py: 0.1.1 (the tree as it is) and 0.1.2 (broken: its
/healthz answers 500, and it adds a migration, so a rollback must restore the database).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appliance.config import write_config_file
from appliance.update.bundle import ARCHES
from tests.conftest import EPN, free_port

ROOT = Path(__file__).resolve().parents[2]
RELEASE = [sys.executable, str(ROOT / "scripts" / "release.py")]
ARCH = platform.machine()
CACHE = ROOT / "build" / "update-test" / f"wheelhouse-{ARCH}"
SUPERVISOR = Path(__file__).with_name("supervisor.py")
BASE_VERSION = "0.1.0"
BROKEN_PATCHES = {
    "appliance/web/portal.py": [("200 if ok else 503", "500")],
    "appliance/migrations.py": [
        ("\nLATEST = max(", "\nMIGRATIONS.append((max(n for n, _, _ in MIGRATIONS) + 1, 'probe', "
                            "['CREATE TABLE \"update_probe\" (\"id\" INTEGER PRIMARY KEY)']))\nLATEST = max("),
    ],
}


def _load_wheelhouse_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("wheelhouse", ROOT / "scripts" / "wheelhouse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    if ARCH not in ARCHES:
        pytest.skip(f"releases are made for {', '.join(ARCHES)}; this machine is {ARCH}")
    _load_wheelhouse_script().build(ARCH, CACHE, hub=False)
    return CACHE


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def rewrite_wheel(source: Path, folder: Path, version: str,
                  patches: dict[str, list[tuple[str, str]]], bump_code: bool = True) -> Path:
    """A copy of the appliance's wheel at another version, with `patches` applied."""
    old_info, new_info = f"epn_appliance-{BASE_VERSION}.dist-info", f"epn_appliance-{version}.dist-info"
    patches = {**patches, f"{old_info}/METADATA": [(f"\nVersion: {BASE_VERSION}\n", f"\nVersion: {version}\n")]}
    if bump_code:
        patches["appliance/__init__.py"] = [(f'"{BASE_VERSION}"', f'"{version}"')]
    target = folder / f"epn_appliance-{version}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item)
            for before, after in patches.get(item.filename, []):
                text = data.decode("utf-8")
                assert before in text, f"{item.filename} no longer contains {before!r}"
                data = text.replace(before, after).encode("utf-8")
            name = item.filename.replace(old_info, new_info)
            if name == f"{new_info}/RECORD":
                continue
            new.writestr(name, data)
            records.append(_record_line(name, data))
        new.writestr(f"{new_info}/RECORD", "\n".join([*records, f"{new_info}/RECORD,,"]) + "\n")
    return target


def make_wheelhouse(wheelhouse: Path, work: Path, version: str,
                    patches: dict[str, list[tuple[str, str]]], bump_code: bool = True) -> Path:
    """A copy of the wheelhouse (links) whose appliance wheel is `version`."""
    house = work / f"wheelhouse-{version}"
    house.mkdir()
    for wheel in wheelhouse.glob("*.whl"):
        if not wheel.name.startswith("epn_appliance-"):
            os.symlink(wheel, house / wheel.name)
    rewrite_wheel(wheelhouse / f"epn_appliance-{BASE_VERSION}-py3-none-any.whl", house, version,
                  patches, bump_code)
    lines = (wheelhouse / "requirements.txt").read_text().splitlines()
    assert lines[0] == f"epn-appliance=={BASE_VERSION}", lines[0]
    (house / "requirements.txt").write_text("\n".join([f"epn-appliance=={version}", *lines[1:]]) + "\n")
    return house


def make_release(wheelhouse: Path, work: Path, version: str, key: Path,
                 patches: dict[str, list[tuple[str, str]]]) -> Path:
    """A signed release folder (tar, .sig, latest-<arch>.json) of `version`."""
    house = make_wheelhouse(wheelhouse, work, version, patches)
    dist = work / f"dist-{version}"
    subprocess.run([*RELEASE, "build", "--arch", ARCH, "--out", str(dist), "--wheelhouse", str(house)],
                   check=True, capture_output=True)
    subprocess.run([*RELEASE, "sign", "--key", str(key), str(dist)], check=True, capture_output=True)
    return dist


@pytest.fixture(scope="session")
def release_keys(tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """The trusted release key and a stranger's key (private key paths)."""
    folder = tmp_path_factory.mktemp("release-keys")
    keys = {}
    for name in ("trusted", "stranger"):
        keys[name] = folder / f"{name}.key"
        subprocess.run([*RELEASE, "keygen", "--out", str(keys[name])], check=True, capture_output=True)
    return keys


def public_key(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


@pytest.fixture(scope="session")
def releases(wheelhouse, release_keys, tmp_path_factory) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Release folders: "good" (0.1.1), "broken" (0.1.2), "stranger" (0.1.1 signed by another key)."""
    work = tmp_path_factory.mktemp("releases")
    good = make_release(wheelhouse, work, "0.1.1", release_keys["trusted"], {})
    broken = make_release(wheelhouse, work, "0.1.2", release_keys["trusted"], BROKEN_PATCHES)
    stranger = work / "dist-stranger"
    stranger.mkdir()
    shutil.copy(good / f"epn-0.1.1-{ARCH}.tar", stranger)
    subprocess.run([*RELEASE, "sign", "--key", str(release_keys["stranger"]), str(stranger)],
                   check=True, capture_output=True)
    return {"good": good, "broken": broken, "stranger": stranger}


def make_site(root: Path, keys: list[str], url: str = "", health_seconds: int = 15) -> dict[str, Path]:
    """A data directory (made by `epn init`) and a PREFIX whose current release is 0.1.0,
    the development virtualenv's `epn` (a real one, without a 30 s install)."""
    data, prefix, state = root / "data", root / "opt-epn", root / "supervisor"
    state.mkdir(parents=True)
    subprocess.run([EPN, "init", "--data", str(data), "--name", "EPN Update"], check=True,
                   capture_output=True)
    release = prefix / "releases" / BASE_VERSION / "bin"
    release.mkdir(parents=True)
    os.symlink(EPN, release / "epn")
    os.symlink(f"releases/{BASE_VERSION}", prefix / "current")
    port = free_port()
    restart = f"{sys.executable} {SUPERVISOR} --state {state} --prefix {prefix} --data {data}"
    write_config_file(data, {
        "server": {"host": "127.0.0.1", "port": port, "workers": 1},
        "update": {"url": url, "trusted_keys": keys, "restart_command": restart,
                   "prefix": str(prefix), "health_seconds": health_seconds},
    })
    return {"data": data, "prefix": prefix, "state": state, "port": port}


def run_update(site: dict, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "EPN_DATA": str(site["data"])}
    return subprocess.run([EPN, "update", *args], capture_output=True, text=True, env=env, timeout=300)


def tree(folder: Path) -> dict[str, str]:
    """Every path under `folder` with what identifies it (link target, or size and mtime);
    the lock file is left out (it is made once and never changes)."""
    out = {}
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if path.name == ".update.lock":
            continue
        if path.is_symlink():
            out[str(path)] = "-> " + os.readlink(path)
        else:
            stat = path.stat()
            out[str(path)] = f"{stat.st_size} {stat.st_mtime_ns}"
    return out
